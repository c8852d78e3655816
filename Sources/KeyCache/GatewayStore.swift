import Foundation
import GRDB
import HQProtocol

/// The gateway's one SQLite database: snapshot, pass usage and the audit chain.
///
/// WAL mode, so readers never wait on the writer; `synchronous=FULL`, so a committed decision
/// survives power loss. Safe to share between tasks: GRDB serializes writes.
public final class GatewayStore: Sendable {
    /// Where the daemon keeps its database unless told otherwise.
    public static let defaultPath = "/var/lib/access-gateway/gateway.sqlite"

    let pool: DatabasePool
    public let path: String
    /// The `synchronous` setting every write commits with, but staging's.
    let synchronous: String

    /// What a committed event survives.
    public enum Durability: String, Sendable {
        /// `synchronous=FULL`: every commit is fsynced; survives power loss. The default.
        case powerLoss
        /// `synchronous=NORMAL`: survives the process dying, not the board losing power.
        case processCrash
    }

    /// Opens and migrates the database at `path`, creating it unless `create` is false.
    public init(path: String, create: Bool = true, durability: Durability = .powerLoss) throws(KeyCacheError) {
        var config = Configuration()
        // Another process (gatewayctl beside the daemon) may hold the write lock briefly.
        config.busyMode = .timeout(5)
        let synchronous = durability == .powerLoss ? "FULL" : "NORMAL"
        self.synchronous = synchronous
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
        }
        self.path = path
        do {
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
            guard FileManager.default.fileExists(atPath: directory) else {
                throw KeyCacheError.database("directory \(directory) does not exist")
            }
            guard create || FileManager.default.fileExists(atPath: path) else {
                throw KeyCacheError.database("no database at \(path); import a snapshot first, or pass --db")
            }
            // Member ids, pass ids and the audit log are for the service alone, whatever the umask.
            // SQLite gives the -wal and -shm files the database's mode, so it is set first (an empty
            // file is an empty database).
            if !FileManager.default.fileExists(atPath: path) {
                _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
            }
            for file in [path, path + "-wal", path + "-shm"] {
                if let mode = (try? FileManager.default.attributesOfItem(atPath: file))?[.posixPermissions] as? Int,
                    mode & 0o077 != 0
                {
                    try FileManager.default.setAttributes([.posixPermissions: mode & 0o700], ofItemAtPath: file)
                }
            }
            pool = try DatabasePool(path: path, configuration: config)
            try Self.migrator.migrate(pool)
        } catch {
            throw .wrapping(error, context: "cannot open \(path): ")
        }
    }

    /// Versioned schema migrations. Never edit a shipped migration; add a new one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE snapshot_state (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        seq INTEGER NOT NULL,
                        issuer TEXT NOT NULL,
                        generated_at INTEGER NOT NULL,
                        max_age INTEGER NOT NULL,
                        imported_at_ms INTEGER NOT NULL);
                    CREATE TABLE signing_keys (kid TEXT NOT NULL, jwk TEXT NOT NULL);
                    CREATE INDEX signing_keys_kid ON signing_keys(kid);
                    CREATE TABLE doors (
                        id TEXT PRIMARY KEY, name TEXT, mode TEXT NOT NULL, tz TEXT NOT NULL,
                        schedule TEXT NOT NULL DEFAULT '[]') WITHOUT ROWID;
                    CREATE TABLE members (id TEXT PRIMARY KEY, blocked INTEGER NOT NULL) WITHOUT ROWID;
                    CREATE TABLE bookings (
                        id TEXT PRIMARY KEY, member TEXT NOT NULL, doors TEXT NOT NULL,
                        start INTEGER NOT NULL, "end" INTEGER NOT NULL, status TEXT NOT NULL) WITHOUT ROWID;
                    CREATE TABLE revoked (pass TEXT PRIMARY KEY, until INTEGER NOT NULL) WITHOUT ROWID;
                    CREATE TABLE pass_usage (
                        pass TEXT PRIMARY KEY, uses INTEGER NOT NULL,
                        last_door TEXT NOT NULL, last_ms INTEGER NOT NULL) WITHOUT ROWID;
                    CREATE TABLE audit_events (seq INTEGER PRIMARY KEY, \(AuditEvent.columnDefinitions));
                    CREATE INDEX audit_events_ts ON audit_events(ts_ms);
                    CREATE TABLE gateway_state (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
                    """
            )
        }
        // AG2 holder proofs seen at this gateway, kept while a replay could still fall in the window.
        migrator.registerMigration("v2") { db in
            try db.execute(
                sql: """
                    CREATE TABLE proofs_seen (digest TEXT PRIMARY KEY, until_ms INTEGER NOT NULL) WITHOUT ROWID;
                    CREATE INDEX proofs_seen_until ON proofs_seen(until_ms);
                    """
            )
        }
        // Door unlock schedules and first-person-in (docs/hq-protocol.md, doors[].unlock_schedule).
        migrator.registerMigration("v3") { db in
            try db.execute(
                sql: """
                    ALTER TABLE doors ADD COLUMN unlock_schedule TEXT NOT NULL DEFAULT '[]';
                    ALTER TABLE doors ADD COLUMN first_person_in INTEGER NOT NULL DEFAULT 0;
                    """
            )
        }
        return migrator
    }

    /// Reads in a WAL snapshot; never waits for the writer.
    func read<T>(_ body: (Database) throws -> T) throws(KeyCacheError) -> T {
        do { return try pool.read(body) } catch { throw .wrapping(error) }
    }

    /// Runs `body` in one write transaction.
    func write<T>(_ body: (Database) throws -> T) throws(KeyCacheError) -> T {
        do { return try pool.write(body) } catch { throw .wrapping(error) }
    }

    /// Runs `body` in one write transaction committed without an fsync (`synchronous=NORMAL`, for
    /// this transaction only): staged snapshot rows, which a cut transfer stages again, need not
    /// survive power loss on their own, and an fsync per batch would hold decisions up. The next
    /// commit with the store's own setting makes them durable with it.
    func writeUnsynced<T>(_ body: (Database) throws -> T) throws(KeyCacheError) -> T {
        do {
            return try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
                let result = Result { () throws -> T in
                    var value: T?
                    try db.inTransaction {
                        value = try body(db)
                        return .commit
                    }
                    return value!
                }
                // Restored before the writer is released: decisions must never commit unsynced.
                try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
                return try result.get()
            }
        } catch {
            throw .wrapping(error)
        }
    }

    /// A value from `gateway_state`.
    static func state(_ db: Database, _ key: StateKey) throws -> String? {
        // Cached: every decision reads several rows, and compiling the SQL cost more than the read.
        try String.fetchOne(
            db.cachedStatement(sql: "SELECT value FROM gateway_state WHERE key = ?"),
            arguments: [key.rawValue]
        )
    }

    static func setState(_ db: Database, _ key: StateKey, _ value: String) throws {
        try setState(db, rawKey: key.rawValue, value)
    }

    /// Sets a row by its text key: store recovery keeps rows of keys this build does not name.
    static func setState(_ db: Database, rawKey key: String, _ value: String) throws {
        try db.cachedStatement(
            sql: "INSERT INTO gateway_state(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"
        )
        .execute(arguments: [key, value])
    }

    /// The gateway id written into audit events; "unenrolled" until HQ enrolment sets it.
    public func gatewayID() throws(KeyCacheError) -> String {
        try read { db in try Self.state(db, .gatewayID) } ?? "unenrolled"
    }

    public func setGatewayID(_ id: String) throws(KeyCacheError) {
        try write { db in try Self.setState(db, .gatewayID, id) }
    }

    /// Values of `gateway_state` (enrolment, sync cursors), by key; missing keys are left out.
    public func stateValues(_ keys: [StateKey]) throws(KeyCacheError) -> [StateKey: String] {
        try read { db in
            var values: [StateKey: String] = [:]
            for key in keys { values[key] = try Self.state(db, key) }
            return values
        }
    }

    /// Sets several `gateway_state` values in one transaction.
    public func setStateValues(_ values: [StateKey: String]) throws(KeyCacheError) {
        try write { db in
            for (key, value) in values.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                try Self.setState(db, key, value)
            }
        }
    }

    /// Sets or lifts an HQ-commanded lockdown of `door`, or of every door when `door` is nil. It
    /// overrides the snapshot's door mode until HQ lifts it.
    public func setLockdown(door: String?, on: Bool) throws(KeyCacheError) {
        try write { db in
            var doors = Set(Self.lockdowns(db))
            let key = door ?? "*"
            if on { doors.insert(key) } else if door == nil { doors.removeAll() } else { doors.remove(key) }
            try Self.setState(
                db,
                .hqLockdown,
                String(decoding: try JSONEncoder().encode(doors.sorted()), as: UTF8.self)
            )
        }
    }

    /// The doors HQ holds in lockdown; `*` is every door.
    public func lockdowns() throws(KeyCacheError) -> [String] {
        try read { db in Self.lockdowns(db) }
    }

    static func lockdowns(_ db: Database) -> [String] {
        guard let text = try? state(db, .hqLockdown) else { return [] }
        return (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? []
    }

    /// Checkpoints the write-ahead log into the database file and closes it: the clean end of a
    /// shutdown. Any later use of the store throws.
    public func close() throws(KeyCacheError) {
        do {
            _ = try pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
            try pool.close()
        } catch { throw .wrapping(error) }
    }

    /// `PRAGMA integrity_check`: "ok", or SQLite's list of problems.
    public func integrityCheck() throws(KeyCacheError) -> String {
        try read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "\n") }
    }
}
