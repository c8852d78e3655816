import AccessToken
import Crypto
import Foundation
import Glibc
import HQProtocol

/// The gateway's own P-256 key: made on the device at enrolment, kept in a file only the service
/// user can read, and never sent anywhere. HQ knows its public half; every request carries a
/// short-lived ES256 token signed with it (as Google Cloud IoT Core devices authenticated), so no
/// shared secret exists to steal from HQ or from the board.
public struct DeviceIdentity: Sendable {
    let key: P256.Signing.PrivateKey

    init(key: P256.Signing.PrivateKey) {
        self.key = key
    }

    /// Loads the key at `path`, or makes one there (mode 0600, created exclusively) when `create`.
    public static func load(path: String, create: Bool) throws(HQSyncError) -> DeviceIdentity {
        if let data = FileManager.default.contents(atPath: path) {
            var status = stat()
            // A key others can read is a key others may have copied: refuse it, say how to fix it.
            if stat(path, &status) == 0, status.st_mode & 0o077 != 0 {
                throw .deviceKey(
                    "\(path) is readable by others (mode \(String(status.st_mode & 0o777, radix: 8))); chmod 600 it"
                )
            }
            do {
                return DeviceIdentity(
                    key: try P256.Signing.PrivateKey(pemRepresentation: String(decoding: data, as: UTF8.self))
                )
            } catch {
                throw .deviceKey("\(path) is not a P-256 private key in PEM: \(error)")
            }
        }
        guard create else { throw .deviceKey("no device key at \(path): run 'gatewayctl provision'") }
        let identity = DeviceIdentity(key: P256.Signing.PrivateKey())
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .deviceKey("cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let pem = Array((identity.key.pemRepresentation + "\n").utf8)
        guard write(fd, pem, pem.count) == pem.count, fsync(fd) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(path)
            throw .deviceKey("cannot write \(path): \(why)")
        }
        return identity
    }

    /// The public key as a JWK, as enrolment sends it.
    public var publicJWK: [String: String] {
        let point = Array(key.publicKey.x963Representation)
        return [
            "kty": "EC", "crv": "P-256",
            "x": Base64URL.encode(Array(point[1..<33])), "y": Base64URL.encode(Array(point[33..<65])),
        ]
    }

    /// The RFC 7638 thumbprint of the public JWK, base64url: the key's name everywhere.
    public var thumbprint: String { DeviceKey.thumbprint(of: publicJWK) }

    /// The thumbprint in groups of four, as the installer reads it out to the HQ admin.
    public var fingerprint: String { DeviceKey.fingerprint(of: publicJWK) }

    /// A device token: a compact ES256 JWT for `audience`, valid for `lifetime` seconds from `now`.
    /// `subject` is the gateway id, or the key's thumbprint before enrolment.
    public func token(
        subject: String,
        audience: String,
        now: Double,
        lifetime: Double = 600
    ) throws(HQSyncError) -> String {
        let header: [String: Any] = ["alg": "ES256", "typ": "JWT", "kid": thumbprint]
        let claims: [String: Any] = [
            "sub": subject, "aud": audience, "iat": Int(now), "exp": Int(now + lifetime),
            "jti": UUID().uuidString.lowercased(),
        ]
        do {
            let head = Base64URL.encode(Array(try JSONSerialization.data(withJSONObject: header, options: .sortedKeys)))
            let body = Base64URL.encode(Array(try JSONSerialization.data(withJSONObject: claims, options: .sortedKeys)))
            let signature = try key.signature(for: Data("\(head).\(body)".utf8))
            return "\(head).\(body).\(Base64URL.encode(Array(signature.rawRepresentation)))"
        } catch {
            throw .deviceKey("cannot sign a device token: \(error)")
        }
    }
}
