import HQProtocol

/// Errors from talking to HQ, each with what an installer or operator can do about it.
public enum HQSyncError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The device key file is missing, unreadable, exposed or malformed.
    case deviceKey(String)
    /// HQ cannot be reached: DNS, connection, timeout. Retried with backoff.
    case unreachable(String)
    /// TLS failed: certificate, name or protocol. Check the HQ URL and the board's CA store.
    case tls(String)
    /// HQ refused the device: a bad or expired token.
    case unauthorised(String)
    /// HQ revoked this gateway's key (403 with the error code `revoked`): provision it again.
    case revoked(String)
    /// HQ refused the enrolment code: unknown, used or expired.
    case badCode(String)
    /// HQ answered something this gateway will not accept: bad status, body, signature or seq.
    case badResponse(String)
    /// A signed document or command failed its checks; never applied.
    case refused(String)
    /// The gateway is not enrolled yet.
    case notEnrolled
    /// A URL that is not HTTPS, except plain HTTP to a loopback address.
    case insecureURL(String)
    /// The local store failed.
    case store(String)
    /// HQ answered with a redirect; HQ requests never follow one (a redirect could lead off HTTPS
    /// or to another host). The text names the status and where it pointed.
    case redirected(String)
    /// Something HQ sent is larger than this gateway accepts (``TransferLimits``): which limit, its
    /// value, and the size that came.
    /// `came` is nil when the size is only known to pass the limit (a body or an inflate cut off there).
    case limitExceeded(limit: String, max: Int, came: Int?)

    public var description: String {
        switch self {
        case .deviceKey(let why): return "device key: \(why)"
        case .unreachable(let why): return "HQ unreachable: \(why)"
        case .tls(let why): return "TLS: \(why)"
        case .unauthorised(let why): return "HQ refused this gateway: \(why)"
        case .revoked(let why): return "HQ refused this gateway: HQ revoked this gateway's key: \(why)"
        case .badCode(let why): return "enrolment code refused: \(why)"
        case .badResponse(let why): return "bad answer from HQ: \(why)"
        case .refused(let why): return "refused: \(why)"
        case .notEnrolled: return "this gateway is not enrolled: run 'gatewayctl provision --hq URL --code CODE'"
        case .insecureURL(let url): return "\(url) is not HTTPS (plain HTTP is allowed to loopback only)"
        case .store(let why): return "store: \(why)"
        case .redirected(let why):
            return "HQ answered with a redirect (\(why)); refused: HQ requests never follow redirects. "
                + "Give the gateway HQ's final HTTPS URL"
        case .limitExceeded(let limit, let max, let came):
            let size = came.map { "HQ sent \($0)" } ?? "HQ sent more"
            return "transfer limit \(limit) is \(max), \(size): \(TransferLimits.advice(limit))"
        }
    }
}

extension HQSyncError {
    /// A document's or command's refusal in HQSync's words: a bad root key is a bad answer from
    /// HQ; anything else in a document is refused, never applied.
    public init(_ error: HQProtocolError) {
        switch error {
        case .refused(let why): self = .refused(why)
        case .unauthorised(let why): self = .unauthorised(why)
        case .badRootKey(let why): self = .badResponse(why)
        case .badSnapshot: self = .refused(error.description)
        }
    }

    /// Runs one protocol step (open, parse, check) and reports its refusal as ``init(_:)`` does.
    static func checking<T>(_ step: () throws(HQProtocolError) -> T) throws(HQSyncError) -> T {
        do { return try step() } catch { throw HQSyncError(error) }
    }
}
