import AccessToken
import Foundation
import Testing

/// A key set holding `keys`' public halves, each with optional members merged in.
func keySet(_ keys: [(SigningKey, String, [String: Any])]) throws -> PassKeySet {
    let jwks = keys.map { key, kid, extra -> [String: Any] in
        var jwk: [String: Any] = key.publicJWK(kid: kid)
        for (name, value) in extra { jwk[name] = value }
        return jwk
    }
    return try PassKeySet(jwks: JSONSerialization.data(withJSONObject: ["keys": jwks]))
}

let now: Double = 1_800_000_000

func claims(
    aud: [String] = ["HQ1/FRONT"],
    exp: Double = now + 3600,
    nbf: Double? = now - 60,
    iat: Double? = now - 60,
    uses: UInt64? = nil
) -> PassClaims {
    PassClaims(
        issuer: "hq.example",
        member: "m-1",
        audience: aud,
        expiresAt: exp,
        notBefore: nbf,
        issuedAt: iat,
        passID: Array(0..<16),
        bookingID: "b-9",
        maxUses: uses
    )
}

@Suite struct PassVerifierTests {
    static let es = SigningKey.generate(.es256)
    static let ed = SigningKey.generate(.edDSA)

    func verdict(
        _ claims: PassClaims,
        signer: SigningKey = es,
        alg: COSEAlgorithm? = nil,
        keys: [(SigningKey, String, [String: Any])]? = nil,
        door: String = "HQ1/FRONT",
        at: Double = now
    ) throws -> PassVerdict {
        let text = try PassIssuer(key: signer, kid: "k1", algorithm: alg).issue(claims)
        let verifier = PassVerifier(keys: try keySet(keys ?? [(signer, "k1", [:])]), issuer: "hq.example")
        return verifier.verify(text, door: door, now: at)
    }

    @Test(arguments: [(es, COSEAlgorithm.es256), (ed, .edDSA), (ed, .ed25519)])
    func grantsWhatItIssues(key: SigningKey, alg: COSEAlgorithm) throws {
        let v = try verdict(claims(uses: 2), signer: key, alg: alg)
        #expect(v.reason == .granted, "\(v.detail)")
        #expect(v.claims == claims(uses: 2))
        #expect(v.kid == "k1")
    }

    @Test func kidMayBeUnprotected() throws {
        var issuer = PassIssuer(key: Self.es, kid: "k1")
        issuer.kidUnprotected = true
        let text = try issuer.issue(claims())
        let verifier = PassVerifier(keys: try keySet([(Self.es, "k1", [:])]), issuer: "hq.example")
        #expect(verifier.verify(text, door: "HQ1/FRONT", now: now).reason == .granted)
    }

    static let skewEdges: [(Double, AccessReason)] = [
        (now + 3600 + 59, .granted), (now + 3600 + 60, .expired), (now - 60 - 61, .notYetValid),
        (now - 60 - 60, .granted),
    ]

    @Test(arguments: skewEdges)
    func appliesSkewAtTheEdges(at: Double, reason: AccessReason) throws {
        #expect(try verdict(claims(), at: at).reason == reason)
    }

    @Test func skewIsConfigurable() throws {
        let text = try PassIssuer(key: Self.es, kid: "k1").issue(claims())
        let verifier = PassVerifier(keys: try keySet([(Self.es, "k1", [:])]), issuer: "hq.example", skew: 0)
        #expect(verifier.verify(text, door: "HQ1/FRONT", now: now + 3600 + 1).reason == .expired)
    }

    static let doors: [(String, AccessReason)] = [
        ("HQ1/FRONT", .granted), ("HQ1/BACK", .wrongDoor), ("HQ2/FRONT", .wrongDoor),
    ]

    @Test(arguments: doors)
    func matchesDoorOrLocation(door: String, reason: AccessReason) throws {
        #expect(try verdict(claims(aud: ["HQ1/FRONT"]), door: door).reason == reason)
        let location = try verdict(claims(aud: ["X/1", "HQ1"]), door: door).reason
        #expect(location == (door.hasPrefix("HQ1/") ? .granted : .wrongDoor))
    }

    @Test func jwkAlgEdDSAAcceptsBothEdwardsAlgorithms() throws {
        for alg in [COSEAlgorithm.edDSA, .ed25519] {
            #expect(try verdict(claims(), signer: Self.ed, alg: alg, keys: [(Self.ed, "k1", ["alg": "EdDSA"])]).granted)
        }
    }

    @Test func jwkWithoutAlgAcceptsWhatFitsItsCurve() throws {
        var jwk = Self.ed.publicJWK(kid: "k1")
        jwk["alg"] = nil
        let set = try PassKeySet(jwks: JSONSerialization.data(withJSONObject: ["keys": [jwk]]))
        #expect(set.keys.first?.jwkAlg == nil)
        for alg in [COSEAlgorithm.edDSA, .ed25519] {
            let text = try PassIssuer(key: Self.ed, kid: "k1", algorithm: alg).issue(claims())
            #expect(PassVerifier(keys: set, issuer: "hq.example").verify(text, door: "HQ1/FRONT", now: now).granted)
        }
    }

    @Test func jwkAlgThatDoesNotFitIsUnsupported() throws {
        let v = try verdict(claims(), keys: [(Self.es, "k1", ["alg": "ES384"])])
        #expect(v.reason == .unsupportedAlg)
    }

    @Test func unusableKeyTypeIsUnsupportedNotUnknown() throws {
        let jwks = #"{"keys":[{"kty":"RSA","kid":"k1","n":"AQAB","e":"AQAB"}]}"#
        let text = try PassIssuer(key: Self.es, kid: "k1").issue(claims())
        let verifier = PassVerifier(keys: try PassKeySet(jwks: Data(jwks.utf8)), issuer: "hq.example")
        #expect(verifier.verify(text, door: "HQ1/FRONT", now: now).reason == .unsupportedAlg)
    }

    @Test func invalidKeyMaterialNeverMatches() throws {
        let jwks = #"{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","x":"AAAA","y":"AAAA"}]}"#
        let set = try PassKeySet(jwks: Data(jwks.utf8))
        #expect(set.keys.isEmpty && set.rejected.count == 1)
        let text = try PassIssuer(key: Self.es, kid: "k1").issue(claims())
        #expect(
            PassVerifier(keys: set, issuer: "hq.example").verify(text, door: "HQ1/FRONT", now: now).reason
                == .unknownKey
        )
    }

    @Test func rejectsADocumentThatIsNotAJWKS() {
        #expect(throws: AccessTokenError.self) { try PassKeySet(jwks: Data("[1,2]".utf8)) }
    }

    static let windowCases: [(Double, AccessReason)] = [
        (now - 100, .granted), (now - 7200, .unknownKey), (now + 10, .unknownKey),
    ]

    @Test(arguments: windowCases)
    func keyWindowBoundsIssuedAt(iat: Double, reason: AccessReason) throws {
        let window: [String: Any] = ["nbf": now - 3600, "exp": now]
        #expect(try verdict(claims(iat: iat), keys: [(Self.es, "k1", window)]).reason == reason)
    }

    @Test func passWithoutIatIsUnknownUnderAKeyWindow() throws {
        #expect(try verdict(claims(iat: nil), keys: [(Self.es, "k1", ["nbf": now - 3600])]).reason == .unknownKey)
        #expect(try verdict(claims(iat: nil)).reason == .granted)
    }

    @Test func rotatedKeysWithOneKidAreTriedInTurn() throws {
        let old = SigningKey.generate(.es256)
        let keys: [(SigningKey, String, [String: Any])] = [(old, "k1", [:]), (Self.es, "k1", [:])]
        #expect(try verdict(claims(), keys: keys).reason == .granted)
    }

    @Test func reportsNoClaimsWhenTheSignatureFails() throws {
        let v = try verdict(claims(), keys: [(SigningKey.generate(.es256), "k1", [:])])
        #expect(v.reason == .badSignature)
        #expect(v.claims == nil)
    }

    @Test func refusesOversizedPassesAtIssue() {
        var big = claims()
        big.member = String(repeating: "m", count: 2000)
        #expect(throws: AccessTokenError.self) { try PassIssuer(key: Self.es, kid: "k1").issue(big) }
    }

    @Test(arguments: [
        ("", "empty"), ("AG1", "no colon"), ("ag1:BB8", "lower-case prefix"), ("AG1:BB8", "not CBOR"),
        ("AG1:" + String(repeating: "0", count: 2100), "oversized"),
    ])
    func malformedTextsAreMalformed(text: String, why: String) throws {
        let verifier = PassVerifier(keys: try keySet([(Self.es, "k1", [:])]), issuer: "hq.example")
        #expect(verifier.verify(text, door: "HQ1/FRONT", now: now).reason == .malformed, "\(why)")
    }
}
