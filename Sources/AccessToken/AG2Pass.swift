import Crypto

/// An AG2 v1 pass as the member's device shows it: `AG2:` + Base45(CBOR `[credential, proof]`).
///
/// `credential` is the COSE_Sign1 of an AG1 pass whose claims carry `cnf` (the device's P-256 key);
/// `proof` is a ``HolderProof`` by that key, redrawn every few seconds. See docs/token.md. The
/// smaller v2 (``CompactHolderBoundPass``) has the same prefix; ``AG2Code`` reads both.
public struct HolderBoundPass: Sendable, Equatable {
    public static let prefix = "AG2:"
    /// The longest AG2 text accepted, in characters: the AG1 limit (a version 14-M code holds 528).
    public static let maxTextLength = AG1.maxTextLength

    /// The AG1 credential's COSE_Sign1 bytes.
    public var credential: [UInt8]
    /// The holder proof's COSE_Sign1 bytes.
    public var proof: [UInt8]

    public init(credential: [UInt8], proof: [UInt8]) {
        self.credential = credential
        self.proof = proof
    }

    /// Parses AG2 v1 text. Every failure is an error that the decision reports as `malformed`.
    public static func parse(_ text: String) throws(AccessTokenError) -> HolderBoundPass {
        guard case .v1(let pass) = try AG2Code.parse(text) else {
            throw .malformed("an AG2 v2 code, not v1: read it with AG2Code.parse")
        }
        return pass
    }

    /// The QR text.
    public var text: String {
        Self.prefix + Base45.encode(CBOREncoder.encode(.array([.bytes(credential), .bytes(proof)])))
    }
}

/// The holder's proof of an AG2 pass: a COSE_Sign1, ES256, by the device key named in the
/// credential's `cnf`, over `{6: time, 7: the first 8 bytes of SHA-256(credential)}`.
///
/// Made untagged; tag 18 is accepted too. ``verify(_:credential:holderKey:)`` checks the
/// signature and the credential digest, not the time: the gateway compares ``issuedAt`` with
/// its trusted clock (`proof_stale`) and remembers proofs it has seen (`replayed`).
public struct HolderProof: Sendable, Equatable {
    /// The claim labels of the proof payload (the CWT `iat` and `cti` labels).
    public enum Label {
        public static let time: Int64 = 6
        public static let credentialDigest: Int64 = 7
    }

    /// The length of the credential digest, in bytes.
    public static let digestLength = 8

    /// The proof's time (UNIX seconds), as the device's clock read it.
    public var issuedAt: Double
    /// The first 8 bytes of SHA-256 over the credential's bytes.
    public var credentialDigest: [UInt8]

    public init(issuedAt: Double, credentialDigest: [UInt8]) {
        self.issuedAt = issuedAt
        self.credentialDigest = credentialDigest
    }

    /// The digest a proof names `credential` by.
    public static func digest(of credential: [UInt8]) -> [UInt8] {
        Array(SHA256.hash(data: credential).prefix(digestLength))
    }

    /// Makes a proof for `credential` at `now` (truncated to whole seconds): untagged COSE_Sign1 bytes.
    public static func make(credential: [UInt8], key: P256.Signing.PrivateKey, now: Double) -> [UInt8] {
        let payload = CBOREncoder.encode(
            .map([
                CBORMapEntry(.int(Label.time), .int(Int64(now.rounded(.down)))),
                CBORMapEntry(.int(Label.credentialDigest), .bytes(digest(of: credential))),
            ])
        )
        var message = COSESign1(
            protected: [CBORMapEntry(.int(COSEHeader.alg), .int(COSEAlgorithm.es256.rawValue))],
            unprotected: [],
            payload: payload
        )
        message.tags = []
        do { try message.sign(with: .p256(key)) } catch { preconditionFailure("P-256 signing failed: \(error)") }
        return message.encoded()
    }

    /// Verifies `proof` for `credential` under the credential's `cnf` key: ES256 in the protected
    /// header, the signature, and the credential digest. Every failure is ``AccessTokenError/proofInvalid(_:)``.
    public static func verify(
        _ proof: [UInt8],
        credential: [UInt8],
        holderKey: P256.Signing.PublicKey
    ) throws(AccessTokenError) -> HolderProof {
        let message: COSESign1
        do {
            message = try COSESign1(cbor: proof, decoder: CBORDecoder(limits: .init(maxDepth: 4, maxItems: 32)))
            guard message.tags.isEmpty || message.tags == [COSETag.sign1] else {
                throw AccessTokenError.unexpectedTag(message.tags[0])
            }
            try message.checkCritical()
        } catch {
            throw .proofInvalid("not a COSE_Sign1: \(error)")
        }
        guard let payload = message.payload else { throw .proofInvalid("the payload is detached") }
        guard (try? message.algorithm(protectedOnly: true)) == .es256 else {
            throw .proofInvalid("the protected header does not name ES256")
        }
        do {
            try VerificationKey.p256(holderKey).verify(message.signature, over: try message.toBeSigned(), alg: .es256)
        } catch {
            throw .proofInvalid("the signature does not verify under the credential's cnf key")
        }
        guard case .map(let claims)? = try? CBORDecoder(limits: .init(maxDepth: 2, maxItems: 32)).decode(payload)
        else { throw .proofInvalid("the payload is not a CBOR map") }
        let time: Double
        if let n = claims[label: Label.time]?.intValue {
            time = Double(n)
        } else if case .float(let d)? = claims[label: Label.time], d.isFinite {
            time = d
        } else {
            throw .proofInvalid("claim 6 (time) is missing or not a NumericDate")
        }
        guard case .bytes(let named)? = claims[label: Label.credentialDigest], named.count == digestLength else {
            throw .proofInvalid("claim 7 (credential digest) is missing or not \(digestLength) bytes")
        }
        guard named == digest(of: credential) else { throw .proofInvalid("the proof names another credential") }
        return HolderProof(issuedAt: time, credentialDigest: named)
    }
}

/// The P-256 key of a holder-bound credential, compared by its x963 bytes.
struct HolderKey: Sendable, Equatable {
    let key: P256.Signing.PublicKey

    static func == (a: HolderKey, b: HolderKey) -> Bool { a.key.x963Representation == b.key.x963Representation }
}

/// The `cnf` claim of an AG2 credential: `{1: COSE_Key}` with an EC2 P-256 public key (RFC 8747, RFC 9053).
enum HolderCOSEKey {
    enum Label {
        static let coseKey: Int64 = 1
        static let kty: Int64 = 1
        static let alg: Int64 = 3
        static let crv: Int64 = -1
        static let x: Int64 = -2
        static let y: Int64 = -3
        static let d: Int64 = -4
    }
    static let ktyEC2: Int64 = 2
    static let crvP256: Int64 = 1

    /// The claim for `key`, in deterministic order: `{1: {1: 2, -1: 1, -2: x, -3: y}}`; with
    /// `compressed`, y is its sign bit (RFC 9053 §7.1.1: true when y is odd), 33 bytes shorter.
    static func cnf(_ key: P256.Signing.PublicKey, compressed: Bool = false) -> CBORValue {
        let point = Array(key.x963Representation)
        let y: CBORValue = compressed ? .bool(point[64] & 1 == 1) : .bytes(Array(point[33..<65]))
        return .map([
            CBORMapEntry(
                .int(Label.coseKey),
                .map([
                    CBORMapEntry(.int(Label.kty), .int(ktyEC2)),
                    CBORMapEntry(.int(Label.crv), .int(crvP256)),
                    CBORMapEntry(.int(Label.x), .bytes(Array(point[1..<33]))),
                    CBORMapEntry(.int(Label.y), y),
                ])
            )
        ])
    }

    /// Whether a `cnf` claim gives its point compressed (y as its sign bit).
    static func isCompressed(cnf: CBORValue) -> Bool {
        guard case .map(let methods) = cnf, case .map(let key)? = methods[label: Label.coseKey],
            case .bool = key[label: Label.y]
        else { return false }
        return true
    }

    /// Reads the key from a `cnf` claim. Any other shape, or a point off the curve, throws `badClaims`.
    static func holderKey(cnf: CBORValue) throws(AccessTokenError) -> P256.Signing.PublicKey {
        // RFC 8747 §3.1: one confirmation method; AG2 uses only the COSE_Key one.
        guard case .map(let methods) = cnf, methods.count == 1, case .map(let key)? = methods[label: Label.coseKey]
        else { throw .badClaims("cnf is not {1: COSE_Key}") }
        guard key[label: Label.kty] == .int(ktyEC2) else { throw .badClaims("the cnf key's kty is not EC2") }
        guard key[label: Label.crv] == .int(crvP256) else { throw .badClaims("the cnf key's crv is not P-256") }
        if let alg = key[label: Label.alg], alg != .int(COSEAlgorithm.es256.rawValue) {
            throw .badClaims("the cnf key's alg is not ES256")
        }
        // A private key in a credential is an issuer's mistake, never a public key.
        guard key[label: Label.d] == nil else { throw .badClaims("the cnf key holds a private key") }
        guard case .bytes(let x)? = key[label: Label.x], x.count == 32 else {
            throw .badClaims("the cnf key's x is not a 32-byte string")
        }
        do {
            switch key[label: Label.y] {
            case .bytes(let y)? where y.count == 32:
                return try P256.Signing.PublicKey(x963Representation: [0x04] + x + y)
            case .bool(let odd)?:
                // The compressed point (SEC 1 §2.3.3): 02 or 03, then x.
                return try P256.Signing.PublicKey(compressedRepresentation: [odd ? 0x03 : 0x02] + x)
            default:
                throw AccessTokenError.badClaims("the cnf key's y is neither a 32-byte string nor a sign bit")
            }
        } catch let error as AccessTokenError {
            throw error
        } catch {
            throw .badClaims("the cnf key's point is not on P-256")
        }
    }
}

/// An AG2 code of either profile: the prefix is the same, the CBOR array tells them apart (two
/// byte strings for v1; a byte string, an unsigned integer and a byte string for v2).
public enum AG2Code: Sendable, Equatable {
    case v1(HolderBoundPass)
    case v2(CompactHolderBoundPass)

    /// Parses AG2 text of either profile. Every failure is an error that the decision reports as
    /// `malformed`.
    public static func parse(_ text: String) throws(AccessTokenError) -> AG2Code {
        let prefix = HolderBoundPass.prefix
        guard text.utf8.count <= HolderBoundPass.maxTextLength else {
            throw .malformed("AG2 text is \(text.utf8.count) characters; the limit is \(HolderBoundPass.maxTextLength)")
        }
        guard text.hasPrefix(prefix) else { throw .malformed("pass text does not start with \(prefix)") }
        let body = text.utf8.dropFirst(prefix.utf8.count)
        guard !body.isEmpty else { throw .malformed("pass text is empty after \(prefix)") }
        let bytes: [UInt8]
        do { bytes = try Base45.decode(Substring(body)) } catch { throw .malformed(error.description) }
        let value: CBORValue
        do { value = try CBORDecoder(limits: .init(maxDepth: 1, maxItems: 4)).decode(bytes) } catch {
            throw .cbor(error)
        }
        switch value {
        case .array(let items) where items.count == 2:
            guard case .bytes(let credential) = items[0], case .bytes(let proof) = items[1] else {
                throw .malformed("AG2 body is not an array of two byte strings")
            }
            return .v1(HolderBoundPass(credential: credential, proof: proof))
        case .array(let items) where items.count == 3:
            guard case .bytes(let credential) = items[0], case .unsigned(let time) = items[1],
                case .bytes(let signature) = items[2]
            else { throw .malformed("AG2 v2 body is not [credential, time, signature]") }
            guard signature.count == CompactHolderBoundPass.signatureLength else {
                throw .malformed("the AG2 v2 signature is \(signature.count) bytes, not 64")
            }
            return .v2(CompactHolderBoundPass(credential: credential, time: time, signature: signature))
        default:
            throw .malformed("AG2 body is not an array of two (v1) or three (v2) items")
        }
    }

    /// The credential's COSE_Sign1 bytes.
    public var credential: [UInt8] {
        switch self {
        case .v1(let pass): pass.credential
        case .v2(let pass): pass.credential
        }
    }

    /// Checks the proof under the credential's `cnf` key (not its time: see ``HolderProof``).
    public func verifyProof(holderKey: P256.Signing.PublicKey) throws(AccessTokenError) -> HolderProof {
        switch self {
        case .v1(let pass): try HolderProof.verify(pass.proof, credential: pass.credential, holderKey: holderKey)
        case .v2(let pass): try pass.verify(holderKey: holderKey)
        }
    }

    /// The QR text.
    public var text: String {
        switch self {
        case .v1(let pass): pass.text
        case .v2(let pass): pass.text
        }
    }
}

/// An AG2 v2 pass: `AG2:` + Base45(CBOR `[credential, time, signature]`), about a fifth shorter
/// than v1, so that the code the door reads is a smaller QR version (docs/token.md, "AG2 v2").
///
/// The credential is an AG1 credential as in v1 (HQ issues it without `iss`, with its `cnf`
/// point compressed). The proof is no COSE message: `signature` is the device key's ES256 signature
/// (raw r ‖ s) over the CBOR array `["AG2 proof v2", SHA-256(credential), time]`, so it binds
/// the whole credential (all 32 bytes of its digest, against v1's 8), and nothing in the code
/// repeats the credential.
public struct CompactHolderBoundPass: Sendable, Equatable {
    /// The first item of the signed array: it keeps these signatures apart from any other use of
    /// the device key, v1's COSE `Signature1` structures included.
    public static let context = "AG2 proof v2"
    public static let signatureLength = 64

    /// The credential's COSE_Sign1 bytes.
    public var credential: [UInt8]
    /// The proof's time (UNIX seconds), as the device's clock read it.
    public var time: UInt64
    /// The device's signature, raw r ‖ s.
    public var signature: [UInt8]

    public init(credential: [UInt8], time: UInt64, signature: [UInt8]) {
        self.credential = credential
        self.time = time
        self.signature = signature
    }

    /// The bytes the device signs: CBOR `["AG2 proof v2", SHA-256(credential), time]`.
    public static func toBeSigned(credential: [UInt8], time: UInt64) -> [UInt8] {
        toBeSigned(digest: Array(SHA256.hash(data: credential)), time: time)
    }

    private static func toBeSigned(digest: [UInt8], time: UInt64) -> [UInt8] {
        CBOREncoder.encode(.array([.text(context), .bytes(digest), .unsigned(time)]))
    }

    /// Makes the pass for `credential` at `now` (truncated to whole seconds; 0 before 1970).
    public static func make(credential: [UInt8], key: P256.Signing.PrivateKey, now: Double) -> CompactHolderBoundPass {
        let time = UInt64(max(0, now.rounded(.down)))
        let message = toBeSigned(credential: credential, time: time)
        let signature: P256.Signing.ECDSASignature
        do { signature = try key.signature(for: message) } catch { preconditionFailure("P-256 signing failed: \(error)") }
        return CompactHolderBoundPass(credential: credential, time: time, signature: Array(signature.rawRepresentation))
    }

    /// Checks the signature under the credential's `cnf` key. Every failure is
    /// ``AccessTokenError/proofInvalid(_:)``. The time is the gateway's to judge (``HolderProof``).
    public func verify(holderKey: P256.Signing.PublicKey) throws(AccessTokenError) -> HolderProof {
        // The credential is hashed once, for the signed bytes and for the proof's digest.
        let digest = Array(SHA256.hash(data: credential))
        let message = Self.toBeSigned(digest: digest, time: time)
        guard let parsed = try? P256.Signing.ECDSASignature(rawRepresentation: signature),
            holderKey.isValidSignature(parsed, for: message)
        else { throw .proofInvalid("the signature does not verify under the credential's cnf key") }
        return HolderProof(issuedAt: Double(time), credentialDigest: Array(digest.prefix(HolderProof.digestLength)))
    }

    /// The QR text.
    public var text: String {
        HolderBoundPass.prefix
            + Base45.encode(CBOREncoder.encode(.array([.bytes(credential), .unsigned(time), .bytes(signature)])))
    }
}
