/// Why a document HQ and the gateway exchange was refused. The gateway's modules carry it on in
/// their own errors; the reference HQ answers with it.
public enum HQProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The snapshot, delta, manifest or chunk is invalid; the text names the field.
    case badSnapshot(String)
    /// A signed document or command failed its checks; never applied.
    case refused(String)
    /// A device token failed its checks: form, signature, audience or lifetime.
    case unauthorised(String)
    /// HQ's root key (a public JWK) is not a usable EC P-256 or Ed25519 key.
    case badRootKey(String)

    public var description: String {
        switch self {
        case .badSnapshot(let why): return "invalid snapshot: \(why)"
        case .refused(let why): return "refused: \(why)"
        case .unauthorised(let why): return "device token refused: \(why)"
        case .badRootKey(let why): return why
        }
    }
}
