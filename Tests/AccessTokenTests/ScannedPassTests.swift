import AccessToken
import Foundation
import TestSupport
import Testing

/// ``ScannedPass``: a code read once gives the same verdict as the text verified on its own.
@Suite struct ScannedPassTests {
    typealias F = AG2Fixture

    @Test(arguments: AG1Vectors.all)
    func anAG1VectorGetsTheVerdictOfItsText(vector: AG1Vector) throws {
        let verifier = PassVerifier(keys: try PassKeySet(jwks: vector.keys), issuer: vector.issuer)
        let once = verifier.verify(ScannedPass(text: vector.qr), door: vector.door, now: vector.at)
        let text = verifier.verify(vector.qr, door: vector.door, now: vector.at)
        #expect(once.reason == text.reason)
        #expect(once.detail == text.detail)
    }

    @Test func anAG1PassIsKnownByItsSignedPayload() throws {
        let text = try PassIssuer(key: F.hq, kid: "k1").issue(F.boundClaims())
        let scanned = ScannedPass(text: text)
        #expect(scanned.holderBound == nil)
        #expect(scanned.signedPayload == (try AG1Pass(text: text)).message.payload)
    }

    @Test func anAG2CodeIsKnownByItsCredentialNotItsProof() throws {
        let credential = PassIssuer(key: F.hq, kid: "k1").issueCompactCredential(F.boundClaims())
        let first = ScannedPass(text: CompactHolderBoundPass.make(credential: credential, key: F.device, now: now).text)
        let later = ScannedPass(text: CompactHolderBoundPass.make(credential: credential, key: F.device, now: now + 9).text)
        #expect(first.text != later.text)
        #expect(first.signedPayload == (try AG1Pass(cose: credential)).message.payload)
        #expect(first.signedPayload == later.signedPayload)
        #expect(first.holderBound?.credential == credential)
    }

    @Test func anAG2CodesCredentialIsVerifiedAsItsBytesAre() throws {
        let credential = PassIssuer(key: F.hq, kid: "k1").issueCompactCredential(F.boundClaims())
        let scanned = ScannedPass(text: CompactHolderBoundPass.make(credential: credential, key: F.device, now: now).text)
        let verifier = try F.verifier()
        let once = verifier.verify(scanned, door: F.door, now: now)
        #expect(once.reason == .granted, "\(once.detail)")
        #expect(once.reason == verifier.verify(credential: credential, door: F.door, now: now).reason)
    }

    @Test func anUnreadableAG2CodeIsMalformedAndNoPass() throws {
        let scanned = ScannedPass(text: "AG2:" + Base45.encode(CBOREncoder.encode(.array([.text("c")]))))
        guard case .unreadableAG2 = scanned.kind else {
            Issue.record("read as \(scanned.kind)")
            return
        }
        #expect(scanned.signedPayload == nil)
        #expect(try F.verifier().verify(scanned, door: F.door, now: now).reason == .malformed)
    }

    @Test func textThatIsNoPassHasNoSignedPayload() throws {
        let scanned = ScannedPass(text: "https://example.com/not-a-pass")
        #expect(scanned.signedPayload == nil)
        #expect(try F.verifier().verify(scanned, door: F.door, now: now).reason == .malformed)
    }
}
