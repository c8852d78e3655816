import Crypto

/// COSE signature algorithms this package can verify (RFC 9053, RFC 9864).
public enum COSEAlgorithm: Int64, Sendable, CaseIterable {
    case es256 = -7
    case es384 = -35
    case es512 = -36
    /// EdDSA; only the Ed25519 curve is supported.
    case edDSA = -8
    /// The fully specified Ed25519 algorithm (RFC 9864).
    case ed25519 = -19

    /// The JOSE name of the algorithm.
    public var name: String {
        switch self {
        case .es256: return "ES256"
        case .es384: return "ES384"
        case .es512: return "ES512"
        case .edDSA: return "EdDSA"
        case .ed25519: return "Ed25519"
        }
    }
}

/// COSE header labels used here (RFC 9052 §3.1).
public enum COSEHeader {
    public static let alg: Int64 = 1
    public static let crit: Int64 = 2
    public static let contentType: Int64 = 3
    public static let kid: Int64 = 4
}

/// CBOR tags of COSE and CWT messages.
public enum COSETag {
    public static let sign1: UInt64 = 18
    public static let cwt: UInt64 = 61
    static let others: [UInt64: String] = [
        16: "COSE_Encrypt0", 17: "COSE_Mac0", 96: "COSE_Encrypt", 97: "COSE_Mac", 98: "COSE_Sign",
    ]
}

/// A parsed COSE_Sign1 message (RFC 9052 §4.2). Parsing checks structure only; see ``COSEVerifier``.
public struct COSESign1: Sendable, Equatable {
    /// The protected header exactly as encoded, since the signature covers these bytes.
    public var protectedBytes: [UInt8]
    public var protected: [CBORMapEntry]
    public var unprotected: [CBORMapEntry]
    /// Nil when the payload is detached.
    public var payload: [UInt8]?
    public var signature: [UInt8]
    /// The tags that wrapped the message, outermost first.
    public var tags: [UInt64]

    /// Parses a COSE_Sign1, tagged (18), untagged, or wrapped in the CWT tag (61).
    public init(cbor bytes: [UInt8], decoder: CBORDecoder = CBORDecoder()) throws(AccessTokenError) {
        let item: CBORValue
        do { item = try decoder.decode(bytes) } catch { throw .cbor(error) }
        try self.init(item: item)
    }

    public init(item: CBORValue) throws(AccessTokenError) {
        var value = item
        var tags: [UInt64] = []
        while case .tagged(let tag, let inner) = value {
            if let kind = COSETag.others[tag] { throw .notSign1(kind) }
            // Only 61(18(…)), 61(…) and 18(…) are Sign1 wrappings.
            let allowed = tag == COSETag.cwt ? tags.isEmpty : tag == COSETag.sign1 && !tags.contains(COSETag.sign1)
            guard allowed else { throw .unexpectedTag(tag) }
            tags.append(tag)
            value = inner
        }
        guard case .array(let parts) = value else { throw .malformed("not an array") }
        guard parts.count == 4 else {
            // A five-element array with a recipients list is the multi-signer or MAC/encrypt form.
            throw parts.count == 5 ? .notSign1("a five-element COSE message") : .malformed("array of \(parts.count)")
        }
        guard case .bytes(let protectedBytes) = parts[0] else { throw .malformed("protected header is not a bstr") }
        var protected: [CBORMapEntry] = []
        if !protectedBytes.isEmpty {
            do {
                guard case .map(let m) = try CBORDecoder().decode(protectedBytes) else {
                    throw AccessTokenError.malformed("protected header is not a map")
                }
                protected = m
            } catch let error as AccessTokenError {
                throw error
            } catch let error as CBORError {
                throw .cbor(error)
            } catch {
                throw .malformed("protected header")
            }
        }
        guard case .map(let unprotected) = parts[1] else { throw .malformed("unprotected header is not a map") }
        let payload: [UInt8]?
        switch parts[2] {
        case .bytes(let b): payload = b
        case .null: payload = nil
        default: throw .malformed("payload is neither bstr nor nil")
        }
        guard case .bytes(let signature) = parts[3] else { throw .malformed("signature is not a bstr") }
        self.protectedBytes = protectedBytes
        self.protected = protected
        self.unprotected = unprotected
        self.payload = payload
        self.signature = signature
        self.tags = tags
    }

    /// Builds a message to be signed.
    public init(protected: [CBORMapEntry], unprotected: [CBORMapEntry], payload: [UInt8]) {
        self.protected = protected
        self.protectedBytes = protected.isEmpty ? [] : CBOREncoder.encode(.map(protected))
        self.unprotected = unprotected
        self.payload = payload
        self.signature = []
        self.tags = [COSETag.sign1]
    }

    /// A header parameter, looked up in the protected bucket first.
    public func header(_ label: Int64) -> CBORValue? {
        protected[label: label] ?? unprotected[label: label]
    }

    /// The key id: protected header first, else unprotected.
    public var kid: [UInt8]? { header(COSEHeader.kid)?.bytesValue }

    /// The Sig_structure bytes that the signature covers (RFC 9052 §4.4).
    public func toBeSigned(externalAAD: [UInt8] = []) throws(AccessTokenError) -> [UInt8] {
        guard let payload else { throw .detachedPayload }
        // An empty protected map is signed as a zero-length bstr (RFC 9052 §3), however it was sent;
        // the working group's sign-pass-01 vector requires this.
        let bodyProtected = protected.isEmpty ? [] : protectedBytes
        return CBOREncoder.encode(
            .array([.text("Signature1"), .bytes(bodyProtected), .bytes(externalAAD), .bytes(payload)])
        )
    }

    /// The encoded message, with its tags.
    public func encoded() -> [UInt8] {
        var item = CBORValue.array([
            .bytes(protectedBytes), .map(unprotected), payload.map { .bytes($0) } ?? .null, .bytes(signature),
        ])
        for tag in tags.reversed() { item = .tagged(tag, item) }
        return CBOREncoder.encode(item)
    }

    /// Checks `crit` (RFC 9052 §3.1): it must be protected, non-empty, and name only `understood` labels.
    public func checkCritical(
        understood: Set<Int64> = [COSEHeader.alg, COSEHeader.contentType, COSEHeader.kid]
    ) throws(AccessTokenError) {
        if unprotected[label: COSEHeader.crit] != nil { throw .malformed("crit must be protected") }
        guard let crit = protected[label: COSEHeader.crit] else { return }
        guard case .array(let labels) = crit, !labels.isEmpty else { throw .malformed("crit is not a non-empty array") }
        for label in labels {
            guard let n = label.intValue, understood.contains(n) else { throw .unknownCritical("\(label)") }
            guard protected[cbor: label] != nil else { throw .malformed("crit names \(label), which is absent") }
        }
    }

    /// The algorithm named in `bucket` headers, or thrown as unsupported.
    public func algorithm(protectedOnly: Bool) throws(AccessTokenError) -> COSEAlgorithm {
        guard let value = protectedOnly ? protected[label: COSEHeader.alg] : header(COSEHeader.alg) else {
            throw .missingAlgorithm
        }
        guard let n = value.intValue, let alg = COSEAlgorithm(rawValue: n) else {
            throw .unsupportedAlgorithm("\(value)")
        }
        return alg
    }
}
