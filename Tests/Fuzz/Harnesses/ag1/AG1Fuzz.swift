// libFuzzer target `ag1`: the whole pass path as the door runs it, on pass text.
//
// `AG1:` texts go through PassVerifier.verify(text, door:, now:): prefix, Base45, CBOR, COSE_Sign1,
// crit, alg, kid, signature, claims, key window, issuer, times, door. `AG2:` texts go through
// AG2Code.parse (v1 and v2), the credential's verification, and the proof under its cnf key.
//
// The key set is the shared AG1 vectors' JWKS (`AG_FUZZ_AG1_CASES` names cases.json) plus two
// fixed fuzz keys, so that seeds signed here (AG1 and AG2 passes, see `emitSeeds`) reach the
// claims. The door, issuer and clock are the first vector's.
import AccessToken
import Crypto
import Foundation
import FuzzSupport

/// Fixed, public, test-only keys: a fuzz input must be able to carry a valid signature.
enum FuzzKeys {
    static let es256 = try! P256.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 0x11, count: 32))
    static let ed25519 = try! Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 0x22, count: 32))
    static let holder = try! P256.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 0x33, count: 32))
}

struct AG1Setup {
    let verifier: PassVerifier
    let door: String
    let now: Double
    let issuer: String

    static let shared: AG1Setup = {
        guard let path = ProcessInfo.processInfo.environment["AG_FUZZ_AG1_CASES"],
            let data = FileManager.default.contents(atPath: path),
            let cases = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]],
            let first = cases.first, let keys = first["keys"] as? [String: Any],
            var jwks = keys["keys"] as? [[String: Any]],
            let door = first["door"] as? String, let at = first["at"] as? Double, let issuer = first["issuer"] as? String
        else {
            FileHandle.standardError.write(Data("AG_FUZZ_AG1_CASES must name ../shared/vectors/ag1/cases.json\n".utf8))
            exit(2)
        }
        jwks.append(SigningKey.p256(FuzzKeys.es256).publicJWK(kid: "fuzz-es256"))
        jwks.append(SigningKey.ed25519(FuzzKeys.ed25519).publicJWK(kid: "fuzz-ed25519"))
        let document = try! JSONSerialization.data(withJSONObject: ["keys": jwks])
        let set = try! PassKeySet(jwks: document)
        return AG1Setup(verifier: PassVerifier(keys: set, issuer: issuer), door: door, now: at, issuer: issuer)
    }()
}

@main enum AG1Fuzz {
    static func main() {
        _ = AG1Setup.shared
        emitSeedsIfAsked(emitSeeds)
        runFuzzer(fuzzAG1)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAG1(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let setup = AG1Setup.shared
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if text.hasPrefix(HolderBoundPass.prefix) {
        guard let bound = try? AG2Code.parse(text) else { return 0 }
        fuzzCheck((try? AG2Code.parse(bound.text)) == bound, "an AG2 pass does not survive its own text")
        let verdict = setup.verifier.verify(credential: bound.credential, door: setup.door, now: setup.now)
        if let key = verdict.claims?.holderKey {
            _ = try? bound.verifyProof(holderKey: key)
        }
    } else {
        let verdict = setup.verifier.verify(text, door: setup.door, now: setup.now)
        if verdict.granted {
            fuzzCheck(verdict.claims?.issuer == setup.issuer, "granted without the issuer's claims")
        }
    }
    return 0
}

/// AG1 and AG2 passes signed with the fuzz keys, valid at the door and clock above.
func emitSeeds(to dir: URL) throws {
    let setup = AG1Setup.shared
    let base = PassClaims(
        issuer: setup.issuer, member: "m-fuzz", audience: [setup.door], expiresAt: setup.now + 3600,
        notBefore: setup.now - 60, issuedAt: setup.now - 60, passID: Array("fuzz-pass-0001".utf8),
        bookingID: "b-fuzz", maxUses: 2
    )
    var seeds: [(String, String)] = []
    for (name, issuer) in [
        ("es256", PassIssuer(key: .p256(FuzzKeys.es256), kid: "fuzz-es256")),
        ("eddsa", PassIssuer(key: .ed25519(FuzzKeys.ed25519), kid: "fuzz-ed25519")),
        ("ed25519", PassIssuer(key: .ed25519(FuzzKeys.ed25519), kid: "fuzz-ed25519", algorithm: .ed25519)),
    ] {
        seeds.append(("ag1-\(name)", try issuer.issue(base)))
        var unprotected = issuer
        unprotected.kidUnprotected = true
        var claims = base
        claims.audience = [String(setup.door.split(separator: "/")[0]), "OTHER/DOOR"]
        seeds.append(("ag1-\(name)-kid-unprotected", try unprotected.issue(claims)))
    }
    // AG2: a credential bound to the holder key, and a proof by it.
    var bound = base
    bound.holderKey = FuzzKeys.holder.publicKey
    let credential = PassIssuer(key: .p256(FuzzKeys.es256), kid: "fuzz-es256").issueCredential(bound)
    let proof = HolderProof.make(credential: credential, key: FuzzKeys.holder, now: setup.now)
    seeds.append(("ag2-valid", HolderBoundPass(credential: credential, proof: proof).text))
    let other = HolderProof.make(credential: credential + [0], key: FuzzKeys.holder, now: setup.now)
    seeds.append(("ag2-other-credential", HolderBoundPass(credential: credential, proof: other).text))
    // AG2 v2: the compact credential and proof.
    let compact = PassIssuer(key: .p256(FuzzKeys.es256), kid: "fuzz-es256").issueCompactCredential(bound)
    seeds.append(("ag2v2-valid", CompactHolderBoundPass.make(credential: compact, key: FuzzKeys.holder, now: setup.now).text))
    for (name, text) in seeds { try writeSeed(Array(text.utf8), name, to: dir) }
}
