import AccessToken
import Foundation

/// HQ's signed documents, snapshots and commands: a COSE_Sign1 (RFC 9052), tag 18, ES256 or
/// EdDSA, content type `application/json` in the protected header, the JSON bytes as payload,
/// signed by the HQ root key that the gateway pinned at enrolment. Sent as `application/cose`.
public enum SignedDocument {
    public static let mediaType = "application/cose"

    /// Signs `json` with the root key: what HQ does.
    public static func sign(_ json: [UInt8], with key: SigningKey, kid: String) throws(HQProtocolError) -> [UInt8] {
        var message = COSESign1(
            protected: [
                CBORMapEntry(.int(COSEHeader.alg), .int(key.defaultAlgorithm.rawValue)),
                CBORMapEntry(.int(COSEHeader.contentType), .text("application/json")),
            ],
            unprotected: [CBORMapEntry(.int(COSEHeader.kid), .bytes(Array(kid.utf8)))],
            payload: json
        )
        do { try message.sign(with: key) } catch { throw .refused("cannot sign: \(error)") }
        return message.encoded()
    }

    /// Verifies `bytes` with the pinned root key and returns the JSON payload. The algorithm must
    /// be in the protected header, and the content type must be JSON. `maxBytes` bounds the whole
    /// document (a snapshot manifest or delta is larger than a command).
    public static func open(
        _ bytes: [UInt8],
        rootKey: VerificationKey,
        maxBytes: Int = 65536
    ) throws(HQProtocolError) -> [UInt8] {
        let message: COSESign1
        do {
            message = try COSESign1(cbor: bytes, decoder: CBORDecoder(limits: .init(maxBytes: max(maxBytes, 65536))))
        } catch { throw .refused("not a COSE_Sign1 document: \(error)") }
        do {
            let alg = try message.algorithm(protectedOnly: true)
            guard rootKey.fits(alg) else {
                throw AccessTokenError.malformed("\(alg.name) does not fit the pinned root key")
            }
            try message.verify(with: rootKey)
        } catch {
            throw .refused("the signature does not verify with the pinned HQ root key (\(error))")
        }
        guard
            case .text("application/json")? = message.protected.first(where: { $0.key == .int(COSEHeader.contentType) }
            )?.value
        else { throw .refused("the signed document is not JSON") }
        guard let payload = message.payload else { throw .refused("the signed document has no payload") }
        return payload
    }

    /// A public JWK (as HQ sends its root key at enrolment) as a verification key.
    public static func rootKey(jwk: [String: String]) throws(HQProtocolError) -> VerificationKey {
        var entry = jwk
        entry["kid"] = entry["kid"] ?? "hq-root"
        guard let document = try? JSONSerialization.data(withJSONObject: ["keys": [entry]]),
            let keys = try? PassKeySet(jwks: document), let key = keys.keys.first?.key
        else { throw .badRootKey("the HQ root key is not a usable EC P-256 or Ed25519 public JWK") }
        return key
    }
}
