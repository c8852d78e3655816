import Foundation
import GRDB

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
    /// Applies a full snapshot or a delta in one transaction. Refuses a seq that is not newer than
    /// the stored one, and a delta whose base is not the stored seq.
    @discardableResult
    public func apply(
        _ document: SnapshotDocument,
        now: Double = Date().timeIntervalSince1970
    ) throws(KeyCacheError)
        -> SnapshotInfo
    {
        try write { db in
            let stored = try Int64.fetchOne(db, sql: "SELECT seq FROM snapshot_state WHERE id = 1")
            switch document {
            case .full(let snapshot):
                if let stored, snapshot.seq <= stored {
                    throw KeyCacheError.staleSeq(stored: stored, received: snapshot.seq)
                }
                for table in ["signing_keys", "doors", "members", "bookings", "revoked"] {
                    try db.execute(sql: "DELETE FROM \(table)")
                }
                try Self.upsert(
                    db,
                    SnapshotRecords(
                        keys: snapshot.keys,
                        doors: snapshot.doors,
                        members: snapshot.members,
                        bookings: snapshot.bookings,
                        revoked: snapshot.revoked
                    )
                )
                try db.execute(
                    sql: """
                        INSERT INTO snapshot_state(id, seq, issuer, generated_at, max_age, imported_at_ms)
                        VALUES (1, ?, ?, ?, ?, ?)
                        ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, issuer = excluded.issuer,
                            generated_at = excluded.generated_at, max_age = excluded.max_age,
                            imported_at_ms = excluded.imported_at_ms
                        """,
                    arguments: [
                        snapshot.seq, snapshot.issuer, snapshot.generatedAt, snapshot.maxAge, Int64(now * 1000),
                    ]
                )
            case .delta(let delta):
                guard let stored, stored == delta.baseSeq else {
                    throw KeyCacheError.deltaBaseMismatch(stored: stored, base: delta.baseSeq)
                }
                if let deletions = delta.delete { try Self.delete(db, deletions) }
                if let upsert = delta.upsert { try Self.upsert(db, upsert) }
                try db.execute(
                    sql: """
                        UPDATE snapshot_state SET seq = ?, generated_at = coalesce(?, generated_at),
                            max_age = coalesce(?, max_age), imported_at_ms = ? WHERE id = 1
                        """,
                    arguments: [delta.seq, delta.generatedAt, delta.maxAge, Int64(now * 1000)]
                )
            }
            return try Self.info(db)!
        }
    }

    /// The stored snapshot's seq, age and counts; nil before the first import.
    public func snapshotInfo() throws(KeyCacheError) -> SnapshotInfo? {
        try read { db in try Self.info(db) }
    }

    static func info(_ db: Database) throws -> SnapshotInfo? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM snapshot_state WHERE id = 1") else { return nil }
        func count(_ table: String) throws -> Int { try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? 0 }
        return SnapshotInfo(
            seq: row["seq"],
            issuer: row["issuer"],
            generatedAt: row["generated_at"],
            maxAge: row["max_age"],
            importedAtMs: row["imported_at_ms"],
            keys: try count("signing_keys"),
            doors: try count("doors"),
            members: try count("members"),
            bookings: try count("bookings"),
            revoked: try count("revoked")
        )
    }

    private static func upsert(_ db: Database, _ records: SnapshotRecords) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        func json(_ value: some Encodable) throws -> String {
            String(decoding: try encoder.encode(value), as: UTF8.self)
        }

        if let keys = records.keys?.keys {
            // Keys are replaced per kid: every key with an upserted kid goes, then the new ones come in.
            let kids = Set(keys.compactMap(\.kid))
            for kid in kids { try db.execute(sql: "DELETE FROM signing_keys WHERE kid = ?", arguments: [kid]) }
            let insert = try db.cachedStatement(sql: "INSERT INTO signing_keys(kid, jwk) VALUES (?, ?)")
            for key in keys { try insert.execute(arguments: [key.kid ?? "", key.json]) }
        }
        let door = try db.cachedStatement(
            sql: "INSERT OR REPLACE INTO doors(id, name, mode, tz, schedule) VALUES (?, ?, ?, ?, ?)"
        )
        for d in records.doors ?? [] {
            try door.execute(arguments: [d.id, d.name, d.mode.rawValue, d.tz, try json(d.schedule ?? [])])
        }
        let member = try db.cachedStatement(sql: "INSERT OR REPLACE INTO members(id, blocked) VALUES (?, ?)")
        for m in records.members ?? [] { try member.execute(arguments: [m.id, m.blocked]) }
        let booking = try db.cachedStatement(
            sql: "INSERT OR REPLACE INTO bookings(id, member, doors, start, \"end\", status) VALUES (?, ?, ?, ?, ?, ?)"
        )
        for b in records.bookings ?? [] {
            try booking.execute(arguments: [b.id, b.member, try json(b.doors), b.start, b.end, b.status.rawValue])
        }
        let revoked = try db.cachedStatement(sql: "INSERT OR REPLACE INTO revoked(pass, until) VALUES (?, ?)")
        for r in records.revoked ?? [] { try revoked.execute(arguments: [r.pass, r.until]) }
    }

    private static func delete(_ db: Database, _ deletions: SnapshotDeletions) throws {
        let tables: [(String, String, [String]?)] = [
            ("members", "id", deletions.members), ("bookings", "id", deletions.bookings),
            ("signing_keys", "kid", deletions.keys), ("doors", "id", deletions.doors),
            ("revoked", "pass", deletions.revoked),
        ]
        for (table, column, ids) in tables {
            let statement = try db.cachedStatement(sql: "DELETE FROM \(table) WHERE \(column) = ?")
            for id in ids ?? [] { try statement.execute(arguments: [id]) }
        }
    }
}
