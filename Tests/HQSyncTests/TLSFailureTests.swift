import AsyncHTTPClient
@testable import HQSync
import NIOSSL
import Testing

/// A transport failure is a TLS fault or a lost connection by the error's type, never its text.
@Suite struct TLSFailureTests {
    struct NamedLikeTLS: Error, CustomStringConvertible {
        var description: String { "TLS handshake certificate ssl" }
    }

    static let cases: [(String, any Error & Sendable, Bool)] = [
        ("a failed handshake", NIOSSLError.handshakeFailed(.sslError([])), true),
        ("a name that does not match", NIOSSLExtraError.failedToValidateHostname, true),
        ("a handshake that timed out", HTTPClientError.tlsHandshakeTimeout, true),
        ("a TLS link cut without its close", NIOSSLError.uncleanShutdown, false),
        ("a refused connection", HTTPClientError.connectTimeout, false),
        ("an error whose text only says TLS", NamedLikeTLS(), false),
    ]

    @Test(arguments: cases)
    func isATLSFailureByItsType(what: String, error: any Error & Sendable, tls: Bool) {
        #expect(HQClient.isTLSFailure(error) == tls, "\(what)")
    }
}
