/// Why a pass's Base45 text, a COSE message, a key or a key document was refused. CBOR-level detail is in ``CBORError``.
public enum AccessTokenError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The text is not strict Base45 (RFC 9285).
    case base45(String)
    /// The bytes are not acceptable CBOR.
    case cbor(CBORError)
    /// The item is another COSE message type (MAC0, Encrypt0, multi-signer Sign, …).
    case notSign1(String)
    case unexpectedTag(UInt64)
    case malformed(String)
    /// The CWT claims are missing a required claim, or hold one of the wrong type.
    case badClaims(String)
    /// The critical header names a parameter this implementation does not understand.
    case unknownCritical(String)
    case missingAlgorithm
    case unsupportedAlgorithm(String)
    /// The key's type or curve does not fit the algorithm.
    case keyMismatch(String)
    case detachedPayload
    case badSignature
    /// The key document is not JSON of the expected shape.
    case notJSON(String)
    /// A required JWK member is absent.
    case missingMember(String)
    /// A JWK member holds an unusable value.
    case badMember(String, String)
    /// The JWK is of a type or use this gateway cannot sign or verify with.
    case unsupportedKey(String)
    /// An AG2 holder proof is refused: the decision reason is `proof_invalid`.
    case proofInvalid(String)

    public var description: String {
        switch self {
        case .base45(let why): return "invalid Base45: \(why)"
        case .cbor(let e): return "not valid CBOR: \(e)"
        case .notSign1(let kind): return "\(kind) is not a COSE_Sign1 message"
        case .unexpectedTag(let t): return "unexpected CBOR tag \(t)"
        case .malformed(let why): return "malformed COSE_Sign1: \(why)"
        case .badClaims(let why): return "invalid CWT claims: \(why)"
        case .unknownCritical(let p): return "critical header parameter \(p) is not understood"
        case .missingAlgorithm: return "no alg header parameter"
        case .unsupportedAlgorithm(let a): return "unsupported algorithm \(a)"
        case .keyMismatch(let why): return "key does not fit the algorithm: \(why)"
        case .detachedPayload: return "the payload is detached"
        case .badSignature: return "the signature does not verify"
        case .notJSON(let why): return "not a JSON key document: \(why)"
        case .missingMember(let m): return "JWK member \"\(m)\" is missing"
        case .badMember(let m, let why): return "JWK member \"\(m)\" is invalid: \(why)"
        case .unsupportedKey(let why): return "unsupported key: \(why)"
        case .proofInvalid(let why): return "invalid holder proof: \(why)"
        }
    }
}
