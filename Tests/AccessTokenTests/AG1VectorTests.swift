import AccessToken
import Foundation
import TestSupport
import Testing

/// One case of `../shared/vectors/ag1/cases.json`.
struct AG1Case: CustomTestStringConvertible, Sendable {
    var name: String
    var qr: String
    var keys: Data
    var door: String
    var at: Double
    var issuer: String
    var expectGranted: Bool
    var expectReason: String

    var testDescription: String { name }

    static let all: [AG1Case] = {
        let url = TestPaths.sharedFile("vectors/ag1/cases.json")
        guard let list = try? readJSON(url) as? [[String: Any]] else { return [] }
        return list.map { c in
            AG1Case(
                name: c["name"] as! String,
                qr: c["qr"] as! String,
                keys: try! JSONSerialization.data(withJSONObject: c["keys"]!),
                door: c["door"] as! String,
                at: (c["at"] as! NSNumber).doubleValue,
                issuer: c["issuer"] as! String,
                expectGranted: c["expect_granted"] as! Bool,
                expectReason: c["expect_reason"] as! String
            )
        }
    }()
}

@Suite struct AG1VectorTests {
    @Test func vectorsArePresent() {
        #expect(AG1Case.all.count >= 30)
    }

    @Test(arguments: AG1Case.all)
    func decidesExactly(vector: AG1Case) throws {
        let verifier = PassVerifier(keys: try PassKeySet(jwks: vector.keys), issuer: vector.issuer)
        let verdict = verifier.verify(vector.qr, door: vector.door, now: vector.at)
        #expect(verdict.reason.rawValue == vector.expectReason, "\(verdict.detail)")
        #expect(verdict.granted == vector.expectGranted)
    }

    @Test(arguments: AG1Case.all.filter(\.expectGranted))
    func grantedPassesReportTheirClaims(vector: AG1Case) throws {
        let verifier = PassVerifier(keys: try PassKeySet(jwks: vector.keys), issuer: vector.issuer)
        let claims = try #require(verifier.verify(vector.qr, door: vector.door, now: vector.at).claims)
        #expect(claims.issuer == vector.issuer)
        #expect(PassClaims.passIDLength.contains(claims.passID.count))
    }

    @Test(arguments: AG1Case.all.filter(\.expectGranted))
    func anEmptyKeySetKnowsNoKey(vector: AG1Case) throws {
        let verifier = PassVerifier(keys: try PassKeySet(jwks: Data(#"{"keys":[]}"#.utf8)), issuer: vector.issuer)
        #expect(verifier.verify(vector.qr, door: vector.door, now: vector.at).reason == .unknownKey)
    }

    @Test(arguments: AG1Case.all.filter(\.expectGranted))
    func deniedUnderAForeignIssuer(vector: AG1Case) throws {
        let verifier = PassVerifier(keys: try PassKeySet(jwks: vector.keys), issuer: "other." + vector.issuer)
        #expect(verifier.verify(vector.qr, door: vector.door, now: vector.at).reason == .wrongIssuer)
    }
}
