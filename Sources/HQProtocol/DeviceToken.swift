import AccessToken
import Crypto
import Foundation

/// A device's public key as HQ and the installer name it.
public enum DeviceKey {
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
}

/// A device token, checked by HQ against the public key it holds for the token's subject.
public struct DeviceTokenClaims: Sendable, Equatable {
    public var subject: String
    public var audience: String
    public var issuedAt: Double
    public var expiresAt: Double
    public var kid: String

    /// Reads a token without checking it: HQ needs `sub` to find the key.
    public static func peek(_ token: String) throws(HQProtocolError) -> DeviceTokenClaims {
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
    ) throws(HQProtocolError) -> DeviceTokenClaims {
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
