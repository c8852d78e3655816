import AccessToken
import Crypto
import Foundation
import QRCodec
import TestSupport
import Testing

/// Replays what the fuzz harnesses (Tests/Fuzz/Harnesses) found, through the same entry points and
/// the same properties: each input must give a clean error or a value, never a crash. The
/// snapshot and hqcommand targets' inputs are replayed by FuzzRegressionTests in KeyCacheTests and
/// HQSyncTests, which link those modules.
@Suite struct FuzzRegressionTests {
    /// A missing folder would make the replays below pass on nothing.
    @Test(arguments: FuzzInputs.targets)
    func regressionFolderExists(target: String) {
        var isDirectory: ObjCBool = false
        let dir = FuzzInputs.folder("regressions", target)
        #expect(FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDirectory) && isDirectory.boolValue)
    }

    @Test(arguments: ["cbor", "cose", "ag1", "base45"])
    func thereAreInputsToReplay(target: String) {
        #expect(FuzzInputs.of(target).count >= 5, "Tests/Fuzz/edge/\(target) and regressions/\(target)")
    }

    @Test(arguments: FuzzInputs.of("cbor"))
    func cbor(input: FuzzInput) {
        guard let value = try? CBORDecoder().decode(input.bytes) else { return }
        let encoded = CBOREncoder.encode(value)
        let again = try? CBORDecoder(limits: .init(maxBytes: 1 << 22)).decode(encoded)
        #expect(again.map(CBOREncoder.encode) == encoded)
    }

    @Test(arguments: FuzzInputs.of("cose"))
    func cose(input: FuzzInput) {
        if let message = try? COSESign1(cbor: input.bytes) {
            _ = try? message.checkCritical()
            _ = try? message.algorithm(protectedOnly: false)
            _ = try? message.toBeSigned(externalAAD: [0x01])
            let encoded = message.encoded()
            let again = try? COSESign1(cbor: encoded, decoder: CBORDecoder(limits: .init(maxBytes: 1 << 22)))
            #expect(again?.encoded() == encoded)
            #expect(again?.protectedBytes == message.protectedBytes)
        }
        _ = try? AG1Pass(cose: input.bytes)
    }

    @Test(arguments: FuzzInputs.of("base45"))
    func base45(input: FuzzInput) throws {
        let text = String(decoding: input.bytes, as: UTF8.self)
        if let decoded = try? Base45.decode(text) { #expect(Base45.encode(decoded) == text) }
        if let decoded = try? Base45.decode(text.dropFirst()) { #expect(Base45.encode(decoded) == String(text.dropFirst())) }
        #expect(try Base45.decode(Base45.encode(input.bytes)) == input.bytes)
    }

    /// The ag1 harness's setup: the shared vectors' keys and the fixed fuzz keys, the first
    /// vector's door, issuer and clock.
    struct AG1Setup {
        let verifier: PassVerifier
        let door: String
        let now: Double
        let issuer: String

        init() throws {
            let cases = try #require(try readJSON(TestPaths.sharedFile("vectors/ag1/cases.json")) as? [[String: Any]])
            let first = try #require(cases.first)
            var jwks = try #require((first["keys"] as? [String: Any])?["keys"] as? [[String: Any]])
            let es256 = try P256.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 0x11, count: 32))
            let ed25519 = try Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 0x22, count: 32))
            jwks.append(SigningKey.p256(es256).publicJWK(kid: "fuzz-es256"))
            jwks.append(SigningKey.ed25519(ed25519).publicJWK(kid: "fuzz-ed25519"))
            let keys = try PassKeySet(jwks: try JSONSerialization.data(withJSONObject: ["keys": jwks]))
            issuer = try #require(first["issuer"] as? String)
            door = try #require(first["door"] as? String)
            now = try #require(first["at"] as? Double)
            verifier = PassVerifier(keys: keys, issuer: issuer)
        }
    }

    @Test(arguments: FuzzInputs.of("ag1"))
    func ag1(input: FuzzInput) throws {
        let setup = try AG1Setup()
        let text = String(decoding: input.bytes, as: UTF8.self)
        if text.hasPrefix(HolderBoundPass.prefix) {
            guard let bound = try? HolderBoundPass.parse(text) else { return }
            #expect((try? HolderBoundPass.parse(bound.text)) == bound)
            let verdict = setup.verifier.verify(credential: bound.credential, door: setup.door, now: setup.now)
            if let key = verdict.claims?.holderKey {
                _ = try? HolderProof.verify(bound.proof, credential: bound.credential, holderKey: key)
            }
        } else {
            let verdict = setup.verifier.verify(text, door: setup.door, now: setup.now)
            if verdict.granted { #expect(verdict.claims?.issuer == setup.issuer) }
        }
    }
}
