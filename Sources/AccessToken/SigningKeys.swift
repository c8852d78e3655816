import Crypto

/// A public key that can verify COSE signatures.
public enum VerificationKey: Sendable {
    case p256(P256.Signing.PublicKey)
    case p384(P384.Signing.PublicKey)
    case p521(P521.Signing.PublicKey)
    case ed25519(Curve25519.Signing.PublicKey)

    /// Loads an EC public key from its affine coordinates.
    public init(curve: String, x: [UInt8], y: [UInt8]) throws(AccessTokenError) {
        let point = [0x04] + x + y
        do {
            switch (curve, x.count, y.count) {
            case ("P-256", 32, 32): self = .p256(try P256.Signing.PublicKey(x963Representation: point))
            case ("P-384", 48, 48): self = .p384(try P384.Signing.PublicKey(x963Representation: point))
            case ("P-521", 66, 66): self = .p521(try P521.Signing.PublicKey(x963Representation: point))
            case ("P-256", _, _), ("P-384", _, _), ("P-521", _, _):
                throw AccessTokenError.keyMismatch("\(curve) coordinates of \(x.count) and \(y.count) bytes")
            default: throw AccessTokenError.keyMismatch("unsupported EC curve \(curve)")
            }
        } catch let error as AccessTokenError {
            throw error
        } catch {
            throw .keyMismatch("the \(curve) point is not on the curve")
        }
    }

    /// Loads an OKP public key (RFC 8037). Only Ed25519 is supported.
    public init(okpCurve curve: String, x: [UInt8]) throws(AccessTokenError) {
        guard curve == "Ed25519" else { throw .keyMismatch("unsupported OKP curve \(curve)") }
        do {
            self = .ed25519(try Curve25519.Signing.PublicKey(rawRepresentation: x))
        } catch {
            throw .keyMismatch("an Ed25519 key is 32 bytes, not \(x.count)")
        }
    }

    /// Whether `alg` may be used with this key. ECDSA algorithms are bound to their curve
    /// (ES256/P-256, ES384/P-384, ES512/P-521), as JOSE and RFC 9053's guidance require.
    public func fits(_ alg: COSEAlgorithm) -> Bool {
        switch (self, alg) {
        case (.p256, .es256), (.p384, .es384), (.p521, .es512), (.ed25519, .edDSA), (.ed25519, .ed25519): return true
        default: return false
        }
    }

    public var curveName: String {
        switch self {
        case .p256: return "P-256"
        case .p384: return "P-384"
        case .p521: return "P-521"
        case .ed25519: return "Ed25519"
        }
    }

    /// Verifies `signature` over `message` with `alg`; the key must fit `alg`.
    /// ECDSA signatures are the raw `r || s` form that COSE uses; high-S values are valid.
    public func verify(_ signature: [UInt8], over message: [UInt8], alg: COSEAlgorithm) throws(AccessTokenError) {
        guard fits(alg) else { throw .keyMismatch("\(alg.name) with a \(curveName) key") }
        let valid: Bool
        switch self {
        case .p256(let key):
            guard let sig = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { throw .badSignature }
            valid = key.isValidSignature(sig, for: SHA256.hash(data: message))
        case .p384(let key):
            guard let sig = try? P384.Signing.ECDSASignature(rawRepresentation: signature) else { throw .badSignature }
            valid = key.isValidSignature(sig, for: SHA384.hash(data: message))
        case .p521(let key):
            guard let sig = try? P521.Signing.ECDSASignature(rawRepresentation: signature) else { throw .badSignature }
            valid = key.isValidSignature(sig, for: SHA512.hash(data: message))
        case .ed25519(let key):
            valid = signature.count == 64 && key.isValidSignature(signature, for: message)
        }
        guard valid else { throw .badSignature }
    }
}

/// A private key that signs COSE messages: ES256 on P-256, or EdDSA on Ed25519.
public enum SigningKey: Sendable {
    case p256(P256.Signing.PrivateKey)
    case ed25519(Curve25519.Signing.PrivateKey)

    public var defaultAlgorithm: COSEAlgorithm {
        switch self {
        case .p256: return .es256
        case .ed25519: return .edDSA
        }
    }

    public var publicKey: VerificationKey {
        switch self {
        case .p256(let k): return .p256(k.publicKey)
        case .ed25519(let k): return .ed25519(k.publicKey)
        }
    }

    /// Signs `message`; ECDSA signatures come out as raw `r || s`.
    public func sign(_ message: [UInt8]) throws(AccessTokenError) -> [UInt8] {
        do {
            switch self {
            case .p256(let k): return Array(try k.signature(for: message).rawRepresentation)
            case .ed25519(let k): return Array(try k.signature(for: message))
            }
        } catch {
            throw .malformed("signing failed: \(error)")
        }
    }
}

extension COSESign1 {
    /// Signs the message in place with `key`, binding `externalAAD`.
    public mutating func sign(with key: SigningKey, externalAAD: [UInt8] = []) throws(AccessTokenError) {
        signature = try key.sign(try toBeSigned(externalAAD: externalAAD))
    }

    /// Verifies the signature with `key` (RFC 9052 §4.4).
    ///
    /// The generic layer takes `alg` from either header bucket; profiles that insist on the
    /// protected one check it themselves first.
    @discardableResult
    public func verify(with key: VerificationKey, externalAAD: [UInt8] = []) throws(AccessTokenError) -> COSEAlgorithm {
        try checkCritical()
        let alg = try algorithm(protectedOnly: false)
        try key.verify(signature, over: try toBeSigned(externalAAD: externalAAD), alg: alg)
        return alg
    }
}
