import AccessToken
import Foundation
import GRDB
import HQProtocol

/// HQ's keys and name, made on the database's first use and kept in it.
struct HQIdentity: Sendable {
    static let rootKid = "hq-root-1"
    static let passKid = "hq-pass-1"
    static let defaultIssuer = "hq.dev.example"

    /// Signs snapshots and commands; gateways pin its public half at enrolment.
    var rootKey: SigningKey
    /// Signs member passes; snapshots carry its public half in `keys`.
    var passKey: SigningKey
    /// The `iss` of every pass, and the `aud` of every device token.
    var issuer: String

    var rootPublicJWK: [String: String] { rootKey.publicJWK(kid: Self.rootKid) }
    var passPublicJWK: [String: String] { passKey.publicJWK(kid: Self.passKid) }
}

/// The reference HQ's SQLite database: keys, enrolment codes, gateways, snapshot versions, the
/// uploaded audit events and the command queue.
///
/// The server and the CLI share it: WAL mode, so readers never wait, and a busy timeout, so that
/// `access-hq-dev code` can write while the server runs. `synchronous=FULL`, because an upload is
/// acknowledged only once it is durable: the gateway may prune what HQ acknowledged.
final class HQDatabase: Sendable {
    let pool: DatabasePool
    let identity: HQIdentity

    /// Opens (creating and migrating) the database at `path`. On first use it makes HQ's keys and
    /// takes `issuer` (default `hq.dev.example`); later, an `issuer` that differs is refused.
    init(path: String, issuer: String? = nil) throws(HQError) {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: directory) else {
            throw .usage("directory \(directory) does not exist")
        }
        let isNew = !FileManager.default.fileExists(atPath: path)
        var config = Configuration()
        // The CLI and the server write the same file; a short wait beats SQLITE_BUSY.
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            pool = try DatabasePool(path: path, configuration: config)
            // The file holds HQ's private keys. Opening made the -wal and -shm files already, and
            // the keys pass through the -wal first.
            if isNew {
                for file in [path, path + "-wal", path + "-shm"] { chmod(file, 0o600) }
            }
            try Self.migrator.migrate(pool)
            identity = try pool.write { db in try Self.identity(db, issuer: issuer) }
        } catch {
            throw .database(error)
        }
    }

    /// Versioned schema migrations. Never edit a shipped migration; add a new one.
    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
                    CREATE TABLE enrolment_codes (
                        code TEXT PRIMARY KEY,
                        doors TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        expires_at INTEGER NOT NULL,
                        gateway TEXT,
                        used_at INTEGER) WITHOUT ROWID;
                    CREATE TABLE gateways (
                        num INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        name TEXT NOT NULL,
                        public_key TEXT NOT NULL,
                        thumbprint TEXT NOT NULL,
                        doors TEXT NOT NULL,
                        enrolled_at INTEGER NOT NULL,
                        revoked_at INTEGER,
                        first_seq INTEGER,
                        head_seq INTEGER,
                        head_hash TEXT);
                    CREATE TABLE snapshots (
                        seq INTEGER PRIMARY KEY,
                        json BLOB NOT NULL,
                        signed BLOB NOT NULL,
                        created_at INTEGER NOT NULL);
                    CREATE TABLE events (
                        uploader TEXT NOT NULL,
                        seq INTEGER NOT NULL,
                        \(AuditEvent.columnDefinitions),
                        received_ms INTEGER NOT NULL,
                        PRIMARY KEY (uploader, seq)) WITHOUT ROWID;
                    CREATE INDEX events_ts ON events(ts_ms);
                    CREATE INDEX events_door ON events(door, ts_ms);
                    CREATE INDEX events_member ON events(member, ts_ms);
                    CREATE TABLE commands (
                        cursor INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        gateway TEXT NOT NULL,
                        json BLOB NOT NULL,
                        signed BLOB NOT NULL,
                        created_at INTEGER NOT NULL);
                    CREATE INDEX commands_gateway ON commands(gateway, cursor);
                    """
            )
        }
        // Full snapshots are served as a signed manifest and gzip chunks; a version published
        // before this (no chunks) is still served whole.
        migrator.registerMigration("v2-snapshot-chunks") { db in
            try db.execute(
                sql: """
                    CREATE TABLE snapshot_chunks (
                        seq INTEGER NOT NULL,
                        idx INTEGER NOT NULL,
                        data BLOB NOT NULL,
                        raw_size INTEGER NOT NULL,
                        PRIMARY KEY (seq, idx)) WITHOUT ROWID;
                    """
            )
        }
        return migrator
    }

    /// Loads HQ's identity, making it on first use.
    private static func identity(_ db: Database, issuer: String?) throws -> HQIdentity {
        func key(_ name: String) throws -> SigningKey {
            if let stored = try setting(db, name) { return try SigningKey.fromJWK(Data(stored.utf8)).key }
            let key = SigningKey.generate(.es256)
            let kid = name == "root_key" ? HQIdentity.rootKid : HQIdentity.passKid
            try setSetting(db, name, String(decoding: try JSON.encoder.encode(key.privateJWK(kid: kid)), as: UTF8.self))
            return key
        }
        let stored = try setting(db, "issuer")
        if let stored, let issuer, stored != issuer {
            throw HQError.usage(
                "this database's issuer is \(stored); --issuer only applies when the database is created"
            )
        }
        if stored == nil { try setSetting(db, "issuer", issuer ?? HQIdentity.defaultIssuer) }
        return HQIdentity(
            rootKey: try key("root_key"),
            passKey: try key("pass_key"),
            issuer: stored ?? issuer ?? HQIdentity.defaultIssuer
        )
    }

    static func setting(_ db: Database, _ key: String) throws -> String? {
        try String.fetchOne(db, sql: "SELECT value FROM settings WHERE key = ?", arguments: [key])
    }

    static func setSetting(_ db: Database, _ key: String, _ value: String) throws {
        try db.execute(sql: "INSERT OR REPLACE INTO settings(key, value) VALUES (?, ?)", arguments: [key, value])
    }

    // MARK: - Access

    /// One write transaction (IMMEDIATE, so the CLI and the server queue on the busy timeout).
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(HQError) -> T {
        do { return try await pool.write(body) } catch { throw .database(error) }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(HQError) -> T {
        do { return try await pool.read(body) } catch { throw .database(error) }
    }

    /// The blocking forms, for the CLI.
    func writeNow<T>(_ body: (Database) throws -> T) throws(HQError) -> T {
        do { return try pool.write(body) } catch { throw .database(error) }
    }

    func readNow<T>(_ body: (Database) throws -> T) throws(HQError) -> T {
        do { return try pool.read(body) } catch { throw .database(error) }
    }
}

/// Seconds since the epoch, as the protocol counts them.
func unixNow() -> Double { Date().timeIntervalSince1970 }
