import AccessToken
import Crypto
import Foundation
import QRCodec
import TestSupport
import Testing

/// HQ's key, the member's device key, and bound credentials for door HQ1/FRONT at `now`.
enum AG2Fixture {
    static let hq = SigningKey.generate(.es256)
    static let device = P256.Signing.PrivateKey()
    static let door = "HQ1/FRONT"

    static func boundClaims(holder: P256.Signing.PublicKey = device.publicKey) -> PassClaims {
        var bound = claims()
        bound.holderKey = holder
        return bound
    }

    /// Issues a credential; every call signs afresh, so its bytes (and digest) differ.
    static func credential(_ claims: PassClaims = boundClaims()) -> [UInt8] {
        PassIssuer(key: hq, kid: "k1").issueCredential(claims)
    }

    /// One bound credential, for the proof tests.
    static let bound = credential()

    static func verifier() throws -> PassVerifier {
        PassVerifier(keys: try keySet([(hq, "k1", [:])]), issuer: "hq.example")
    }

    /// A COSE_Sign1 signed by `key` over hand-made headers and payload, for shapes the makers never produce.
    static func signed(
        _ payload: [UInt8],
        protected: [CBORMapEntry],
        unprotected: [CBORMapEntry] = [],
        key: SigningKey,
        tags: [UInt64] = []
    ) throws -> [UInt8] {
        var message = COSESign1(protected: protected, unprotected: unprotected, payload: payload)
        message.tags = tags
        try message.sign(with: key)
        return message.encoded()
    }
}

extension AccessTokenError {
    /// Whether the decision reports this error as `proof_invalid`.
    var isProofInvalid: Bool {
        if case .proofInvalid = self { return true }
        return false
    }
}

@Suite struct HolderBoundPassTests {
    typealias F = AG2Fixture

    @Test func aBoundPassRoundTripsThroughTextAndVerifies() throws {
        let credential = F.credential()
        let proof = HolderProof.make(credential: credential, key: F.device, now: now + 0.7)
        let text = HolderBoundPass(credential: credential, proof: proof).text
        #expect(text.hasPrefix(HolderBoundPass.prefix))

        let pass = try HolderBoundPass.parse(text)
        #expect(pass == HolderBoundPass(credential: credential, proof: proof))
        let verdict = try F.verifier().verify(credential: pass.credential, door: F.door, now: now)
        #expect(verdict.reason == .granted, "\(verdict.detail)")
        #expect(verdict.claims == F.boundClaims())
        let holder = try #require(verdict.claims?.holderKey)
        let checked = try HolderProof.verify(pass.proof, credential: pass.credential, holderKey: holder)
        #expect(checked == HolderProof(issuedAt: now, credentialDigest: HolderProof.digest(of: credential)))
    }

    @Test func theCredentialIsAlsoAValidAG1PassBody() throws {
        let credential = F.credential()
        let asText = try F.verifier().verify(AG1.prefix + Base45.encode(credential), door: F.door, now: now)
        let asBytes = try F.verifier().verify(credential: credential, door: F.door, now: now)
        #expect(asText.reason == .granted && asBytes.reason == .granted)
        #expect(asText.claims == asBytes.claims)
    }

    @Test(
        arguments: [
            ("empty", [UInt8]()),
            ("not CBOR", [0xFF, 0x00]),
            ("an AG1 text's bytes", Array("AG1:ABC".utf8)),
        ] as [(String, [UInt8])]
    )
    func credentialBytesThatAreNotAPassAreMalformed(name: String, bytes: [UInt8]) throws {
        #expect(try F.verifier().verify(credential: bytes, door: F.door, now: now).reason == .malformed, "\(name)")
    }

    @Test func aTamperedCredentialIsABadSignature() throws {
        var credential = F.credential()
        credential[credential.count - 1] ^= 1
        #expect(try F.verifier().verify(credential: credential, door: F.door, now: now).reason == .badSignature)
    }

    @Test func theCnfClaimIsWrittenInItsDeterministicShape() throws {
        let point = Array(F.device.publicKey.x963Representation)
        let payload = F.boundClaims().cwtPayload()
        // 8: {1: {1: 2, -1: 1, -2: x, -3: y}}, between cti (7) and the booking id (-65537).
        let cnf: [UInt8] =
            [0x08, 0xA1, 0x01, 0xA4, 0x01, 0x02, 0x20, 0x01, 0x21, 0x58, 0x20] + point[1..<33]
            + [0x22, 0x58, 0x20] + point[33..<65] + [0x3A, 0x00, 0x01, 0x00, 0x00]
        #expect(payload.indices.contains { payload[$0...].starts(with: cnf) })
        #expect(try PassClaims(cwt: payload) == F.boundClaims())
        #expect(try PassClaims(cwt: claims().cwtPayload()).holderKey == nil)
    }

    typealias KeyPair = (name: String, a: P256.Signing.PublicKey?, b: P256.Signing.PublicKey?, equal: Bool)
    static let keyPairs: [KeyPair] = [
        ("both unbound", nil, nil, true),
        (
            "the same key, decoded again", F.device.publicKey,
            try! .init(x963Representation: F.device.publicKey.x963Representation), true
        ),
        ("another key", F.device.publicKey, P256.Signing.PrivateKey().publicKey, false),
        ("bound and unbound", F.device.publicKey, nil, false),
    ]

    @Test(arguments: keyPairs)
    func claimsCompareTheirHolderKeys(_ pair: KeyPair) {
        var left = claims()
        var right = claims()
        left.holderKey = pair.a
        right.holderKey = pair.b
        #expect((left == right) == pair.equal, "\(pair.name)")
    }
}

@Suite struct HolderProofTests {
    typealias F = AG2Fixture
    static let alg = CBORMapEntry(.int(COSEHeader.alg), .int(COSEAlgorithm.es256.rawValue))

    static func payload(time: CBORValue? = .int(Int64(now)), digest: [UInt8]? = nil) -> [UInt8] {
        var map: [CBORMapEntry] = []
        if let time { map.append(CBORMapEntry(.int(6), time)) }
        map.append(CBORMapEntry(.int(7), .bytes(digest ?? HolderProof.digest(of: F.bound))))
        return CBOREncoder.encode(.map(map))
    }

    @Test func aProofIsAnUntaggedES256Sign1OverTimeAndDigest() throws {
        let proof = HolderProof.make(credential: F.bound, key: F.device, now: now + 9.9)
        let message = try COSESign1(cbor: proof)
        #expect(message.tags.isEmpty)
        #expect(message.protectedBytes == [0xA1, 0x01, 0x26])
        #expect(message.unprotected.isEmpty && message.signature.count == 64)
        #expect(message.payload == Self.payload(time: .int(Int64(now) + 9)))  // whole seconds, truncated
    }

    @Test func aProofTaggedSign1IsAccepted() throws {
        let proof = try F.signed(Self.payload(), protected: [Self.alg], key: .p256(F.device), tags: [COSETag.sign1])
        let checked = try HolderProof.verify(proof, credential: F.bound, holderKey: F.device.publicKey)
        #expect(checked.issuedAt == now)
    }

    @Test func aProofOverAnotherCredentialIsInvalid() throws {
        let other = F.credential()  // the same claims signed afresh: other bytes, another digest
        let proof = HolderProof.make(credential: other, key: F.device, now: now)
        #expect(other != F.bound)
        let error = #expect(throws: AccessTokenError.self) {
            try HolderProof.verify(proof, credential: F.bound, holderKey: F.device.publicKey)
        }
        #expect(error?.isProofInvalid == true, "\(String(describing: error))")
    }

    @Test func aProofByAnotherKeyIsInvalid() throws {
        let proof = HolderProof.make(credential: F.bound, key: P256.Signing.PrivateKey(), now: now)
        let error = #expect(throws: AccessTokenError.self) {
            try HolderProof.verify(proof, credential: F.bound, holderKey: F.device.publicKey)
        }
        #expect(error?.isProofInvalid == true, "\(String(describing: error))")
    }

    @Test(
        arguments: [
            ("alg only unprotected", try! F.signed(payload(), protected: [], unprotected: [alg], key: .p256(F.device))),
            (
                "alg EdDSA",
                try! F.signed(payload(), protected: [CBORMapEntry(.int(1), .int(-8))], key: .p256(F.device))
            ),
            ("CWT tag", try! F.signed(payload(), protected: [alg], key: .p256(F.device), tags: [COSETag.cwt])),
            ("no time", try! F.signed(payload(time: nil), protected: [alg], key: .p256(F.device))),
            ("text time", try! F.signed(payload(time: .text("now")), protected: [alg], key: .p256(F.device))),
            (
                "7-byte digest",
                try! F.signed(payload(digest: [1, 2, 3, 4, 5, 6, 7]), protected: [alg], key: .p256(F.device))
            ),
            ("payload not a map", try! F.signed([0x80], protected: [alg], key: .p256(F.device))),
            ("not CBOR", [0x84, 0x43]),
            (
                "a five-element message",
                CBOREncoder.encode(.array([.bytes([]), .map([]), .null, .bytes([]), .array([])]))
            ),
        ] as [(String, [UInt8])]
    )
    func malformedProofsAreInvalid(name: String, proof: [UInt8]) throws {
        let error = #expect(throws: AccessTokenError.self, "\(name)") {
            try HolderProof.verify(proof, credential: F.bound, holderKey: F.device.publicKey)
        }
        #expect(error?.isProofInvalid == true, "\(name): \(String(describing: error))")
    }
}

@Suite struct HolderKeyClaimTests {
    typealias F = AG2Fixture
    static let point = Array(F.device.publicKey.x963Representation)
    static let x = CBORValue.bytes(Array(point[1..<33]))
    static let y = CBORValue.bytes(Array(point[33..<65]))

    /// A COSE_Key from `(label, value)` pairs, in order.
    static func key(_ entries: [(Int64, CBORValue)]) -> CBORValue {
        .map(entries.map { CBORMapEntry(.int($0.0), $0.1) })
    }

    static func ec2(kty: CBORValue = .int(2), crv: CBORValue = .int(1), x: CBORValue = x, y: CBORValue = y) -> CBORValue
    {
        key([(1, kty), (-1, crv), (-2, x), (-3, y)])
    }

    /// A credential signed by HQ whose claim 8 is `cnf`, exactly as given.
    static func credential(cnf: CBORValue) throws -> [UInt8] {
        guard case .map(var entries) = try CBORDecoder().decode(claims().cwtPayload()) else { return [] }
        entries.insert(CBORMapEntry(.int(PassClaims.Label.cnf), cnf), at: 7)
        let protected = [
            CBORMapEntry(.int(COSEHeader.alg), .int(-7)), CBORMapEntry(.int(COSEHeader.kid), .bytes(Array("k1".utf8))),
        ]
        return try F.signed(CBOREncoder.encode(.map(entries)), protected: protected, key: F.hq, tags: [COSETag.sign1])
    }

    static var offCurveY: CBORValue {
        var bytes = Array(point[33..<65])
        bytes[31] = bytes[31] &+ 1
        return .bytes(bytes)
    }

    @Test(
        arguments: [
            ("kty OKP", map1(ec2(kty: .int(1)))),
            ("kty as text", map1(ec2(kty: .text("EC2")))),
            ("crv P-384", map1(ec2(crv: .int(2)))),
            ("31-byte x", map1(ec2(x: .bytes(Array(point[2..<33]))))),
            ("y neither a string nor a sign bit", map1(ec2(y: .int(1)))),
            ("x compressed with y a sign bit too", map1(ec2(x: .bytes(Array(point[0..<33])), y: .bool(true)))),
            ("point off the curve", map1(ec2(y: offCurveY))),
            ("alg EdDSA", map1(key([(1, .int(2)), (3, .int(-8)), (-1, .int(1)), (-2, x), (-3, y)]))),
            (
                "a private key",
                map1(
                    key([(1, .int(2)), (-1, .int(1)), (-2, x), (-3, y), (-4, .bytes(Array(repeating: 1, count: 32)))])
                )
            ),
            ("no kty", map1(key([(-1, .int(1)), (-2, x), (-3, y)]))),
            ("cnf a COSE_Key, not {1: COSE_Key}", ec2()),
            ("cnf a kid", CBORValue.map([CBORMapEntry(.int(3), .bytes([1, 2]))])),
            ("cnf with two methods", .map([CBORMapEntry(.int(1), ec2()), CBORMapEntry(.int(3), .bytes([1, 2]))])),
            ("cnf a byte string", .bytes(Array(point))),
        ] as [(String, CBORValue)]
    )
    func aMalformedCnfMakesThePassMalformed(name: String, cnf: CBORValue) throws {
        let verdict = try F.verifier().verify(credential: try Self.credential(cnf: cnf), door: F.door, now: now)
        #expect(verdict.reason == .malformed, "\(name): \(verdict.detail)")
    }

    @Test func kidAlgAndKeyOpsInTheCOSEKeyAreAccepted() throws {
        // The shape python `cwt` writes for COSEKey.from_jwk(...).to_dict().
        let cose = Self.key([
            (1, .int(2)), (2, .bytes(Array("dev-1".utf8))), (3, .int(-7)), (4, .array([.int(2)])),
            (-1, .int(1)), (-2, Self.x), (-3, Self.y),
        ])
        let verdict = try F.verifier().verify(credential: try Self.credential(cnf: map1(cose)), door: F.door, now: now)
        #expect(verdict.reason == .granted, "\(verdict.detail)")
        #expect(verdict.claims?.holderKey?.x963Representation == F.device.publicKey.x963Representation)
    }
}

/// `{1: key}`: the cnf claim around a COSE_Key.
func map1(_ key: CBORValue) -> CBORValue { .map([CBORMapEntry(.int(1), key)]) }

@Suite struct HolderBoundTextTests {
    typealias F = AG2Fixture
    static let c = CBORValue.bytes([0xD2, 0x84])
    static func body(_ value: CBORValue) -> String { HolderBoundPass.prefix + Base45.encode(CBOREncoder.encode(value)) }

    @Test(
        arguments: [
            ("1 element", body(.array([c]))),
            ("3 elements", body(.array([c, c, c]))),
            ("no elements", body(.array([]))),
            ("a map", body(.map([CBORMapEntry(c, c)]))),
            ("a text element", body(.array([c, .text("proof")]))),
            ("a nested array", body(.array([c, .array([c])]))),
            ("tagged", body(.tagged(18, .array([c, c])))),
            ("trailing bytes", HolderBoundPass.prefix + Base45.encode(CBOREncoder.encode(.array([c, c])) + [0])),
            ("the AG1 prefix", AG1.prefix + Base45.encode(CBOREncoder.encode(.array([c, c])))),
            ("lower-case prefix", "ag2:" + Base45.encode(CBOREncoder.encode(.array([c, c])))),
            ("nothing after the prefix", HolderBoundPass.prefix),
            ("not Base45", HolderBoundPass.prefix + "A"),
            ("too long", HolderBoundPass.prefix + String(repeating: "0", count: 2046)),
        ] as [(String, String)]
    )
    func malformedTextIsRefused(name: String, text: String) {
        let error = #expect(throws: AccessTokenError.self, "\(name)") { try HolderBoundPass.parse(text) }
        // Structure errors; the decision reports them as `malformed`, never `proof_invalid`.
        #expect(error.map { !$0.isProofInvalid } == true, "\(name)")
    }

    @Test func twoByteStringsParseWhateverTheyHold() throws {
        let pass = try HolderBoundPass.parse(Self.body(.array([.bytes([1]), .bytes([])])))
        #expect(pass == HolderBoundPass(credential: [1], proof: []))
    }

    typealias Shape = (name: String, nbf: Double?, passIDLength: Int, length: Int, version: Int, v2Length: Int, v2Version: Int)
    /// A typical AG2: ES256 credential with kid, iss, a 12-character member id, one door, exp,
    /// iat, a 12-byte pass id, a booking id and cnf; the proof as the device makes it.
    static let shapes: [Shape] = [
        // v2 (a compressed cnf, no iss, the compact proof): 105 characters shorter, version 13.
        ("typical", nil, 12, 525, 14, 420, 13),
        // The AG1 example of docs/token.md, bound: nbf and a 16-byte pass id tip it into version 15.
        ("with nbf and a 16-byte pass id", now - 60, 16, 541, 15, 435, 13),
    ]

    @Test(arguments: shapes)
    func theQRSizeOfABoundPass(_ shape: Shape) throws {
        let (name, nbf, passIDLength, length, version, v2Length, v2Version) = shape
        let claims = PassClaims(
            issuer: "hq.example.com",
            member: "member-88120",
            audience: ["JKT1/FRONT"],
            expiresAt: now + 4 * 3600,
            notBefore: nbf,
            issuedAt: now,
            passID: (0..<passIDLength).map { _ in UInt8.random(in: 0...255) },
            bookingID: "booking-5521",
            holderKey: F.device.publicKey
        )
        let credential = PassIssuer(key: F.hq, kid: "hq-2026-01").issueCredential(claims)
        let text = HolderBoundPass(
            credential: credential,
            proof: HolderProof.make(credential: credential, key: F.device, now: now)
        ).text
        let qr = try QRMatrix.encode(text: text, level: .medium)
        print(
            "AG2 \(name): \(text.utf8.count) characters, credential \(credential.count) bytes, QR version \(qr.version)-M"
        )
        #expect(text.utf8.count == length, "\(name)")
        #expect(qr.version == version, "\(name)")

        let compact = PassIssuer(key: F.hq, kid: "hq-2026-01").issueCompactCredential(claims)
        let v2 = CompactHolderBoundPass.make(credential: compact, key: F.device, now: now).text
        let v2QR = try QRMatrix.encode(text: v2, level: .medium)
        print("AG2 v2 \(name): \(v2.utf8.count) characters, credential \(compact.count) bytes, QR version \(v2QR.version)-M")
        #expect(v2.utf8.count == v2Length, "\(name)")
        #expect(v2QR.version == v2Version, "\(name)")
    }
}

/// Interop with python `cwt` (the credential) and `cryptography` (the proof), both ways
/// (Tests/interop/ag2_interop.py).
@Suite struct AG2InteropTests {
    static let script = TestPaths.packageRoot.appendingPathComponent("Tests/interop/ag2_interop.py").path

    func keyFile(_ jwk: [String: String]) throws -> String {
        let url = try TestPaths.temporaryDirectory().appendingPathComponent("key.json")
        try JSONSerialization.data(withJSONObject: jwk).write(to: url)
        return url.path
    }

    /// An AG2 of `profile` (1 or 2) made here: HQ's credential for `device`, the proof by `proofKey`.
    func swiftAG2(
        hq: SigningKey,
        device: P256.Signing.PrivateKey,
        proofKey: P256.Signing.PrivateKey,
        profile: Int
    ) -> (String, Double) {
        let t = Date().timeIntervalSince1970.rounded(.down)
        let claims = PassClaims(
            issuer: "hq.example",
            member: "m-swift",
            audience: ["LOC"],
            expiresAt: t + 600,
            notBefore: t - 10,
            issuedAt: t - 10,
            passID: Array(repeating: 0xAB, count: 16),
            bookingID: "b-1",
            holderKey: device.publicKey
        )
        let issuer = PassIssuer(key: hq, kid: "sw-1")
        if profile == 2 {
            let credential = issuer.issueCompactCredential(claims)
            return (CompactHolderBoundPass.make(credential: credential, key: proofKey, now: t).text, t)
        }
        let credential = issuer.issueCredential(claims)
        let proof = HolderProof.make(credential: credential, key: proofKey, now: t)
        return (HolderBoundPass(credential: credential, proof: proof).text, t)
    }

    /// python's `issue` makes v1, `issue2` v2 (no iss, a compressed cnf, the compact proof).
    @Test(arguments: [(1, "issue"), (2, "issue2")])
    func pythonIssuedAG2VerifiesHere(profile: Int, command: String) throws {
        let hq = SigningKey.generate(.es256)
        let exp = Int(Date().timeIntervalSince1970) + 600
        let result = try runTool(
            "python3",
            [
                Self.script, command, try keyFile(hq.privateJWK(kid: "py-1")), "hq.example", "m-py", "LOC/D1",
                "\(exp)", "00112233445566778899",
            ]
        )
        #expect(result.status == 0, "\(result.stderr)")
        let out = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: String])
        let code = try AG2Code.parse(try #require(out["ag2"]))
        switch code {
        case .v1: #expect(profile == 1)
        case .v2: #expect(profile == 2)
        }
        let t = Date().timeIntervalSince1970
        let verdict = PassVerifier(keys: try keySet([(hq, "py-1", [:])]), issuer: "hq.example")
            .verify(credential: code.credential, door: "LOC/D1", now: t)
        #expect(verdict.reason == .granted, "\(verdict.detail)")
        #expect(verdict.claims?.member == "m-py" && verdict.claims?.bookingID == "booking-5521")
        #expect(verdict.claims?.issuerImplied == (profile == 2))
        let holder = try #require(verdict.claims?.holderKey)
        #expect(Array(holder.x963Representation).hexString == out["holder_x963"])
        let proof = try code.verifyProof(holderKey: holder)
        #expect(abs(proof.issuedAt - t) < 30)
    }

    @Test(arguments: [1, 2])
    func anAG2MadeHereVerifiesInPython(profile: Int) throws {
        let hq = SigningKey.generate(.es256)
        let device = P256.Signing.PrivateKey()
        let (text, t) = swiftAG2(hq: hq, device: device, proofKey: device, profile: profile)
        let result = try runTool("python3", [Self.script, "verify", try keyFile(hq.publicJWK(kid: "sw-1")), text])
        #expect(result.status == 0, "\(result.stderr)")
        let out = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(out?["sub"] as? String == "m-swift")
        #expect(out?["cti"] as? String == String(repeating: "ab", count: 16))
        #expect(out?["proof_time"] as? Int == Int(t))
        #expect(out?["profile"] as? Int == profile)
    }

    @Test func theDocsShowTheScriptsFunctions() throws {
        let script = try String(contentsOfFile: Self.script, encoding: .utf8)
        let docs = try String(
            contentsOf: TestPaths.packageRoot.appendingPathComponent("docs/token.md"),
            encoding: .utf8
        )
        let start = try #require(script.range(of: "def issue_bound_credential"))
        let end = try #require(script.range(of: "\n# ---", range: start.upperBound..<script.endIndex))
        let functions = script[start.lowerBound..<end.lowerBound].trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(docs.contains(functions))
    }

    @Test(arguments: [1, 2])
    func pythonRefusesAProofByAnotherKey(profile: Int) throws {
        let hq = SigningKey.generate(.es256)
        let (text, _) = swiftAG2(
            hq: hq,
            device: P256.Signing.PrivateKey(),
            proofKey: P256.Signing.PrivateKey(),
            profile: profile
        )
        let result = try runTool("python3", [Self.script, "verify", try keyFile(hq.publicJWK(kid: "sw-1")), text])
        #expect(result.status == 1, "\(result.stdout) \(result.stderr)")
        // cryptography's verdict on the proof's signature, not a crash that also exits 1.
        #expect(result.stderr.hasPrefix("proof refused: InvalidSignature"), "\(result.stderr)")
    }
}
