import AccessToken
import Foundation
import GRDB
import HQProtocol

/// A one-time enrolment code: what an installer types into `gatewayctl provision`.
enum EnrolmentCode {
    /// How long a code stays usable.
    static let lifetime: Double = 24 * 3600
    /// Crockford-style: no I, L, O or U, so a code read aloud or off a screen cannot be misread.
    private static let alphabet = Array("ABCDEFGHJKMNPQRSTVWXYZ23456789")

    /// Twelve characters in groups of four, about 59 bits: `K7QF-2MXD-P9TA`.
    static func generate() -> String {
        var random = SystemRandomNumberGenerator()
        let characters = (0..<12).map { _ in alphabet[Int(random.next(upperBound: UInt32(alphabet.count)))] }
        return stride(from: 0, to: 12, by: 4).map { String(characters[$0..<$0 + 4]) }.joined(separator: "-")
    }

    /// The stored form of what an installer typed: upper case, dashes where they belong.
    static func normalise(_ text: String) -> String {
        let characters = Array(text.uppercased().filter { $0.isLetter || $0.isNumber })
        guard characters.count == 12 else { return text }
        return stride(from: 0, to: 12, by: 4).map { String(characters[$0..<$0 + 4]) }.joined(separator: "-")
    }
}

/// An enrolled gateway, as the device-token check needs it.
struct EnrolledGateway: Sendable {
    var id: String
    var publicKey: [String: String]
    var revoked: Bool
}

/// What `POST /v1/enrol` answers.
struct EnrolmentReply: Encodable, Sendable {
    var gatewayID: String
    var issuer: String
    var doors: [String]
    var rootKey: [String: String]
    var hqTime: Int64

    enum CodingKeys: String, CodingKey {
        case issuer, doors
        case gatewayID = "gateway_id"
        case rootKey = "root_key"
        case hqTime = "hq_time"
    }
}

/// A `POST /v1/enrol` body, checked for shape.
struct EnrolmentRequest: Sendable {
    var code: String
    var publicKey: [String: String]
    var proof: String
    var name: String

    init(body: [UInt8]) throws(HQError) {
        let root = try JSONScanner.parse(body)
        guard case .string(let code)? = root["code"] else { throw .malformed("the body lacks \"code\"") }
        guard case .string(let proof)? = root["proof"] else { throw .malformed("the body lacks \"proof\"") }
        guard case .object(let members)? = root["public_key"] else {
            throw .malformed("the body lacks a \"public_key\" object")
        }
        var jwk: [String: String] = [:]
        for member in members {
            if case .string(let value) = member.value { jwk[member.key] = value }
        }
        // Only P-256, as the device key is; the point must be on the curve.
        guard jwk["kty"] == "EC", jwk["crv"] == "P-256", let x = jwk["x"].flatMap(Base64URL.decode),
            let y = jwk["y"].flatMap(Base64URL.decode), (try? VerificationKey(curve: "P-256", x: x, y: y)) != nil
        else { throw .malformed("public_key must be an EC P-256 JWK with valid x and y") }
        self.code = code
        self.proof = proof
        self.publicKey = ["kty": "EC", "crv": "P-256", "x": jwk["x"]!, "y": jwk["y"]!]
        switch root["name"] {
        case .string(let name)?: self.name = name
        case nil, .null?: self.name = ""
        default: throw .malformed("name must be a string")
        }
    }
}

extension HQDatabase {
    /// Makes a code for `doors`, valid for 24 hours.
    func createCode(doors: [String], now: Double) throws(HQError) -> String {
        let code = EnrolmentCode.generate()
        try writeNow { db in
            try db.execute(
                sql: "INSERT INTO enrolment_codes(code, doors, created_at, expires_at) VALUES (?, ?, ?, ?)",
                arguments: [code, try Self.jsonText(doors), Int64(now), Int64(now + EnrolmentCode.lifetime)]
            )
        }
        return code
    }

    /// Enrols a gateway: the code must exist, be unused and unexpired, and the proof must be a
    /// device token for audience `enrol` whose `sub` is the key's thumbprint, signed by that key.
    ///
    /// A retry with a code already used by the same key gets the same answer again, so that an
    /// answer lost on the way does not strand the installer with a spent code.
    func enrol(_ request: EnrolmentRequest, now: Double) async throws(HQError) -> EnrolmentReply {
        let thumbprint = DeviceKey.thumbprint(of: request.publicKey)
        let claims: DeviceTokenClaims
        do {
            claims = try DeviceTokenClaims.verify(
                request.proof,
                publicJWK: request.publicKey,
                audience: "enrol",
                now: now
            )
        } catch {
            throw .unauthorised("the proof does not verify: \(Self.reason(error))")
        }
        guard claims.subject == thumbprint else {
            throw .unauthorised("the proof's sub is not the public key's thumbprint")
        }
        let identity = self.identity
        let (gatewayID, doors) = try await write { db in
            let code = EnrolmentCode.normalise(request.code)
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM enrolment_codes WHERE code = ?", arguments: [code])
            else {
                throw HQError(.badCode, "unknown enrolment code")
            }
            let doors = try Self.stringArray(row["doors"])
            if let used: String = row["gateway"] {
                let sameKey = try String.fetchOne(
                    db,
                    sql: "SELECT thumbprint FROM gateways WHERE id = ?",
                    arguments: [used]
                )
                guard sameKey == thumbprint else { throw HQError(.badCode, "this enrolment code has been used") }
                return (used, doors)
            }
            guard Double(row["expires_at"] as Int64) > now else {
                throw HQError(.badCode, "this enrolment code has expired")
            }
            let num = (try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'gateways'") ?? 0) + 1
            let id = "gw-\(num)"
            try db.execute(
                sql: """
                    INSERT INTO gateways(num, id, name, public_key, thumbprint, doors, enrolled_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    num, id, request.name, try Self.jsonText(request.publicKey), thumbprint, row["doors"] as String,
                    Int64(now),
                ]
            )
            try db.execute(
                sql: "UPDATE enrolment_codes SET gateway = ?, used_at = ? WHERE code = ?",
                arguments: [id, Int64(now), code]
            )
            return (id, doors)
        }
        return EnrolmentReply(
            gatewayID: gatewayID,
            issuer: identity.issuer,
            doors: doors,
            rootKey: identity.rootPublicJWK,
            hqTime: Int64(now)
        )
    }

    /// Checks a request's `Authorization: Bearer` device token and returns the gateway's id:
    /// 401 when it is missing or does not verify, 403 `revoked` when HQ revoked the gateway.
    func authenticate(authorization: String?, now: Double) async throws(HQError) -> String {
        guard let authorization, authorization.hasPrefix("Bearer ") else {
            throw .unauthorised("no device token: send Authorization: Bearer <token>")
        }
        let token = String(authorization.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces)
        let subject: String
        do { subject = try DeviceTokenClaims.peek(token).subject } catch { throw .unauthorised(Self.reason(error)) }
        guard let gateway = try await gateway(subject) else { throw .unauthorised("no gateway \(subject) is enrolled") }
        do {
            _ = try DeviceTokenClaims.verify(token, publicJWK: gateway.publicKey, audience: identity.issuer, now: now)
        } catch {
            throw .unauthorised(Self.reason(error))
        }
        guard !gateway.revoked else {
            throw HQError(.revoked, "gateway \(gateway.id) is revoked; enrol it again with a new code")
        }
        return gateway.id
    }

    func gateway(_ id: String) async throws(HQError) -> EnrolledGateway? {
        try await read { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: "SELECT id, public_key, revoked_at FROM gateways WHERE id = ?",
                    arguments: [id]
                )
            else { return nil }
            let key = try JSONDecoder().decode([String: String].self, from: Data((row["public_key"] as String).utf8))
            return EnrolledGateway(id: row["id"], publicKey: key, revoked: (row["revoked_at"] as Int64?) != nil)
        }
    }

    /// Revokes a gateway's key: its requests get 403 `revoked` from now on.
    func revoke(gateway id: String, now: Double) throws(HQError) {
        try writeNow { db in
            try db.execute(
                sql: "UPDATE gateways SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?",
                arguments: [Int64(now), id]
            )
            guard db.changesCount == 1 else { throw HQError.usage("no gateway \(id) is enrolled") }
        }
    }

    /// One line per gateway, for `access-hq-dev gateways`.
    func gatewaySummaries() throws(HQError) -> [String] {
        try readNow { db in
            try Row.fetchAll(db, sql: "SELECT * FROM gateways ORDER BY num").map { row in
                let name: String = row["name"]
                let held: Int64? = row["head_seq"]
                let revoked: Int64? = row["revoked_at"]
                var line = "\(row["id"] as String)\t\(name.isEmpty ? "-" : name)\tdoors \(row["doors"] as String)"
                line += "\tevents \(held.map { "\(row["first_seq"] as Int64)…\($0)" } ?? "none")"
                if revoked != nil { line += "\trevoked" }
                return line
            }
        }
    }

    /// Whether `id` names an enrolled gateway.
    func gatewayExists(_ id: String) throws(HQError) -> Bool {
        try readNow { db in try Bool.fetchOne(db, sql: "SELECT 1 FROM gateways WHERE id = ?", arguments: [id]) ?? false
        }
    }

    /// Why a token failed, without the error's preamble.
    private static func reason(_ error: HQProtocolError) -> String {
        if case .unauthorised(let why) = error { return why }
        return error.description
    }

    static func jsonText(_ value: some Encodable) throws -> String {
        String(decoding: try JSON.encoder.encode(value), as: UTF8.self)
    }

    static func stringArray(_ text: String) throws -> [String] {
        try JSONDecoder().decode([String].self, from: Data(text.utf8))
    }
}
