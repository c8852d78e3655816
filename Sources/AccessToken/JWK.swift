import Crypto
import Foundation

/// The members of a JWK (RFC 7517) that this package reads.
struct JWKMembers: Decodable {
    var kty: String?
    var crv: String?
    var x: String?
    var y: String?
    var d: String?
    var kid: String?
    var alg: String?
    var use: String?
    var nbf: Double?
    var exp: Double?
}

/// A JWKS whose entries are decoded one by one, so that one bad key cannot hide the others.
private struct JWKSMembers: Decodable {
    var keys: [Result<JWKMembers, AccessTokenError>]

    private struct Entry: Decodable {
        var result: Result<JWKMembers, AccessTokenError>

        init(from decoder: Decoder) throws {
            do { result = .success(try JWKMembers(from: decoder)) } catch {
                result = .failure(.badMember("keys[\(decoder.codingPath.last?.intValue ?? -1)]", "\(error)"))
            }
        }
    }

    enum CodingKeys: String, CodingKey { case keys }

    init(from decoder: Decoder) throws {
        keys = try decoder.container(keyedBy: CodingKeys.self).decode([Entry].self, forKey: .keys).map(\.result)
    }
}

/// One entry of a pass key set: a public key, its id, and what it may sign.
public struct PassKey: Sendable {
    public var kid: String
    /// Nil when the JWK holds a key type or curve that this gateway cannot use.
    public var key: VerificationKey?
    /// The JWK `alg`, when present; it restricts the algorithms the key accepts.
    public var jwkAlg: String?
    /// Bounds on the `iat` of the passes this key may sign (NumericDate).
    public var notBefore: Double?
    public var notAfter: Double?

    /// Whether a pass signed with `alg` may be checked with this key.
    public func accepts(_ alg: COSEAlgorithm) -> Bool {
        guard let key, key.fits(alg) else { return false }
        guard let jwkAlg else { return true }
        switch jwkAlg {
        case "EdDSA", "Ed25519": return alg == .edDSA || alg == .ed25519
        default: return jwkAlg == alg.name
        }
    }

    /// Whether a pass issued at `iat` falls inside this key's validity window.
    public func covers(issuedAt iat: Double?) -> Bool {
        if notBefore == nil && notAfter == nil { return true }
        guard let iat else { return false }
        if let notBefore, iat < notBefore { return false }
        if let notAfter, iat >= notAfter { return false }
        return true
    }
}

/// A set of pass-signing public keys, loaded from a JWKS (RFC 7517 §5).
///
/// Keys of types this gateway cannot use are kept without key material, so that a pass naming them
/// is refused as `unsupported_alg` rather than `unknown_key`. Keys whose material is invalid are
/// listed in ``rejected`` and never match.
public struct PassKeySet: Sendable {
    public var keys: [PassKey]
    /// Keys that were present but unusable, with the reason, for diagnostics.
    public var rejected: [(kid: String?, reason: AccessTokenError)]

    public init(keys: [PassKey] = []) {
        self.keys = keys
        self.rejected = []
    }

    /// Parses a JWKS document. Only a document that is not a JWKS at all throws.
    public init(jwks data: Data) throws(AccessTokenError) {
        let document: JWKSMembers
        do {
            document = try JSONDecoder().decode(JWKSMembers.self, from: data)
        } catch {
            throw .notJSON("expected {\"keys\":[…]}: \(error)")
        }
        self.init()
        for entry in document.keys {
            switch entry {
            case .success(let members):
                do { keys.append(try PassKey(members: members)) } catch { rejected.append((members.kid, error)) }
            case .failure(let error):
                rejected.append((nil, error))
            }
        }
    }

    /// The keys whose `kid` equals `kid`.
    public func keys(withID kid: String) -> [PassKey] {
        // Byte-wise, as JOSE compares kids; Swift's == would equate Unicode-equivalent strings.
        keys.filter { $0.kid.utf8.elementsEqual(kid.utf8) }
    }
}

extension PassKey {
    init(members m: JWKMembers) throws(AccessTokenError) {
        guard let kid = m.kid else { throw .missingMember("kid") }
        guard let kty = m.kty else { throw .missingMember("kty") }
        if let use = m.use, use != "sig" { throw .unsupportedKey("\"use\":\"\(use)\" is not a signing key") }
        self.kid = kid
        self.jwkAlg = m.alg
        self.notBefore = m.nbf
        self.notAfter = m.exp
        switch (kty, m.crv) {
        case ("EC", "P-256"?), ("EC", "P-384"?), ("EC", "P-521"?):
            let x = try base64URLMember(m.x, "x")
            let y = try base64URLMember(m.y, "y")
            do { key = try VerificationKey(curve: m.crv!, x: x, y: y) } catch {
                throw .badMember("x/y", error.description)
            }
        case ("OKP", "Ed25519"?):
            let x = try base64URLMember(m.x, "x")
            do { key = try VerificationKey(okpCurve: "Ed25519", x: x) } catch {
                throw .badMember("x", error.description)
            }
        default:
            // A key we cannot use still occupies its kid: passes naming it are unsupported_alg.
            key = nil
        }
    }
}

private func base64URLMember(_ value: String?, _ name: String) throws(AccessTokenError) -> [UInt8] {
    guard let value else { throw .missingMember(name) }
    guard let bytes = Base64URL.decode(value) else { throw .badMember(name, "not base64url") }
    return bytes
}

extension SigningKey {
    /// Loads a private JWK: EC P-256 (`d`, `x`, `y`) or OKP Ed25519 (`d`, `x`).
    /// Returns the key and the JWK's `kid`.
    public static func fromJWK(_ data: Data) throws(AccessTokenError) -> (key: SigningKey, kid: String) {
        let m: JWKMembers
        do { m = try JSONDecoder().decode(JWKMembers.self, from: data) } catch {
            throw .notJSON("\(error)")
        }
        guard let kid = m.kid else { throw .missingMember("kid") }
        let d = try base64URLMember(m.d, "d")
        switch (m.kty, m.crv) {
        case ("EC"?, "P-256"?):
            guard let key = try? P256.Signing.PrivateKey(rawRepresentation: d) else {
                throw .badMember("d", "not a P-256 private scalar")
            }
            return (.p256(key), kid)
        case ("OKP"?, "Ed25519"?):
            guard let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: d) else {
                throw .badMember("d", "not a 32-byte Ed25519 seed")
            }
            return (.ed25519(key), kid)
        default:
            throw .unsupportedKey("signing needs kty EC with crv P-256, or kty OKP with crv Ed25519")
        }
    }

    /// Generates a fresh key of `kind` ("ES256" or "EdDSA").
    public static func generate(_ alg: COSEAlgorithm) -> SigningKey {
        alg == .es256 ? .p256(P256.Signing.PrivateKey()) : .ed25519(Curve25519.Signing.PrivateKey())
    }

    /// The private JWK, as a JSON object with the given `kid`.
    public func privateJWK(kid: String) -> [String: String] {
        var jwk = publicJWK(kid: kid)
        switch self {
        case .p256(let k): jwk["d"] = Base64URL.encode(Array(k.rawRepresentation))
        case .ed25519(let k): jwk["d"] = Base64URL.encode(Array(k.rawRepresentation))
        }
        return jwk
    }

    /// The public JWK, as a JSON object with the given `kid`.
    public func publicJWK(kid: String) -> [String: String] {
        switch self {
        case .p256(let k):
            let point = Array(k.publicKey.x963Representation)
            return [
                "kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256",
                "x": Base64URL.encode(Array(point[1..<33])), "y": Base64URL.encode(Array(point[33..<65])),
            ]
        case .ed25519(let k):
            return [
                "kty": "OKP", "crv": "Ed25519", "kid": kid, "alg": "EdDSA",
                "x": Base64URL.encode(Array(k.publicKey.rawRepresentation)),
            ]
        }
    }
}

/// Unpadded base64url (RFC 4648 §5), as JOSE uses it.
public enum Base64URL {
    public static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Decodes unpadded (or correctly padded) base64url; nil on any other character.
    public static func decode(_ text: String) -> [UInt8]? {
        var s = text
        while s.hasSuffix("=") { s.removeLast() }
        guard s.utf8.allSatisfy({ $0.isBase64URL }), s.utf8.count % 4 != 1 else { return nil }
        s = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        s += String(repeating: "=", count: (4 - s.utf8.count % 4) % 4)
        return Data(base64Encoded: s).map { Array($0) }
    }
}

extension UInt8 {
    fileprivate var isBase64URL: Bool {
        (0x41...0x5A).contains(self) || (0x61...0x7A).contains(self) || (0x30...0x39).contains(self)
            || self == 0x2D || self == 0x5F
    }
}
