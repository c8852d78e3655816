import Foundation

/// A door's operating mode, as HQ sets it.
public enum DoorMode: String, Sendable, Codable {
    case normal
    /// Grants are refused with `lockdown`; request-to-exit still works.
    case lockdown
    /// The relay is held open; scans are still decided and audited.
    case unlocked
}

/// A weekly window during which a door admits valid passes, in the door's time zone.
public struct ScheduleWindow: Sendable, Codable, Equatable {
    /// Lower-case three-letter day names, Sunday first (Calendar's weekday 1).
    public static let weekdays = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    /// "HH:MM" → minutes since midnight; "24:00" is 1440.
    public static func minutes(_ text: String) -> Int? {
        // Four ASCII digits: Int("+1") and Int("-0") would read a sign as part of a two-digit field.
        let c = Array(text.utf8)
        func digit(_ i: Int) -> Int? { (0x30...0x39).contains(c[i]) ? Int(c[i] - 0x30) : nil }
        guard c.count == 5, c[2] == UInt8(ascii: ":"), let h1 = digit(0), let h0 = digit(1), let m1 = digit(3),
            let m0 = digit(4)
        else { return nil }
        let h = h1 * 10 + h0
        let m = m1 * 10 + m0
        guard (0...23).contains(h) && (0...59).contains(m) || (h == 24 && m == 0) else { return nil }
        return h * 60 + m
    }

    /// Lower-case three-letter day names: "mon" … "sun". A window that crosses midnight belongs to
    /// the day it starts on.
    public var days: [String]
    /// "HH:MM", 24-hour.
    public var from: String
    /// "HH:MM"; "24:00" is the end of the day. Earlier than `from` means the window crosses midnight.
    public var to: String

    public init(days: [String], from: String, to: String) {
        self.days = days
        self.from = from
        self.to = to
    }
}

public struct DoorRecord: Sendable, Codable, Equatable {
    /// "LOC/DOOR".
    public var id: String
    public var name: String?
    public var mode: DoorMode
    /// An IANA time zone, e.g. "Asia/Jakarta".
    public var tz: String
    /// Absent or empty: always open to valid passes.
    public var schedule: [ScheduleWindow]?
    /// Weekly windows, in `tz`, in which the relay is held released (JSON `unlock_schedule`).
    /// Absent or empty: no scheduled unlock. Only a trusted clock starts one.
    public var unlockSchedule: [ScheduleWindow]?
    /// The unlock schedule's window starts holding the relay only after the first grant inside it
    /// (JSON `first_person_in`); needs an `unlockSchedule`.
    public var firstPersonIn: Bool?

    enum CodingKeys: String, CodingKey {
        case id, name, mode, tz, schedule
        case unlockSchedule = "unlock_schedule"
        case firstPersonIn = "first_person_in"
    }

    public init(
        id: String,
        name: String? = nil,
        mode: DoorMode = .normal,
        tz: String = "UTC",
        schedule: [ScheduleWindow]? = nil,
        unlockSchedule: [ScheduleWindow]? = nil,
        firstPersonIn: Bool? = nil
    ) {
        self.id = id
        self.name = name
        self.mode = mode
        self.tz = tz
        self.schedule = schedule
        self.unlockSchedule = unlockSchedule
        self.firstPersonIn = firstPersonIn
    }
}

public struct MemberRecord: Sendable, Codable, Equatable {
    public var id: String
    public var blocked: Bool

    public init(id: String, blocked: Bool = false) {
        self.id = id
        self.blocked = blocked
    }
}

public enum BookingStatus: String, Sendable, Codable {
    case confirmed
    case cancelled
}

public struct BookingRecord: Sendable, Codable, Equatable {
    public var id: String
    public var member: String
    /// Locations ("LOC") or doors ("LOC/DOOR") the booking covers.
    public var doors: [String]
    public var start: Int64
    public var end: Int64
    public var status: BookingStatus
}

public struct Revocation: Sendable, Codable, Equatable {
    /// The pass id (cti) as lowercase hex.
    public var pass: String
    /// The revocation may be forgotten after this time (the pass has expired by then).
    public var until: Int64
}

/// The arrays a full snapshot carries, and a delta upserts.
public struct SnapshotRecords: Sendable, Codable, Equatable {
    /// The pass-signing keys, as a JWKS object.
    public var keys: JWKSDocument?
    public var doors: [DoorRecord]?
    public var members: [MemberRecord]?
    public var bookings: [BookingRecord]?
    public var revoked: [Revocation]?

    public init(
        keys: JWKSDocument? = nil,
        doors: [DoorRecord]? = nil,
        members: [MemberRecord]? = nil,
        bookings: [BookingRecord]? = nil,
        revoked: [Revocation]? = nil
    ) {
        self.keys = keys
        self.doors = doors
        self.members = members
        self.bookings = bookings
        self.revoked = revoked
    }
}

/// A JWKS kept as its raw JSON members, so that key fields this gateway does not read survive.
public struct JWKSDocument: Sendable, Codable, Equatable {
    public var keys: [JSONObject]
}

/// A JSON object kept verbatim.
public struct JSONObject: Sendable, Codable, Equatable {
    public var json: String

    public init(from decoder: Decoder) throws {
        let value = try decoder.singleValueContainer().decode(JSONValue.self)
        guard case .object = value else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an object"))
        }
        json = value.canonicalText
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(try JSONDecoder().decode(JSONValue.self, from: Data(json.utf8)))
    }

    /// The `kid` member, if it is a string.
    public var kid: String? {
        guard case .object(let members)? = try? JSONDecoder().decode(JSONValue.self, from: Data(json.utf8)),
            case .string(let kid)? = members["kid"]
        else { return nil }
        return kid
    }
}

/// Any JSON value; used to keep key documents verbatim.
indirect enum JSONValue: Codable, Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let n = try? c.decode(Double.self) {
            self = .number(n)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n): try c.encode(n)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    /// JSON text with sorted keys.
    var canonicalText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }
}

/// A full snapshot, `ag-snapshot/1`.
public struct Snapshot: Sendable, Codable, Equatable {
    public static let format = "ag-snapshot/1"

    public var format: String
    public var issuer: String
    public var seq: Int64
    public var generatedAt: Int64
    public var maxAge: Int64
    public var keys: JWKSDocument
    public var doors: [DoorRecord]
    public var members: [MemberRecord]
    public var bookings: [BookingRecord]
    public var revoked: [Revocation]

    enum CodingKeys: String, CodingKey {
        case format, issuer, seq, keys, doors, members, bookings, revoked
        case generatedAt = "generated_at"
        case maxAge = "max_age"
    }
}

/// What a delta removes: ids, kids, or door ids.
public struct SnapshotDeletions: Sendable, Codable, Equatable {
    public var members: [String]?
    public var bookings: [String]?
    public var keys: [String]?
    public var doors: [String]?
    /// Pass ids (cti hex) whose revocation is lifted.
    public var revoked: [String]?
}

/// A delta, `ag-snapshot-delta/1`, applied on top of snapshot `baseSeq`.
public struct SnapshotDelta: Sendable, Codable, Equatable {
    public static let format = "ag-snapshot-delta/1"

    public var format: String
    public var baseSeq: Int64
    public var seq: Int64
    public var generatedAt: Int64?
    public var maxAge: Int64?
    public var upsert: SnapshotRecords?
    public var delete: SnapshotDeletions?

    enum CodingKeys: String, CodingKey {
        case format, seq, upsert, delete
        case baseSeq = "base_seq"
        case generatedAt = "generated_at"
        case maxAge = "max_age"
    }
}

/// A snapshot document: full or delta.
public enum SnapshotDocument: Sendable {
    case full(Snapshot)
    case delta(SnapshotDelta)

    /// Parses and validates a snapshot or delta JSON document.
    public static func parse(_ data: Data) throws(HQProtocolError) -> SnapshotDocument {
        struct Header: Decodable { var format: String? }
        let format: String?
        do { format = try JSONDecoder().decode(Header.self, from: data).format } catch {
            throw .badSnapshot("not a JSON object: \(Self.describe(error))")
        }
        do {
            switch format {
            case Snapshot.format:
                let snapshot = try JSONDecoder().decode(Snapshot.self, from: data)
                try snapshot.validate()
                return .full(snapshot)
            case SnapshotDelta.format:
                let delta = try JSONDecoder().decode(SnapshotDelta.self, from: data)
                try delta.validate()
                return .delta(delta)
            default:
                throw HQProtocolError.badSnapshot(
                    "format \"\(format ?? "(missing)")\" is neither \(Snapshot.format) nor \(SnapshotDelta.format)"
                )
            }
        } catch let error as HQProtocolError {
            throw error
        } catch {
            throw .badSnapshot(Self.describe(error))
        }
    }

    /// Names the JSON path of a decoding error, so an integrator can find the bad field.
    static func describe(_ error: Error) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let p = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return p.isEmpty ? "the document" : String(p.drop(while: { $0 == "." }))
        }
        switch error as? DecodingError {
        case .keyNotFound(let key, let context)?: return "\(path(context)): missing \"\(key.stringValue)\""
        case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?:
            return "\(path(context)): \(context.debugDescription)"
        case .dataCorrupted(let context)?: return "\(path(context)): \(context.debugDescription)"
        default: return "\(error)"
        }
    }
}

extension SnapshotRecords {
    func validate() throws(HQProtocolError) {
        for door in doors ?? [] { try door.validate() }
        for booking in bookings ?? [] where booking.end < booking.start {
            throw .badSnapshot("booking \(booking.id) ends before it starts")
        }
        for revocation in revoked ?? [] {
            // ASCII only: Character.isHexDigit also takes fullwidth digits, which no pass id's hex
            // would ever equal, so such a revocation would be accepted and never hold.
            let hex = revocation.pass.utf8
            guard hex.count >= 16 && hex.count <= 64 && hex.count % 2 == 0,
                hex.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
            else { throw .badSnapshot("revoked pass \"\(revocation.pass)\" is not 8–32 bytes of lowercase hex") }
        }
    }
}

extension Snapshot {
    func validate() throws(HQProtocolError) {
        guard seq >= 0 else { throw .badSnapshot("seq \(seq) is negative") }
        guard maxAge > 0 else { throw .badSnapshot("max_age must be positive") }
        try SnapshotRecords(keys: keys, doors: doors, members: members, bookings: bookings, revoked: revoked)
            .validate()
        for (name, ids) in [
            ("door", doors.map(\.id)), ("member", members.map(\.id)), ("booking", bookings.map(\.id)),
            ("revoked pass", revoked.map(\.pass)),
        ] {
            var seen = Set<String>()
            for id in ids where !seen.insert(id).inserted { throw .badSnapshot("\(name) \(id) appears twice") }
        }
    }
}

extension SnapshotDelta {
    func validate() throws(HQProtocolError) {
        guard seq > baseSeq else { throw .badSnapshot("delta seq \(seq) is not after its base_seq \(baseSeq)") }
        try upsert?.validate()
    }
}

extension DoorRecord {
    func validate() throws(HQProtocolError) {
        guard id.split(separator: "/", omittingEmptySubsequences: false).count == 2 else {
            throw .badSnapshot("door id \"\(id)\" is not LOC/DOOR")
        }
        guard TimeZone(identifier: tz) != nil else { throw .badSnapshot("door \(id): unknown time zone \"\(tz)\"") }
        for (field, windows) in [("schedule", schedule ?? []), ("unlock_schedule", unlockSchedule ?? [])] {
            for window in windows {
                for day in window.days where ScheduleWindow.weekdays.firstIndex(of: day) == nil {
                    throw .badSnapshot("door \(id): \(field) day \"\(day)\" is not one of mon…sun")
                }
                guard let from = ScheduleWindow.minutes(window.from), from < 1440,
                    let to = ScheduleWindow.minutes(window.to)
                else {
                    throw .badSnapshot("door \(id): \(field) times must be HH:MM, got \(window.from)–\(window.to)")
                }
                guard from != to else {
                    throw .badSnapshot("door \(id): \(field) window \(window.from)–\(window.to) is empty")
                }
            }
        }
        // A first-person-in flag with no window to start would silently do nothing.
        if firstPersonIn == true && (unlockSchedule ?? []).isEmpty {
            throw .badSnapshot("door \(id): first_person_in needs an unlock_schedule")
        }
    }
}
