import Foundation
import GRDB
import HQProtocol

/// What ``GatewayStore/openRecovering(path:now:)`` did with a damaged database.
public struct StoreRecovery: Sendable, Equatable, CustomStringConvertible {
    /// Where the damaged file was moved, for investigation.
    public var quarantined: String
    /// What was wrong with it.
    public var problem: String
    /// Audit events not yet acknowledged by HQ that were read back and kept, chain intact.
    public var salvagedEvents: Int
    /// The newest seq the damaged file claimed, when events after the salvaged ones were lost.
    public var lostThroughSeq: Int64?
    /// Whether the gateway's state (enrolment, upload cursor, HQ lockdowns) was read back.
    public var keptState: Bool
    /// Pass use counts read back (`pass_usage`): a used-up pass stays used up.
    public var keptPassUses: Int = 0
    /// AG2 proofs seen read back (`proofs_seen`): a seen proof stays `replayed`.
    public var keptProofs: Int = 0

    public var description: String {
        var text = "the database was damaged (\(problem)); it was moved to \(quarantined). "
        text += keptState ? "The enrolment and upload position were kept" : "Nothing of its state could be read"
        text += ", \(salvagedEvents) unsent audit events, \(keptPassUses) pass use counts and \(keptProofs) seen proofs were kept"
        if let lost = lostThroughSeq { text += ", and unsent events up to seq \(lost) could not be read" }
        text += ". The snapshot is pulled again from HQ."
        if !keptState { text += " Enrol the gateway again: gatewayctl provision." }
        return text
    }
}

extension GatewayStore {
    /// State that describes the snapshot, dropped on recovery so that the next sync pulls it whole.
    static let snapshotStateKeys: Set<String> = Set([StateKey.snapshotEtag, .healthProbe, .snapshotCounts].map(\.rawValue))

    /// Opens the store at `path`; if it is damaged (not a database, or `PRAGMA quick_check` fails),
    /// moves it aside as `PATH.corrupt-TIME` with its WAL, starts a new one, and keeps what can be
    /// read of the old one: the gateway's state, the audit events HQ has not acknowledged, with
    /// their seqs and hashes, so the chain HQ holds goes on unbroken, and the pass use counts and
    /// seen AG2 proofs, so that a damaged file gives no fresh use and no replay. The snapshot tables are not
    /// kept: a damaged snapshot is not trusted, and the next sync replaces it.
    public static func openRecovering(
        path: String,
        now: Double = Date().timeIntervalSince1970
    ) throws(KeyCacheError) -> (GatewayStore, StoreRecovery?) {
        let problem: String
        do {
            let store = try GatewayStore(path: path)
            let check = try store.read { db in
                // The check reads the whole file: with the default 2 MB page cache it would leave the
                // reader holding 2 MB that no decision needs (the daemon's idle memory).
                try db.execute(sql: "PRAGMA cache_size = -256")
                defer { try? db.execute(sql: "PRAGMA cache_size = -2000") }
                return try String.fetchAll(db, sql: "PRAGMA quick_check").joined(separator: "; ")
            }
            if check == "ok" { return (store, nil) }
            problem = "quick_check: \(check.prefix(200))"
            try? store.pool.close()
        } catch {
            // A missing directory or a permission problem is not damage: the caller reports it.
            guard FileManager.default.fileExists(atPath: path), Self.looksDamaged(error) else { throw error }
            problem = "\(error)".prefix(200).description
        }
        let quarantined = "\(path).corrupt-\(Int(now))"
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
            do { try FileManager.default.moveItem(atPath: path + suffix, toPath: quarantined + suffix) } catch {
                throw .database("cannot move the damaged database aside: \(error)")
            }
        }
        let salvage = Salvage(path: quarantined)
        let store = try GatewayStore(path: path)
        let recovery = StoreRecovery(
            quarantined: quarantined,
            problem: problem,
            salvagedEvents: salvage.events.count,
            lostThroughSeq: salvage.claimedHead.flatMap { head in
                head > (salvage.events.last?.seq ?? salvage.cursor) ? head : nil
            },
            keptState: !salvage.state.isEmpty,
            keptPassUses: salvage.passUses.count,
            keptProofs: salvage.proofs.count
        )
        try store.write { db in
            // Every row is kept, also those of keys this build does not name.
            for (key, value) in salvage.state where !snapshotStateKeys.contains(key) {
                try setState(db, rawKey: key, value)
            }
            for row in salvage.passUses {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO pass_usage(pass, uses, last_door, last_ms) VALUES (?, ?, ?, ?)",
                    arguments: [row["pass"], row["uses"], row["last_door"], row["last_ms"]]
                )
            }
            for row in salvage.proofs {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO proofs_seen(digest, until_ms) VALUES (?, ?)",
                    arguments: [row["digest"], row["until_ms"]]
                )
            }
            for event in salvage.events {
                try db.execute(
                    sql: """
                        INSERT INTO audit_events(seq, ts_ms, gateway, door, kind, granted, reason, member, pass,
                            booking, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        event.seq, event.tsMs, event.gateway, event.door, event.kind, event.granted, event.reason,
                        event.member, event.pass, event.booking, event.detail, event.prevHash, event.hash,
                    ]
                )
            }
            // The kept events start the verifiable chain; the head is the last one that could be read.
            if let first = salvage.events.first, let last = salvage.events.last {
                try setState(db, .checkpointSeq, String(first.seq - 1))
                try setState(db, .checkpointHash, first.prevHash)
                try setState(db, .headSeq, String(last.seq))
                try setState(db, .headHash, last.hash)
            } else if let cursorHash = salvage.cursorHash {
                try setState(db, .checkpointSeq, String(salvage.cursor))
                try setState(db, .checkpointHash, cursorHash)
                try setState(db, .headSeq, String(salvage.cursor))
                try setState(db, .headHash, cursorHash)
            }
            _ = try AuditChain.append(
                AuditEntry(
                    tsMs: Int64((now * 1000).rounded(.down)),
                    door: nil,
                    kind: "store",
                    granted: false,
                    reason: "store_recovered",
                    detail: [
                        "quarantined": quarantined, "problem": problem, "salvaged_events": String(salvage.events.count),
                        "lost_through_seq": recovery.lostThroughSeq.map(String.init) ?? "",
                    ]
                ),
                gateway: try state(db, .gatewayID) ?? "unenrolled",
                in: db
            )
        }
        return (store, recovery)
    }

    /// SQLite's "database disk image is malformed" (`SQLITE_CORRUPT`, 11) and "file is not a
    /// database" (`SQLITE_NOTADB`, 26), by result code.
    static func looksDamaged(_ error: KeyCacheError) -> Bool {
        guard case .sqlite(let code, _) = error else { return false }
        return code == ResultCode.SQLITE_CORRUPT.rawValue || code == ResultCode.SQLITE_NOTADB.rawValue
    }

    /// What could be read from a damaged file, each part on its own so one bad page loses little.
    struct Salvage {
        var state: [String: String] = [:]
        var cursor: Int64 = 0
        var cursorHash: String?
        var claimedHead: Int64?
        var events: [AuditEvent] = []
        var passUses: [Row] = []
        var proofs: [Row] = []

        init(path: String) {
            var configuration = Configuration()
            configuration.readonly = true
            guard let queue = try? DatabaseQueue(path: path, configuration: configuration) else { return }
            if let rows = try? queue.read({ db in try Row.fetchAll(db, sql: "SELECT key, value FROM gateway_state") }) {
                for row in rows { state[row["key"]] = row["value"] }
            }
            cursor = Int64(state[StateKey.uploadCursor.rawValue] ?? "0") ?? 0
            claimedHead = Int64(state[StateKey.headSeq.rawValue] ?? "")
            if state[StateKey.headSeq.rawValue] == String(cursor) { cursorHash = state[StateKey.headHash.rawValue] }
            // Row by row, in seq order, until the first unreadable page: the chain must not have gaps.
            try? queue.read { db in
                let rows = try Row.fetchCursor(
                    db,
                    sql: "SELECT * FROM audit_events WHERE seq > ? ORDER BY seq",
                    arguments: [cursor]
                )
                var expected = cursor + 1
                while let row = try rows.next() {
                    let event = AuditEvent(row: row)
                    guard event.seq == expected, events.last.map({ $0.hash == event.prevHash }) ?? true,
                        event.hash == AuditEvent.chainHash(
                        prevHash: event.prevHash,
                        canonical: event.canonicalBytes
                    ) else { break }
                    events.append(event)
                    expected += 1
                }
            }
            if cursorHash == nil, let first = events.first { cursorHash = first.prevHash }
            passUses = Self.readable(queue, "SELECT pass, uses, last_door, last_ms FROM pass_usage")
            proofs = Self.readable(queue, "SELECT digest, until_ms FROM proofs_seen")
        }

        /// The rows of `sql` up to the first unreadable page: each kept row stands on its own.
        static func readable(_ queue: DatabaseQueue, _ sql: String) -> [Row] {
            var rows: [Row] = []
            try? queue.read { db in
                let cursor = try Row.fetchCursor(db, sql: sql)
                while let row = try cursor.next() { rows.append(row.copy()) }
            }
            return rows
        }
    }
}
