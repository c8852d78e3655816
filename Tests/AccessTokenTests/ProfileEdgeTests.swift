import AccessToken
import Foundation
import QRCodec
import Testing

/// Builds and signs a pass by hand, for shapes `PassIssuer` never produces.
func craftPass(
    key: SigningKey,
    protected: [CBORMapEntry],
    unprotected: [CBORMapEntry] = [],
    claims: PassClaims = claims()
) throws -> String {
    var message = COSESign1(protected: protected, unprotected: unprotected, payload: claims.cwtPayload())
    try message.sign(with: key)
    return AG1.prefix + Base45.encode(message.encoded())
}

@Suite struct ProfileEdgeTests {
    static let key = SigningKey.generate(.es256)
    static let alg = CBORMapEntry(.int(COSEHeader.alg), .int(-7))
    static let kid = CBORMapEntry(.int(COSEHeader.kid), .bytes(Array("k1".utf8)))

    func verify(_ text: String, keys: PassKeySet? = nil, issuer: String = "hq.example") throws -> PassVerdict {
        let set = try keys ?? keySet([(Self.key, "k1", [:])])
        return PassVerifier(keys: set, issuer: issuer).verify(text, door: "HQ1/FRONT", now: now)
    }

    @Test func aLabelInBothHeadersIsMalformed() throws {
        let both = try craftPass(key: Self.key, protected: [Self.alg, Self.kid], unprotected: [Self.kid])
        #expect(try verify(both).reason == .malformed)
        let algTwice = try craftPass(
            key: Self.key,
            protected: [Self.alg, Self.kid],
            unprotected: [CBORMapEntry(.int(COSEHeader.alg), .int(-8))]
        )
        #expect(try verify(algTwice).reason == .malformed)
    }

    @Test func algOnlyInTheUnprotectedHeaderIsMalformed() throws {
        let text = try craftPass(key: Self.key, protected: [Self.kid], unprotected: [Self.alg])
        let verdict = try verify(text)
        #expect(verdict.reason == .malformed)
        #expect(verdict.detail == "alg is not protected")
    }

    static let critCases: [(String, CBORValue)] = [
        ("names an absent label", .array([.int(3)])),
        ("is empty", .array([])),
        ("names an unknown label", .array([.int(99)])),
        ("is not an array", .int(1)),
    ]

    @Test(arguments: critCases)
    func badCritIsMalformed(why: String, crit: CBORValue) throws {
        let text = try craftPass(
            key: Self.key,
            protected: [Self.alg, Self.kid, CBORMapEntry(.int(COSEHeader.crit), crit)]
        )
        #expect(try verify(text).reason == .malformed, "crit \(why)")
    }

    @Test func critNamingAnUnderstoodPresentLabelIsFine() throws {
        let crit = CBORMapEntry(.int(COSEHeader.crit), .array([.int(COSEHeader.kid)]))
        #expect(try verify(try craftPass(key: Self.key, protected: [Self.alg, Self.kid, crit])).reason == .granted)
    }

    @Test func oneBadKeyDoesNotHideTheOthers() throws {
        var good = Self.key.publicJWK(kid: "k1") as [String: Any]
        good["nbf"] = now - 3600
        let jwks: [String: Any] = [
            "keys": [["kty": "EC", "kid": 7], "not a key", ["kty": "OKP", "kid": "x", "nbf": "2026-01-01"], good]
        ]
        let set = try PassKeySet(jwks: JSONSerialization.data(withJSONObject: jwks))
        #expect(set.keys.map(\.kid) == ["k1"])
        #expect(set.rejected.count == 3)
        #expect(try verify(try PassIssuer(key: Self.key, kid: "k1").issue(claims()), keys: set).reason == .granted)
    }

    @Test func keyWindowExcludesItsExp() throws {
        let window: [String: Any] = ["nbf": now - 3600, "exp": now - 60]
        let keys = try keySet([(Self.key, "k1", window)])
        let atExp = try PassIssuer(key: Self.key, kid: "k1").issue(claims(iat: now - 60))
        #expect(try verify(atExp, keys: keys).reason == .unknownKey)
        let atNbf = try PassIssuer(key: Self.key, kid: "k1").issue(claims(iat: now - 3600))
        #expect(try verify(atNbf, keys: keys).reason == .granted)
    }

    @Test func stringsCompareByBytesNotUnicodeEquivalence() throws {
        // "é" precomposed and decomposed are equal to Swift's ==, but not to an exact comparison.
        var decomposed = claims()
        decomposed.issuer = "h\u{0065}\u{0301}"
        let text = try PassIssuer(key: Self.key, kid: "k1").issue(decomposed)
        #expect(try verify(text, issuer: "h\u{00E9}").reason == .wrongIssuer)
        #expect(try verify(text, issuer: "h\u{0065}\u{0301}").reason == .granted)
    }

    @Test func zeroMaxUsesAndEmptyAudienceAreWellFormed() throws {
        let zero = try PassIssuer(key: Self.key, kid: "k1").issue(claims(uses: 0))
        let verdict = try verify(zero)
        #expect(verdict.reason == .granted)
        #expect(verdict.claims?.maxUses == 0)
        var nobody = claims()
        nobody.audience = []
        var message = COSESign1(protected: [Self.alg, Self.kid], unprotected: [], payload: [])
        // An empty aud array must be encoded as an array, not collapsed to one text.
        var map = try #require(try CBORDecoder().decode(nobody.cwtPayload()).mapValue)
        map.removeAll { $0.key == .int(PassClaims.Label.aud) }
        map.append(CBORMapEntry(.int(PassClaims.Label.aud), .array([])))
        message.payload = CBOREncoder.encode(.map(map))
        try message.sign(with: Self.key)
        #expect(try verify(AG1.prefix + Base45.encode(message.encoded())).reason == .wrongDoor)
    }

    @Test func claimErrorsSayClaims() throws {
        var message = COSESign1(
            protected: [Self.alg, Self.kid],
            unprotected: [],
            payload: CBOREncoder.encode(.map([]))
        )
        try message.sign(with: Self.key)
        let verdict = try verify(AG1.prefix + Base45.encode(message.encoded()))
        #expect(verdict.reason == .malformed)
        #expect(verdict.detail.hasPrefix("invalid CWT claims"))
    }
}
