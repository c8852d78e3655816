import AccessToken
import Foundation
import GRDB
import HQProtocol

/// A device's public key, as the member page registers it: the body of
/// `POST /m/{member}/credential`, `{"public_key": {"kty": "EC", "crv": "P-256", "x": …, "y": …}}`.
struct HolderKeyJWK: Sendable {
    /// Always a P-256 point, checked to be on the curve.
    var key: VerificationKey

    init(body: [UInt8]) throws(HQError) {
        let root = try JSONScanner.parse(body)
        guard case .object? = root["public_key"], let jwk = root["public_key"] else {
            throw .malformed("the body needs a \"public_key\" object: the device's public JWK")
        }
        func member(_ name: String) throws(HQError) -> String {
            guard case .string(let value)? = jwk[name] else { throw .malformed("public_key.\(name) is missing") }
            return value
        }
        let kty = try member("kty")
        guard kty == "EC" else { throw .malformed("public_key.kty must be \"EC\", not \"\(kty)\"") }
        let crv = try member("crv")
        guard crv == "P-256" else { throw .malformed("public_key.crv must be \"P-256\", not \"\(crv)\"") }
        // A device that sends its private scalar has leaked it; refuse rather than bind to it.
        guard jwk["d"] == nil else {
            throw .malformed("public_key holds \"d\", a private key: send the public key only")
        }
        func coordinate(_ name: String) throws(HQError) -> [UInt8] {
            guard let bytes = Base64URL.decode(try member(name)) else {
                throw .malformed("public_key.\(name) is not base64url")
            }
            guard bytes.count == 32 else { throw .malformed("public_key.\(name) is \(bytes.count) bytes, not 32") }
            return bytes
        }
        let x = try coordinate("x")
        let y = try coordinate("y")
        do { key = try VerificationKey(curve: "P-256", x: x, y: y) } catch {
            throw .malformed("public_key is not a point on P-256")
        }
    }
}

/// A holder-bound credential, as `POST /m/{member}/credential` answers it.
struct IssuedCredential: Encodable, Sendable {
    /// The COSE_Sign1 bytes, base64url.
    var credential: String
    /// The pass id (cti) as lowercase hex.
    var passID: String
    /// HQ's clock when it signed (iat): the page corrects a phone clock that is far off with it.
    var issuedAt: Int64
    var expiresAt: Int64

    enum CodingKeys: String, CodingKey {
        case credential
        case passID = "pass_id"
        case issuedAt = "issued_at"
        case expiresAt = "expires_at"
    }
}

/// Whether a member may have a pass page and a credential: in the latest snapshot, not blocked.
enum MemberStanding: Sendable {
    case active(Snapshot)
    /// Why not, in plain words.
    case refused(String)
}

extension HQDatabase {
    /// The member's standing in the latest snapshot.
    func standing(of member: String) async throws(HQError) -> MemberStanding {
        let json = try await read { db in
            try Data.fetchOne(db, sql: "SELECT json FROM snapshots ORDER BY seq DESC LIMIT 1")
        }
        guard let json else { return .refused("HQ has no snapshot yet, so it knows no members.") }
        guard case .full(let snapshot)? = try? SnapshotDocument.parse(json) else {
            throw HQError(.internal, "the latest snapshot does not parse")
        }
        guard let record = snapshot.members.first(where: { $0.id.utf8.elementsEqual(member.utf8) }) else {
            return .refused("\(member) is not a member in HQ's latest snapshot.")
        }
        return record.blocked ? .refused("\(member) is blocked.") : .active(snapshot)
    }
}

extension HQIdentity {
    /// How long a bound credential lasts; the page renews it in its last 5 minutes.
    static let credentialValidity: Double = 86400

    /// Signs an AG2 v2 credential bound to `holder` (claim 8, cnf, its point compressed; no iss):
    /// `aud` every location with a door in the snapshot, valid 24 h.
    func issueCredential(
        member: String,
        doors: [String],
        holder: HolderKeyJWK,
        now: Double
    ) throws(HQError) -> IssuedCredential {
        guard case .p256(let holderKey) = holder.key else { throw .malformed("the holder key must be P-256") }
        guard !doors.isEmpty else { throw HQError(.notFound, "HQ's latest snapshot has no doors to admit to") }
        var random = SystemRandomNumberGenerator()
        // Every byte costs the code 1.5 characters (docs/token.md, "QR size"): an 8-byte pass id
        // (64 random bits), no nbf, and the locations rather than each of their doors.
        let passID = (0..<8).map { _ in UInt8.random(in: 0...255, using: &random) }
        let issuedAt = now.rounded(.down)
        var locations: [String] = []
        for door in doors {
            let location = PassClaims.location(ofDoor: door)
            if !locations.contains(location) { locations.append(location) }
        }
        let claims = PassClaims(
            issuer: issuer,
            member: member,
            audience: locations,
            expiresAt: issuedAt + Self.credentialValidity,
            issuedAt: issuedAt,
            passID: passID,
            holderKey: holderKey
        )
        // The pass key is ES256 (made with the database), so signing cannot mismatch.
        let signed = PassIssuer(key: passKey, kid: Self.passKid).issueCompactCredential(claims)
        return IssuedCredential(
            credential: Base64URL.encode(signed),
            passID: claims.passIDHex,
            issuedAt: Int64(issuedAt),
            expiresAt: Int64(claims.expiresAt)
        )
    }
}
