import AccessToken
import Foundation
import TestSupport
import Testing

@Suite struct AG1VectorTests {
    @Test func vectorsArePresent() {
        #expect(AG1Vectors.all.count >= 30)
    }

    @Test(arguments: AG1Vectors.all)
    func decidesExactly(vector: AG1Vector) throws {
        let verifier = PassVerifier(keys: try PassKeySet(jwks: vector.keys), issuer: vector.issuer)
        let verdict = verifier.verify(vector.qr, door: vector.door, now: vector.at)
        #expect(verdict.reason.rawValue == vector.expectReason, "\(verdict.detail)")
        #expect(verdict.granted == vector.expectGranted)
    }

    @Test(arguments: AG1Vectors.all.filter(\.expectGranted))
    func anEmptyKeySetKnowsNoKey(vector: AG1Vector) throws {
        let verifier = PassVerifier(keys: try PassKeySet(jwks: Data(#"{"keys":[]}"#.utf8)), issuer: vector.issuer)
        #expect(verifier.verify(vector.qr, door: vector.door, now: vector.at).reason == .unknownKey)
    }

    @Test(arguments: AG1Vectors.all.filter(\.expectGranted))
    func deniedUnderAForeignIssuer(vector: AG1Vector) throws {
        let verifier = PassVerifier(keys: try PassKeySet(jwks: vector.keys), issuer: "other." + vector.issuer)
        #expect(verifier.verify(vector.qr, door: vector.door, now: vector.at).reason == .wrongIssuer)
    }
}
