import AccessToken
import Crypto
import Foundation
import Glibc

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
    public var thumbprint: String { Self.thumbprint(of: publicJWK) }

    /// The thumbprint in groups of four, as the installer reads it out to the HQ admin.
    public var fingerprint: String { Self.fingerprint(of: publicJWK) }

    /// A public key's fingerprint in groups of four: the device's, or HQ's root key, which the
    /// installer compares with what HQ's admin reads from HQ.
    public static func fingerprint(of jwk: [String: String]) -> String {
        let hex = Array(SHA256.hash(data: Data(canonicalJWK(jwk).utf8))).prefix(10).hexString
        return stride(from: 0, to: hex.count, by: 4).map { start in
            let from = hex.index(hex.startIndex, offsetBy: start)
            return String(hex[from..<hex.index(from, offsetBy: 4)])
        }.joined(separator: " ")
    }

    static func canonicalJWK(_ jwk: [String: String]) -> String {
        // RFC 7638's required members: an OKP key (Ed25519) has no y.
        if jwk["kty"] == "OKP" { return "{\"crv\":\"\(jwk["crv"] ?? "")\",\"kty\":\"OKP\",\"x\":\"\(jwk["x"] ?? "")\"}" }
        return "{\"crv\":\"\(jwk["crv"] ?? "")\",\"kty\":\"\(jwk["kty"] ?? "")\",\"x\":\"\(jwk["x"] ?? "")\",\"y\":\"\(jwk["y"] ?? "")\"}"
    }

    /// RFC 7638: SHA-256 over the required members in lexical order, base64url.
    public static func thumbprint(of jwk: [String: String]) -> String {
        Base64URL.encode(Array(SHA256.hash(data: Data(canonicalJWK(jwk).utf8))))
    }

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

/// A device token, checked by HQ against the public key it holds for the token's subject.
public struct DeviceTokenClaims: Sendable, Equatable {
    public var subject: String
    public var audience: String
    public var issuedAt: Double
    public var expiresAt: Double
    public var kid: String

    /// Reads a token without checking it: HQ needs `sub` to find the key.
    public static func peek(_ token: String) throws(HQSyncError) -> DeviceTokenClaims {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let head = Base64URL.decode(String(parts[0])),
            let body = Base64URL.decode(String(parts[1])),
            let header = try? JSONSerialization.jsonObject(with: Data(head)) as? [String: Any],
            let claims = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
        else { throw .unauthorised("the device token is not a compact JWS") }
        guard header["alg"] as? String == "ES256" else { throw .unauthorised("the device token is not ES256") }
        guard let sub = claims["sub"] as? String, let aud = claims["aud"] as? String,
            let iat = (claims["iat"] as? NSNumber)?.doubleValue, let exp = (claims["exp"] as? NSNumber)?.doubleValue
        else { throw .unauthorised("the device token lacks sub, aud, iat or exp") }
        return DeviceTokenClaims(
            subject: sub,
            audience: aud,
            issuedAt: iat,
            expiresAt: exp,
            kid: header["kid"] as? String ?? ""
        )
    }

    /// Verifies `token` with `publicJWK` for `audience` at `now`: signature, audience, lifetime at
    /// most an hour, and not expired or from the future beyond `skew`.
    public static func verify(
        _ token: String,
        publicJWK: [String: String],
        audience: String,
        now: Double,
        skew: Double = 120
    ) throws(HQSyncError) -> DeviceTokenClaims {
        let claims = try peek(token)
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard let x = publicJWK["x"].flatMap(Base64URL.decode), let y = publicJWK["y"].flatMap(Base64URL.decode),
            let key = try? P256.Signing.PublicKey(rawRepresentation: x + y),
            let raw = Base64URL.decode(String(parts[2])),
            let signature = try? P256.Signing.ECDSASignature(rawRepresentation: raw),
            key.isValidSignature(signature, for: Data("\(parts[0]).\(parts[1])".utf8))
        else { throw .unauthorised("the device token's signature does not verify") }
        guard claims.audience == audience else { throw .unauthorised("the device token is for \(claims.audience)") }
        guard claims.expiresAt - claims.issuedAt <= 3600 else {
            throw .unauthorised("the device token lives over an hour")
        }
        guard now <= claims.expiresAt + skew, claims.issuedAt <= now + skew else {
            throw .unauthorised("the device token is expired or from the future")
        }
        return claims
    }
}
