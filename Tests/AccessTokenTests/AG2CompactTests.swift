import AccessToken
import Crypto
import Foundation
import QRCodec
import TestSupport
import Testing

/// AG2 v2 (``CompactHolderBoundPass``): `[credential, time, signature]` under the same prefix.
@Suite struct CompactHolderBoundPassTests {
    typealias F = AG2Fixture

    /// A v2 credential, as HQ issues it: no `iss`, the `cnf` point compressed.
    static func compactCredential(_ claims: PassClaims = F.boundClaims()) -> [UInt8] {
        PassIssuer(key: F.hq, kid: "k1").issueCompactCredential(claims)
    }

    @Test func aV2PassRoundTripsThroughTextAndVerifies() throws {
        let credential = Self.compactCredential()
        let pass = CompactHolderBoundPass.make(credential: credential, key: F.device, now: now + 0.7)
        #expect(pass.time == UInt64(now))
        let code = try AG2Code.parse(pass.text)
        #expect(code == .v2(pass))
        let verdict = try F.verifier().verify(credential: code.credential, door: F.door, now: now)
        #expect(verdict.reason == .granted, "\(verdict.detail)")
        let holder = try #require(verdict.claims?.holderKey)
        #expect(holder.x963Representation == F.device.publicKey.x963Representation)
        let proof = try code.verifyProof(holderKey: holder)
        #expect(proof.issuedAt == now)
    }

    @Test func aV1PassStillReadsAsV1() throws {
        let credential = F.credential()
        let v1 = HolderBoundPass(credential: credential, proof: HolderProof.make(credential: credential, key: F.device, now: now))
        let code = try AG2Code.parse(v1.text)
        #expect(code == .v1(v1))
        #expect(try code.verifyProof(holderKey: F.device.publicKey).issuedAt == now)
    }

    @Test func theCompactCredentialHasNoIssAndItsCnfPointCompressed() throws {
        let credential = Self.compactCredential()
        // Tagged 18 (D2) as v1's, for python cwt.
        #expect(credential.first == 0xD2)
        let verdict = try F.verifier().verify(credential: credential, door: F.door, now: now)
        let claims = try #require(verdict.claims)
        #expect(claims.compressesHolderKey)
        var expected = F.boundClaims()
        expected.compressesHolderKey = true
        expected.issuerImplied = true
        // The verifier names the issuer whose key set verified the credential.
        #expect(claims == expected && claims.issuer == "hq.example")
        // y's 34 bytes (a 32-byte string) become one simple value, and iss goes (its label, and
        // "hq.example" with its head): 33 + 12 bytes.
        #expect(F.credential().count - credential.count == 45)
    }

    /// A device key whose y is odd, or even.
    static func device(yOdd: Bool) -> P256.Signing.PrivateKey {
        while true {
            let key = P256.Signing.PrivateKey()
            if (key.publicKey.x963Representation.last! & 1 == 1) == yOdd { return key }
        }
    }

    /// Either parity of y: the sign bit picks the right point.
    @Test(arguments: [false, true])
    func aCompressedCnfGivesBackTheDevicesKey(yOdd: Bool) throws {
        let device = Self.device(yOdd: yOdd)
        var claims = F.boundClaims(holder: device.publicKey)
        claims.compressesHolderKey = true
        let verdict = try F.verifier().verify(credential: Self.compactCredential(claims), door: F.door, now: now)
        #expect(verdict.claims?.holderKey?.x963Representation == device.publicKey.x963Representation)
    }

    /// An AG2 credential may leave `iss` out; a static AG1 pass may not, unless it is a bound
    /// credential, which the decision then refuses for its missing proof (HolderBoundDecisionTests).
    @Test func onlyAnAG2CredentialMayLeaveOutIss() throws {
        let unbound = Self.compactCredential(claims())
        #expect(try F.verifier().verify(credential: unbound, door: F.door, now: now).reason == .granted)
        let asAG1 = try F.verifier().verify(AG1.prefix + Base45.encode(unbound), door: F.door, now: now)
        #expect(asAG1.reason == .malformed && asAG1.claims == nil, "\(asAG1.detail)")
        let bound = try F.verifier().verify(AG1.prefix + Base45.encode(Self.compactCredential()), door: F.door, now: now)
        #expect(bound.claims?.holderKey != nil && bound.claims?.issuer == "hq.example")
    }

    /// The bytes the device signs, fixed for integrators: CBOR `["AG2 proof v2", SHA-256(credential), time]`.
    @Test func theSignedBytesAreTheContextTheFullDigestAndTheTime() {
        let credential: [UInt8] = [0x84, 0x40, 0xA0, 0x40, 0x40]
        let digest = Array(SHA256.hash(data: credential))
        let bytes = CompactHolderBoundPass.toBeSigned(credential: credential, time: 1_767_225_600)
        let expected: [UInt8] =
            [0x83, 0x6C] + Array("AG2 proof v2".utf8) + [0x58, 0x20] + digest + [0x1A, 0x69, 0x55, 0xB9, 0x00]
        #expect(bytes == expected, "\(bytes.hexString)")
    }

    @Test func aSignatureByAnotherKeyIsProofInvalid() throws {
        let pass = CompactHolderBoundPass.make(credential: F.bound, key: P256.Signing.PrivateKey(), now: now)
        let error = #expect(throws: AccessTokenError.self) { try pass.verify(holderKey: F.device.publicKey) }
        #expect(error?.isProofInvalid == true)
    }

    @Test func aSignatureMovedToAnotherCredentialIsProofInvalid() throws {
        let pass = CompactHolderBoundPass.make(credential: F.credential(), key: F.device, now: now)
        var moved = pass
        moved.credential = F.credential()
        let error = #expect(throws: AccessTokenError.self) { try moved.verify(holderKey: F.device.publicKey) }
        #expect(error?.isProofInvalid == true)
    }

    @Test func anotherTimeUnderTheSameSignatureIsProofInvalid() throws {
        var pass = CompactHolderBoundPass.make(credential: F.bound, key: F.device, now: now - 120)
        pass.time += 120
        let error = #expect(throws: AccessTokenError.self) { try pass.verify(holderKey: F.device.publicKey) }
        #expect(error?.isProofInvalid == true)
    }

    static func body(_ value: CBORValue) -> String { "AG2:" + Base45.encode(CBOREncoder.encode(value)) }

    @Test(
        arguments: [
            ("a negative time", body(.array([.bytes([1]), .int(-1), .bytes(Array(repeating: 0, count: 64))]))),
            ("a float time", body(.array([.bytes([1]), .float(1.5), .bytes(Array(repeating: 0, count: 64))]))),
            ("a 63-byte signature", body(.array([.bytes([1]), .unsigned(1), .bytes(Array(repeating: 0, count: 63))]))),
            ("a DER signature", body(.array([.bytes([1]), .unsigned(1), .bytes([0x30] + Array(repeating: 0, count: 69))]))),
            ("the signature as text", body(.array([.bytes([1]), .unsigned(1), .text("sig")]))),
            ("the credential as text", body(.array([.text("c"), .unsigned(1), .bytes(Array(repeating: 0, count: 64))]))),
            ("four items", body(.array([.bytes([1]), .unsigned(1), .bytes(Array(repeating: 0, count: 64)), .null]))),
            ("a map", body(.map([CBORMapEntry(.int(1), .bytes([1]))]))),
        ] as [(String, String)]
    )
    func aMalformedV2BodyIsRefusedAsMalformed(name: String, text: String) {
        let error = #expect(throws: AccessTokenError.self, "\(name)") { try AG2Code.parse(text) }
        switch error {
        case .malformed?, .cbor?: break
        default: Issue.record("\(name): \(String(describing: error))")
        }
    }

    /// An x with no point on P-256 (x³ − 3x + b not a square) is refused, whichever sign bit.
    @Test func aCompressedCnfWithNoPointForItsXIsMalformed() throws {
        // x = 1: 1 − 3 + b is not a square mod p, so no point of P-256 has this x.
        let x = [UInt8](repeating: 0, count: 31) + [1]
        for odd in [false, true] {
            let cnf = map1(HolderKeyClaimTests.ec2(x: .bytes(x), y: .bool(odd)))
            let verdict = try F.verifier().verify(credential: try HolderKeyClaimTests.credential(cnf: cnf), door: F.door, now: now)
            #expect(verdict.reason == .malformed, "sign bit \(odd): \(verdict.detail)")
        }
    }

    @Test func v1sOwnParserRefusesAV2CodeAsMalformed() throws {
        let pass = CompactHolderBoundPass.make(credential: F.bound, key: F.device, now: now)
        let error = #expect(throws: AccessTokenError.self) { try HolderBoundPass.parse(pass.text) }
        guard case .malformed? = error else {
            Issue.record("\(String(describing: error))")
            return
        }
    }
}
