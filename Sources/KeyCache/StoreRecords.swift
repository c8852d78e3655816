import AccessPolicy
import Foundation
import GRDB
import HQProtocol
import Synchronization

/// The store's answers to ``AccessPolicy``'s questions, read inside the decision's write
/// transaction, and the writes it asks for. Every statement is the connection's cached one:
/// compiling the SQL cost more than running it.
final class StoreRecords: DecisionRecords {
    let db: Database
    /// The door's row, read once for its mode and, later in the decision, its schedule.
    private var doorRow: (id: String, row: Row?)?

    /// Schedules already decoded, by their stored text; the decider keeps it across decisions.
    private let schedules: ScheduleCache

    init(db: Database, schedules: ScheduleCache) {
        self.db = db
        self.schedules = schedules
    }

    private func row(ofDoor id: String) throws -> Row? {
        if let doorRow, doorRow.id == id { return doorRow.row }
        let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT mode, tz, schedule FROM doors WHERE id = ?"),
            arguments: [id]
        )
        doorRow = (id, row)
        return row
    }

    func doorMode(_ id: String) throws -> DoorMode? {
        guard let row = try row(ofDoor: id) else { return nil }
        // An import writes only the modes it knows; a mode this build cannot read holds the door.
        return DoorMode(rawValue: row["mode"]) ?? .lockdown
    }

    func doorSchedule(_ id: String) throws -> DoorSchedule {
        guard let row = try row(ofDoor: id) else { throw KeyCacheError.database("door \(id) is not in the store") }
        let text: String = row["schedule"]
        let zone: String = row["tz"]
        return try schedules.schedule(text: text, zone: zone) {
            let windows = try JSONDecoder().decode([ScheduleWindow].self, from: Data(text.utf8))
            return DoorSchedule(windows: windows, timeZone: TimeZone(identifier: zone) ?? TimeZone(identifier: "UTC")!)
        }
    }

    func commandedLockdowns() throws -> Set<String> {
        guard let text = try GatewayStore.state(db, .hqLockdown) else { return [] }
        // A list of HQ's lockdowns that cannot be read holds every door, until HQ sends one again.
        guard let doors = try? JSONDecoder().decode([String].self, from: Data(text.utf8)) else { return ["*"] }
        return Set(doors)
    }

    func revokedUntil(pass: String) throws -> Int64? {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT until FROM revoked WHERE pass = ?"), arguments: [pass])
    }

    func memberBlocked(_ id: String) throws -> Bool? {
        try Bool.fetchOne(db.cachedStatement(sql: "SELECT blocked FROM members WHERE id = ?"), arguments: [id])
    }

    func booking(_ id: String, door: String, location: String) throws -> BookingFacts? {
        // SQLite reads the booking's door list (JSON text) itself: no JSON decoder per decision.
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                    SELECT member, start, "end", status,
                        EXISTS (SELECT 1 FROM json_each(bookings.doors) WHERE value IN (?, ?)) AS covers
                    FROM bookings WHERE id = ?
                    """
                ),
                arguments: [door, location, id]
            )
        else { return nil }
        return BookingFacts(
            member: row["member"],
            start: row["start"],
            end: row["end"],
            status: row["status"],
            coversDoor: row["covers"]
        )
    }

    func usage(pass: String) throws -> PassUsage? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT uses, last_door, last_ms FROM pass_usage WHERE pass = ?"),
            arguments: [pass]
        )
            .map { PassUsage(uses: $0["uses"], lastDoor: $0["last_door"], lastMs: $0["last_ms"]) }
    }

    func proofSeen(_ key: String, nowMs: Int64) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT 1 FROM proofs_seen WHERE digest = ? AND until_ms >= ?"),
            arguments: [key, nowMs]
        ) == true
    }

    /// Applies the policy's writes for a decision at `now`, in the caller's transaction.
    static func apply(_ writes: [DecisionWrite], now: Double, _ db: Database) throws {
        let nowMs = Int64((now * 1000).rounded(.down))
        for write in writes {
            switch write {
            case .rememberProof(let key, let untilMs):
                // Forgotten proofs go first, so that a key seen long ago is remembered afresh.
                try db.cachedStatement(sql: "DELETE FROM proofs_seen WHERE until_ms < ?").execute(arguments: [nowMs])
                try db.cachedStatement(sql: "INSERT INTO proofs_seen(digest, until_ms) VALUES (?, ?)")
                    .execute(arguments: [key, untilMs])
            case .countUse(let pass, let door, let atMs):
                try db.cachedStatement(
                    sql: """
                        INSERT INTO pass_usage(pass, uses, last_door, last_ms) VALUES (?, 1, ?, ?)
                        ON CONFLICT(pass) DO UPDATE SET uses = uses + 1, last_door = excluded.last_door,
                            last_ms = excluded.last_ms
                        """
                )
                .execute(arguments: [pass, door, atMs])
            }
        }
    }
}

/// Door schedules decoded from their stored text and zone, kept across decisions: the text is the
/// key, so a changed schedule is decoded afresh and a door's old entry is never used for it.
final class ScheduleCache: Sendable {
    private let entries = Mutex<[String: DoorSchedule]>([:])

    func schedule(text: String, zone: String, decode: () throws -> DoorSchedule) rethrows -> DoorSchedule {
        let key = zone + "\n" + text
        if let known = entries.withLock({ $0[key] }) { return known }
        let schedule = try decode()
        entries.withLock {
            // A site has a handful of doors; a store rewritten often must not grow this without bound.
            if $0.count >= 64 { $0.removeAll() }
            $0[key] = schedule
        }
        return schedule
    }
}
