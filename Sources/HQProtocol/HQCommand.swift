import AccessToken
import Foundation

/// A command from HQ, as its signed JSON carries it (docs/hq-protocol.md):
///
/// ```json
/// {"id": "c-0192", "gateway": "gw-7", "kind": "unlock", "door": "JKT1/FRONT", "seconds": 5,
///  "issued_at": 1800000000, "expires_at": 1800000060}
/// ```
///
/// `kind` is `unlock` (with `door` and `seconds`), `lockdown` (with `on`, and `door` or none for
/// every door) or `resync`.
public struct HQCommand: Sendable, Equatable {
    public enum Action: Sendable, Equatable {
        /// Unlock one door for a bounded pulse.
        case unlock(door: String, seconds: Double)
        /// Lockdown on or off, for one door or (nil) every door.
        case lockdown(door: String?, on: Bool)
        /// Pull the snapshot now.
        case resync
    }

    public var id: String
    public var gateway: String
    public var action: Action
    public var issuedAt: Double
    public var expiresAt: Double

    /// The longest remote unlock a command may ask for.
    public static let maxUnlockSeconds = 30.0
    /// The longest a command may stay valid.
    public static let maxLifetime = 3600.0

    public init(id: String, gateway: String, action: Action, issuedAt: Double, expiresAt: Double) {
        self.id = id
        self.gateway = gateway
        self.action = action
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
    }

    /// A member of the command object, typed as the JSON types it. (JSONSerialization cannot be
    /// used: on Linux its numbers 0 and 1 bridge to Bool, so `"seconds": 1` was refused as not a
    /// number, and `"on": 1` taken for true.)
    private enum Member: Decodable {
        case text(String)
        case number(Double)
        case bool(Bool)
        /// null, an array, an object, or a number beyond Double.
        case other

        init(from decoder: Decoder) throws {
            let value = try decoder.singleValueContainer()
            if let b = try? value.decode(Bool.self) {
                self = .bool(b)
            } else if let n = try? value.decode(Double.self) {
                self = .number(n)
            } else if let s = try? value.decode(String.self) {
                self = .text(s)
            } else {
                self = .other
            }
        }
    }

    /// Parses the JSON of a command; every field is checked, and a bad one is named.
    public static func parse(_ json: [UInt8]) throws(HQProtocolError) -> HQCommand {
        guard let object = try? JSONDecoder().decode([String: Member].self, from: Data(json)) else {
            throw .refused("the command is not a JSON object")
        }
        func text(_ key: String) throws(HQProtocolError) -> String {
            guard case .text(let value)? = object[key], !value.isEmpty, value.count <= 128 else {
                throw .refused("the command's \(key) is missing or not a short string")
            }
            return value
        }
        func number(_ key: String) throws(HQProtocolError) -> Double {
            guard case .number(let value)? = object[key], value.isFinite else {
                throw .refused("the command's \(key) is missing or not a number")
            }
            return value
        }
        let action: Action
        switch try text("kind") {
        case "unlock":
            let seconds = try number("seconds")
            guard seconds > 0, seconds <= maxUnlockSeconds else {
                throw .refused("an unlock of \(seconds) s is outside 0–\(Int(maxUnlockSeconds)) s")
            }
            action = .unlock(door: try text("door"), seconds: seconds)
        case "lockdown":
            guard case .bool(let on)? = object["on"] else {
                throw .refused("a lockdown command needs on: true or false")
            }
            action = .lockdown(door: object["door"] == nil ? nil : try text("door"), on: on)
        case "resync":
            action = .resync
        case let other:
            throw .refused("unknown command kind \(other)")
        }
        let command = HQCommand(
            id: try text("id"),
            gateway: try text("gateway"),
            action: action,
            issuedAt: try number("issued_at"),
            expiresAt: try number("expires_at")
        )
        guard command.expiresAt > command.issuedAt, command.expiresAt - command.issuedAt <= maxLifetime else {
            throw .refused("the command's lifetime is not within 0–\(Int(maxLifetime)) s")
        }
        return command
    }

    /// The command's JSON, as HQ signs it.
    public var json: [UInt8] {
        var object: [String: Any] = [
            "id": id, "gateway": gateway, "issued_at": issuedAt, "expires_at": expiresAt,
        ]
        switch action {
        case .unlock(let door, let seconds):
            object["kind"] = "unlock"
            object["door"] = door
            object["seconds"] = seconds
        case .lockdown(let door, let on):
            object["kind"] = "lockdown"
            object["door"] = door
            object["on"] = on
        case .resync:
            object["kind"] = "resync"
        }
        // Strings, numbers and booleans always serialise.
        return Array(try! JSONSerialization.data(withJSONObject: object, options: .sortedKeys))
    }

    /// Opens and checks a signed command for `gateway` at trusted time `now`: the root key's
    /// signature, the gateway, the validity window (± `skew`). Replay is the caller's check, by id.
    public static func open(
        _ signed: [UInt8],
        rootKey: VerificationKey,
        gateway: String,
        now: Double?,
        skew: Double = 30
    ) throws(HQProtocolError) -> HQCommand {
        let command = try parse(try SignedDocument.open(signed, rootKey: rootKey))
        guard command.gateway == gateway else {
            throw .refused("command \(command.id) is for gateway \(command.gateway)")
        }
        guard let now else { throw .refused("command \(command.id) cannot be checked: the clock is not trusted") }
        guard now <= command.expiresAt + skew else {
            throw .refused("command \(command.id) expired at \(Int(command.expiresAt))")
        }
        guard command.issuedAt <= now + skew else { throw .refused("command \(command.id) is issued in the future") }
        return command
    }
}
