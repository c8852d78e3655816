import AccessToken
import Foundation

/// A member pass to issue: `POST /v1/passes` and `access-hq-dev pass`.
struct PassOrder: Sendable {
    /// How long a pass is valid unless told otherwise.
    static let defaultValidity: Double = 3600
    static let maxValidity: Double = 366 * 86400

    var member: String
    /// A door (`LOC/DOOR`) or a location (`LOC`): the pass's `aud`.
    var door: String
    var validFor: Double = defaultValidity
    /// The booking the pass is for (claim -65537), if any.
    var booking: String?
    /// How many entries the pass allows (claim -65538), if limited.
    var maxUses: UInt64?

    init(
        member: String,
        door: String,
        validFor: Double?,
        booking: String? = nil,
        maxUses: UInt64? = nil
    ) throws(HQError) {
        guard !member.isEmpty, !door.isEmpty else { throw .malformed("member and door must not be empty") }
        self.member = member
        self.door = door
        self.validFor = validFor ?? Self.defaultValidity
        self.booking = booking
        self.maxUses = maxUses
        guard self.validFor > 0, self.validFor <= Self.maxValidity else {
            throw .malformed("valid_for must be 1 to \(Int(Self.maxValidity)) seconds")
        }
    }

    /// A `POST /v1/passes` body: `{"member", "door", "valid_for"?, "booking"?, "max_uses"?}`.
    init(body: [UInt8]) throws(HQError) {
        let root = try JSONScanner.parse(body)
        guard case .string(let member)? = root["member"], case .string(let door)? = root["door"] else {
            throw .malformed("the body needs \"member\" and \"door\" strings")
        }
        func optionalNumber(_ key: String) throws(HQError) -> String? {
            switch root[key] {
            case nil, .null?: return nil
            case .number(let text)?: return text
            default: throw .malformed("\(key) must be a number")
            }
        }
        var validFor: Double?
        if let text = try optionalNumber("valid_for") {
            guard let value = Double(text) else { throw .malformed("valid_for must be a number") }
            validFor = value
        }
        var maxUses: UInt64?
        if let text = try optionalNumber("max_uses") {
            guard let value = UInt64(text), value > 0 else { throw .malformed("max_uses must be a positive integer") }
            maxUses = value
        }
        var booking: String?
        switch root["booking"] {
        case nil, .null?: booking = nil
        case .string(let value)?: booking = value
        default: throw .malformed("booking must be a string")
        }
        try self.init(member: member, door: door, validFor: validFor, booking: booking, maxUses: maxUses)
    }
}

/// An issued pass, as `POST /v1/passes` answers it.
struct IssuedPass: Encodable, Sendable {
    var pass: String
    /// The pass id (cti) as lowercase hex: what a snapshot's `revoked` names.
    var passID: String
    var expiresAt: Int64

    enum CodingKeys: String, CodingKey {
        case pass
        case passID = "pass_id"
        case expiresAt = "expires_at"
    }
}

extension HQIdentity {
    /// Signs an AG1 pass with the pass key: `iss` this HQ, `iat` now, a random 16-byte `cti`.
    func issue(_ order: PassOrder, now: Double) throws(HQError) -> IssuedPass {
        var random = SystemRandomNumberGenerator()
        let passID = (0..<16).map { _ in UInt8.random(in: 0...255, using: &random) }
        let issuedAt = now.rounded(.down)
        let claims = PassClaims(
            issuer: issuer,
            member: order.member,
            audience: [order.door],
            expiresAt: issuedAt + order.validFor.rounded(.up),
            issuedAt: issuedAt,
            passID: passID,
            bookingID: order.booking,
            maxUses: order.maxUses
        )
        do {
            let text = try PassIssuer(key: passKey, kid: Self.passKid).issue(claims)
            return IssuedPass(pass: text, passID: claims.passIDHex, expiresAt: Int64(claims.expiresAt))
        } catch {
            throw .malformed("cannot issue the pass: \(error)")
        }
    }
}
