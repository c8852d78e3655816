import Foundation
import GRDB
import HQProtocol

/// What the store holds of the last applied snapshot.
public struct SnapshotInfo: Sendable, Equatable {
    public var seq: Int64
    public var issuer: String
    public var generatedAt: Int64
    public var maxAge: Int64
    public var importedAtMs: Int64
    public var keys: Int
    public var doors: Int
    public var members: Int
    public var bookings: Int
    public var revoked: Int

    /// Seconds since HQ generated the snapshot.
    public func age(now: Double) -> Double { now - Double(generatedAt) }

    /// Whether the snapshot is older than its `max_age`.
    public func isStale(now: Double) -> Bool { age(now: now) > Double(maxAge) }
}

extension GatewayStore {
    /// The large snapshot tables, which a full snapshot fills beside the live ones in batches.
    static let stagedTables = ["members", "bookings", "revoked"]
    /// Rows per staging transaction: each holds the write lock for a few milliseconds, so decisions
    /// (which must write their audit event) go on while a large snapshot is applied. Staging
    /// commits without an fsync (`writeUnsynced`), so small batches cost no more than large ones.
    static let stagingBatch = 500

    /// Applies a full snapshot or a delta atomically. Refuses a seq that is not newer than the
    /// stored one, and a delta whose base is not the stored seq.
    ///
    /// A delta is one transaction. A full snapshot's large tables are first written to staging
    /// tables in short transactions that decisions interleave with; one final transaction then swaps
    /// them in with the keys, doors and seq. Until that commit, decisions see the old snapshot whole.
    @discardableResult
    public func apply(
        _ document: SnapshotDocument,
        now: Double = Date().timeIntervalSince1970
    ) throws(KeyCacheError) -> SnapshotInfo {
        switch document {
        case .full(let snapshot): return try applyFull(snapshot, now: now)
        case .delta(let delta): return try applyDelta(delta, now: now)
        }
    }

    private static func checkNewer(_ db: Database, _ seq: Int64) throws {
        if let stored = try Int64.fetchOne(db, sql: "SELECT seq FROM snapshot_state WHERE id = 1"), seq <= stored {
            throw KeyCacheError.staleSeq(stored: stored, received: seq)
        }
    }

    private func applyFull(_ snapshot: Snapshot, now: Double) throws(KeyCacheError) -> SnapshotInfo {
        let token = try beginStaging(seq: snapshot.seq)
        try stage(
            SnapshotRecords(members: snapshot.members, bookings: snapshot.bookings, revoked: snapshot.revoked),
            token: token
        )
        return try commitStaging(
            token: token,
            header: SnapshotHeader(
                issuer: snapshot.issuer,
                seq: snapshot.seq,
                generatedAt: snapshot.generatedAt,
                maxAge: snapshot.maxAge,
                keys: snapshot.keys,
                doors: snapshot.doors
            ),
            now: now
        )
    }

    /// Starts writing a full snapshot `seq` beside the live one: fresh staging tables, and a token
    /// that ``stage(_:token:progress:)`` and ``commitStaging(token:header:expected:now:)`` must show.
    /// A later call abandons an earlier staging.
    public func beginStaging(seq: Int64) throws(KeyCacheError) -> String {
        let token = UUID().uuidString
        // A crash during an earlier drain may have left retired tables behind.
        try drainRetiredTables()
        try write { db in
            try Self.checkNewer(db, seq)
            // Staging tables copy the live tables' schema, whatever the migrations made of it.
            for table in Self.stagedTables {
                try db.execute(sql: "DROP TABLE IF EXISTS stage_\(table)")
                let ddl = try String.fetchOne(
                    db,
                    sql: "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                    arguments: [table]
                )!
                // After a swap SQLite stores the name quoted, so rebuild the head rather than replace it.
                guard let columns = ddl.firstIndex(of: "(") else {
                    throw KeyCacheError.database("unexpected schema for \(table)")
                }
                try db.execute(sql: "CREATE TABLE stage_\(table) " + ddl[columns...])
            }
            try Self.setState(db, .stagingToken, token)
        }
        return token
    }

    /// The token of the staging in progress, if any: a transfer cut short resumes into it.
    public func stagingToken() throws(KeyCacheError) -> String? {
        try read { db in try Self.state(db, .stagingToken) }
    }

    /// Writes members, bookings and revocations into the staging tables, in short transactions that
    /// decisions interleave with. `progress` (gateway state) is written in the same transaction as
    /// the last rows, so a resumed transfer never skips rows. Rows are upserted by id: staging the
    /// same records again is harmless.
    public func stage(
        _ records: SnapshotRecords,
        token: String,
        progress: [StateKey: String] = [:]
    ) throws(KeyCacheError) {
        var batches: [(Database) throws -> Void] = []
        func add<T>(_ rows: [T], _ insert: @escaping (Database, ArraySlice<T>, String) throws -> Void) {
            for start in stride(from: 0, to: rows.count, by: Self.stagingBatch) {
                let slice = rows[start..<min(rows.count, start + Self.stagingBatch)]
                batches.append { db in try insert(db, slice, "stage_") }
            }
        }
        add(records.members ?? [], Self.insertMembers)
        add(records.bookings ?? [], Self.insertBookings)
        add(records.revoked ?? [], Self.insertRevoked)
        if batches.isEmpty { batches.append { _ in } }
        for (index, batch) in batches.enumerated() {
            try writeUnsynced { db in
                // Another import that started since would have replaced the staging tables.
                guard try Self.state(db, .stagingToken) == token else {
                    throw KeyCacheError.database("another snapshot import started; this one was abandoned")
                }
                try batch(db)
                if index == batches.count - 1 { for (key, value) in progress { try Self.setState(db, key, value) } }
            }
        }
    }

    /// Swaps the staged tables in, with `header`'s keys, doors and seq, in one transaction. With
    /// `expected`, the staged counts must match it (a record listed twice would not).
    public func commitStaging(
        token: String,
        header: SnapshotHeader,
        expected: SnapshotCounts? = nil,
        now: Double = Date().timeIntervalSince1970
    ) throws(KeyCacheError) -> SnapshotInfo {
        do { try header.validate() } catch { throw KeyCacheError(error) }
        if let expected {
            let staged = try read { db in
                SnapshotCounts(
                    members: try Int.fetchOne(db, sql: "SELECT count(*) FROM stage_members") ?? 0,
                    bookings: try Int.fetchOne(db, sql: "SELECT count(*) FROM stage_bookings") ?? 0,
                    revoked: try Int.fetchOne(db, sql: "SELECT count(*) FROM stage_revoked") ?? 0
                )
            }
            guard staged == expected else {
                throw .badSnapshot(
                    "the chunks held \(staged) distinct records, the manifest lists \(expected) (an id twice?)"
                )
            }
        }
        try write { db in
            guard try Self.state(db, .stagingToken) == token else {
                throw KeyCacheError.database("another snapshot import started; this one was abandoned")
            }
            try Self.checkNewer(db, header.seq)
            // Renames only: dropping a million-row table here would hold the write lock for long.
            for table in Self.stagedTables {
                try db.execute(sql: "DROP TABLE IF EXISTS retired_\(table)")
                try db.execute(sql: "ALTER TABLE \(table) RENAME TO retired_\(table)")
                try db.execute(sql: "ALTER TABLE stage_\(table) RENAME TO \(table)")
            }
            try db.execute(sql: "DELETE FROM signing_keys")
            try db.execute(sql: "DELETE FROM doors")
            try Self.upsert(db, SnapshotRecords(keys: header.keys, doors: header.doors))
            try db.execute(sql: "DELETE FROM gateway_state WHERE key = ?", arguments: [StateKey.stagingToken.rawValue])
            try db.execute(
                sql: """
                    INSERT INTO snapshot_state(id, seq, issuer, generated_at, max_age, imported_at_ms)
                    VALUES (1, ?, ?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, issuer = excluded.issuer,
                        generated_at = excluded.generated_at, max_age = excluded.max_age,
                        imported_at_ms = excluded.imported_at_ms
                    """,
                arguments: [header.seq, header.issuer, header.generatedAt, header.maxAge, Int64(now * 1000)]
            )
        }
        try drainRetiredTables()
        return try recordCountsAfterSwap()
    }

    /// Empties the tables a swap retired, a batch per transaction, then drops them.
    private func drainRetiredTables() throws(KeyCacheError) {
        for table in Self.stagedTables {
            let key = table == "revoked" ? "pass" : "id"
            while try write({ db in
                guard try db.tableExists("retired_\(table)") else { return false }
                try db.execute(
                    sql: "DELETE FROM retired_\(table) WHERE \(key) IN (SELECT \(key) FROM retired_\(table) LIMIT ?)",
                    arguments: [Self.stagingBatch * 4]
                )
                if db.changesCount > 0 { return true }
                try db.execute(sql: "DROP TABLE retired_\(table)")
                return false
            }) {}
        }
    }

    private func applyDelta(_ delta: SnapshotDelta, now: Double) throws(KeyCacheError) -> SnapshotInfo {
        try write { db in
            let stored = try Int64.fetchOne(db, sql: "SELECT seq FROM snapshot_state WHERE id = 1")
            guard let stored, stored == delta.baseSeq else {
                throw KeyCacheError.deltaBaseMismatch(stored: stored, base: delta.baseSeq)
            }
            // The kept counts, moved by what this delta adds and removes: counting a million-row
            // table inside the delta's write would hold decisions up for tens of milliseconds.
            var counts = try Self.header(db)
            var kept = false
            if var info = counts {
                kept = try Self.fillRecordedCounts(&info, db)
                counts = info
            }
            var net = try delta.delete.map { try Self.delete(db, $0) } ?? [:]
            if let upsert = delta.upsert {
                for (table, added) in try Self.newRows(db, upsert) { net[table, default: 0] += added }
                try Self.upsert(db, upsert)
            }
            try db.execute(
                sql: """
                    UPDATE snapshot_state SET seq = ?, generated_at = coalesce(?, generated_at),
                        max_age = coalesce(?, max_age), imported_at_ms = ? WHERE id = 1
                    """,
                arguments: [delta.seq, delta.generatedAt, delta.maxAge, Int64(now * 1000)]
            )
            guard kept, let before = counts, var info = try Self.header(db) else { return try Self.recordCounts(db)! }
            // Keys and doors are small tables: counted; the large ones move by the delta's net.
            info.keys = try Int.fetchOne(db, sql: "SELECT count(*) FROM signing_keys") ?? 0
            info.doors = try Int.fetchOne(db, sql: "SELECT count(*) FROM doors") ?? 0
            info.members = before.members + net["members", default: 0]
            info.bookings = before.bookings + net["bookings", default: 0]
            info.revoked = before.revoked + net["revoked", default: 0]
            try Self.keepCounts(info, db)
            return info
        }
    }

    /// How many of the upserted members, bookings and revocations are not in the store yet.
    private static func newRows(_ db: Database, _ records: SnapshotRecords) throws -> [String: Int] {
        func missing(_ table: String, _ column: String, _ ids: [String]) throws -> Int {
            let statement = try db.cachedStatement(sql: "SELECT 1 FROM \(table) WHERE \(column) = ?")
            // A delta may name an id twice: the second is a replace, not a new row.
            return try Set(ids).reduce(0) { count, id in try Int.fetchOne(statement, arguments: [id]) == nil ? count + 1 : count }
        }
        return [
            "members": try missing("members", "id", (records.members ?? []).map(\.id)),
            "bookings": try missing("bookings", "id", (records.bookings ?? []).map(\.id)),
            "revoked": try missing("revoked", "pass", (records.revoked ?? []).map(\.pass)),
        ]
    }

    /// The stored snapshot's seq, age and counts; nil before the first import.
    public func snapshotInfo() throws(KeyCacheError) -> SnapshotInfo? {
        try read { db in try Self.info(db) }
    }

    static func info(_ db: Database) throws -> SnapshotInfo? {
        guard var info = try header(db) else { return nil }
        if try fillRecordedCounts(&info, db) { return info }
        return try countTables(db)
    }

    /// The stored seq, issuer and times, without the counts (which scan whole tables).
    static func header(_ db: Database) throws -> SnapshotInfo? {
        // Every decision reads it: the columns by position, as named here, not looked up by name.
        let sql = "SELECT seq, issuer, generated_at, max_age, imported_at_ms FROM snapshot_state WHERE id = 1"
        guard let row = try Row.fetchOne(db.cachedStatement(sql: sql)) else { return nil }
        return SnapshotInfo(
            seq: row[0],
            issuer: row[1],
            generatedAt: row[2],
            maxAge: row[3],
            importedAtMs: row[4],
            keys: 0,
            doors: 0,
            members: 0,
            bookings: 0,
            revoked: 0
        )
    }

    private static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// A JSON array of strings; JSONEncoder per booking would dominate a million-row import.
    static func jsonArray(_ strings: [String]) -> String {
        var out = "["
        for (i, string) in strings.enumerated() {
            if i > 0 { out += "," }
            out += "\""
            for scalar in string.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case let c where c.value < 0x20: out += String(format: "\\u%04x", c.value)
                default: out.unicodeScalars.append(scalar)
                }
            }
            out += "\""
        }
        return out + "]"
    }

    private static func insertMembers(_ db: Database, _ rows: ArraySlice<MemberRecord>, _ prefix: String) throws {
        let insert = try BulkInsert(db, sql: "INSERT OR REPLACE INTO \(prefix)members(id, blocked) VALUES (?, ?)")
        for m in rows {
            insert.bind(1, m.id)
            insert.bind(2, m.blocked ? 1 : 0)
            try insert.insert()
        }
    }

    private static func insertBookings(_ db: Database, _ rows: ArraySlice<BookingRecord>, _ prefix: String) throws {
        let insert = try BulkInsert(
            db,
            sql:
                "INSERT OR REPLACE INTO \(prefix)bookings(id, member, doors, start, \"end\", status) VALUES (?, ?, ?, ?, ?, ?)"
        )
        for b in rows {
            insert.bind(1, b.id)
            insert.bind(2, b.member)
            insert.bind(3, jsonArray(b.doors))
            insert.bind(4, b.start)
            insert.bind(5, b.end)
            insert.bind(6, b.status.rawValue)
            try insert.insert()
        }
    }

    private static func insertRevoked(_ db: Database, _ rows: ArraySlice<Revocation>, _ prefix: String) throws {
        let insert = try BulkInsert(db, sql: "INSERT OR REPLACE INTO \(prefix)revoked(pass, until) VALUES (?, ?)")
        for r in rows {
            insert.bind(1, r.pass)
            insert.bind(2, r.until)
            try insert.insert()
        }
    }

    private static func upsert(_ db: Database, _ records: SnapshotRecords) throws {
        if let keys = records.keys?.keys {
            // Keys are replaced per kid: every key with an upserted kid goes, then the new ones come in.
            for kid in Set(keys.compactMap(\.kid)) {
                try db.execute(sql: "DELETE FROM signing_keys WHERE kid = ?", arguments: [kid])
            }
            let insert = try db.cachedStatement(sql: "INSERT INTO signing_keys(kid, jwk) VALUES (?, ?)")
            for key in keys { try insert.execute(arguments: [key.kid ?? "", key.json]) }
        }
        let door = try db.cachedStatement(
            sql: """
                INSERT OR REPLACE INTO doors(id, name, mode, tz, schedule, unlock_schedule, first_person_in)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """
        )
        for d in records.doors ?? [] {
            try door.execute(arguments: [
                d.id, d.name, d.mode.rawValue, d.tz, try json(d.schedule ?? []), try json(d.unlockSchedule ?? []),
                d.firstPersonIn ?? false,
            ])
        }
        try insertMembers(db, ArraySlice(records.members ?? []), "")
        try insertBookings(db, ArraySlice(records.bookings ?? []), "")
        try insertRevoked(db, ArraySlice(records.revoked ?? []), "")
    }

    /// Deletes the rows named, returning how many went from each table.
    private static func delete(_ db: Database, _ deletions: SnapshotDeletions) throws -> [String: Int] {
        let tables: [(String, String, [String]?)] = [
            ("members", "id", deletions.members), ("bookings", "id", deletions.bookings),
            ("signing_keys", "kid", deletions.keys), ("doors", "id", deletions.doors),
            ("revoked", "pass", deletions.revoked),
        ]
        var removed: [String: Int] = [:]
        for (table, column, ids) in tables {
            let statement = try db.cachedStatement(sql: "DELETE FROM \(table) WHERE \(column) = ?")
            for id in ids ?? [] {
                try statement.execute(arguments: [id])
                removed[table, default: 0] -= db.changesCount
            }
        }
        return removed
    }
}
