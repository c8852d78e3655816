import AccessToken
import Foundation
import TestSupport
import Testing

/// One example from the COSE working group's corpus (`../shared/vectors/cose-wg`).
struct COSEExample: CustomTestStringConvertible, Sendable {
    var name: String
    var cbor: [UInt8]
    var toBeSigned: [UInt8]?
    var externalAAD: [UInt8]
    /// The signer's key as JSON members; nil for messages without a single signer.
    var key: [String: String]?
    var alg: String?
    var mustFail: Bool
    /// The upstream `failures` keys: how a sign-fail vector was broken.
    var failures: [String]
    var kind: String

    var testDescription: String { name }

    static func load(_ url: URL) throws -> COSEExample {
        let json = try readJSON(url) as! [String: Any]
        let input = json["input"] as! [String: Any]
        let output = json["output"] as! [String: Any]
        let sign0 = input["sign0"] as? [String: Any]
        let kind =
            sign0 != nil ? "sign1" : input["sign"] != nil ? "sign" : input["mac0"] != nil ? "mac0" : "encrypt0"
        return COSEExample(
            name: url.deletingPathExtension().lastPathComponent,
            cbor: bytes(hex: output["cbor"] as! String)!,
            toBeSigned: ((json["intermediates"] as? [String: Any])?["ToBeSign_hex"] as? String).flatMap {
                bytes(hex: $0)
            },
            externalAAD: (sign0?["external"] as? String).flatMap { bytes(hex: $0) } ?? [],
            key: (sign0?["key"] as? [String: Any])?.compactMapValues { $0 as? String },
            alg: sign0?["alg"] as? String,
            mustFail: json["fail"] as? Bool ?? false,
            failures: ((input["failures"] as? [String: Any]) ?? [:]).keys.sorted(),
            kind: kind
        )
    }

    static let all: [COSEExample] = ["sign1-tests", "ecdsa-examples", "eddsa-examples", "CWT"]
        .flatMap { TestPaths.sharedFiles(in: "vectors/cose-wg/\($0)", ext: "json") }
        .map { try! load($0) }

    /// The signer's public key; test vectors give coordinates in base64url or in hex.
    func verificationKey() throws -> VerificationKey {
        let key = try #require(key)
        func member(_ name: String) -> [UInt8]? {
            key[name].flatMap(Base64URL.decode) ?? key[name + "_hex"].flatMap { bytes(hex: $0) }
        }
        if key["kty"] == "OKP" { return try VerificationKey(okpCurve: key["crv"] ?? "", x: member("x") ?? []) }
        return try VerificationKey(curve: key["crv"] ?? "", x: member("x") ?? [], y: member("y") ?? [])
    }

    /// Whether RFC 9053 and JOSE pair this ECDSA alg with this curve.
    var algFitsCurve: Bool {
        let curves = ["ES256": "P-256", "ES384": "P-384", "ES512": "P-521"]
        guard let alg, let curve = curves[alg] else { return true }
        return key?["crv"] == curve
    }
}

@Suite struct COSEWorkingGroupTests {
    static let sign1 = COSEExample.all.filter { $0.kind == "sign1" }
    static let valid = sign1.filter { !$0.mustFail && $0.key?["crv"] != "Ed448" && $0.algFitsCurve }
    static let failing = sign1.filter(\.mustFail)
    static let others = COSEExample.all.filter { $0.kind != "sign1" }

    @Test func corpusIsPresent() {
        #expect(Self.valid.count >= 8 && Self.failing.count >= 5 && Self.others.count >= 6)
    }

    @Test(arguments: valid)
    func verifies(example: COSEExample) throws {
        let message = try COSESign1(cbor: example.cbor)
        if let expected = example.toBeSigned {
            #expect(try message.toBeSigned(externalAAD: example.externalAAD) == expected)
        }
        try message.verify(with: try example.verificationKey(), externalAAD: example.externalAAD)
    }

    @Test(arguments: valid)
    func failsWithoutItsExternalAAD(example: COSEExample) throws {
        let message = try COSESign1(cbor: example.cbor)
        let wrongAAD: [UInt8] = example.externalAAD.isEmpty ? [0x00] : []
        #expect(throws: AccessTokenError.badSignature) {
            try message.verify(with: try example.verificationKey(), externalAAD: wrongAAD)
        }
    }

    /// Each sign-fail vector fails at the check its breakage targets.
    @Test(arguments: failing)
    func signFailVectorFails(example: COSEExample) throws {
        let key = try example.verificationKey()
        do {
            try COSESign1(cbor: example.cbor).verify(with: key)
            Issue.record("\(example.name) verified")
        } catch {
            switch (example.failures.first ?? "", error) {
            case ("ChangeCBORTag", .unexpectedTag), ("ChangeAttr", .unsupportedAlgorithm),
                ("ChangeTag", .badSignature), ("AddProtected", .badSignature), ("RemoveProtected", .badSignature):
                break
            default:
                Issue.record("\(example.name) (\(example.failures)) failed with \(error)")
            }
        }
    }

    @Test func rejectsWrongCBORTag() {
        let example = COSEExample.all.first { $0.name == "sign-fail-01" }!
        #expect(throws: AccessTokenError.unexpectedTag(998)) { try COSESign1(cbor: example.cbor) }
    }

    @Test func rejectsUnknownAlgorithms() throws {
        for name in ["sign-fail-03", "sign-fail-04"] {
            let example = COSEExample.all.first { $0.name == name }!
            #expect(throws: AccessTokenError.self) {
                try COSESign1(cbor: example.cbor).verify(with: try example.verificationKey())
            }
            let message = try COSESign1(cbor: example.cbor)
            #expect(throws: AccessTokenError.self) { try message.algorithm(protectedOnly: false) }
        }
    }

    @Test func rejectsEd448Keys() throws {
        let ed448 = Self.sign1.filter { $0.key?["crv"] == "Ed448" }
        #expect(!ed448.isEmpty)
        for example in ed448 {
            #expect(throws: AccessTokenError.keyMismatch("unsupported OKP curve Ed448"), "\(example.name)") {
                try example.verificationKey()
            }
            // The message parses; no key this package can load will verify it.
            let message = try COSESign1(cbor: example.cbor)
            let ed25519 = SigningKey.generate(.edDSA).publicKey
            #expect(throws: AccessTokenError.badSignature) { try message.verify(with: ed25519) }
        }
    }

    @Test func rejectsES512OnP256AsAForbiddenPairing() throws {
        let mismatched = Self.sign1.filter { !$0.algFitsCurve }
        #expect(mismatched.map(\.name) == ["ecdsa-sig-04"])
        for example in mismatched {
            #expect(throws: AccessTokenError.keyMismatch("ES512 with a P-256 key")) {
                try COSESign1(cbor: example.cbor).verify(with: try example.verificationKey())
            }
        }
    }

    @Test(arguments: others)
    func rejectsOtherMessageTypes(example: COSEExample) {
        let expected = ["sign": "COSE_Sign", "mac0": "COSE_Mac0", "encrypt0": "COSE_Encrypt0"][example.kind]!
        #expect(throws: AccessTokenError.notSign1(expected)) { try COSESign1(cbor: example.cbor) }
    }

    @Test func rejectsUntaggedMultiSignerArray() {
        // A COSE_Sign without its tag is a four-element array whose last element is not a bstr.
        let example = COSEExample.all.first { $0.name == "ecdsa-01" }!
        guard case .tagged(_, let inner)? = try? CBORDecoder().decode(example.cbor) else {
            Issue.record("ecdsa-01 is not tagged")
            return
        }
        #expect(throws: AccessTokenError.self) { try COSESign1(item: inner) }
    }
}
