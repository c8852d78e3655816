import Foundation
import GRDB
import HQProtocol

extension AuditEvent {
    /// An event as its row in `audit_events` holds it.
    init(row: Row) {
        self.init(
            seq: row["seq"],
            tsMs: row["ts_ms"],
            gateway: row["gateway"],
            door: row["door"],
            kind: row["kind"],
            granted: row["granted"],
            reason: row["reason"],
            member: row["member"],
            pass: row["pass"],
            booking: row["booking"],
            detail: row["detail"],
            prevHash: row["prev_hash"],
            hash: row["hash"]
        )
    }
}

/// What a new audit event says; the chain fills in seq, hashes and the gateway id.
public struct AuditEntry: Sendable {
    public var tsMs: Int64
    public var door: String?
    public var kind: String
    public var granted: Bool
    public var reason: String
    public var member: String?
    public var pass: String?
    public var booking: String?
    /// JSON object members; encoded with sorted keys.
    public var detail: [String: String]

    public init(
        tsMs: Int64,
        door: String?,
        kind: String,
        granted: Bool,
        reason: String,
        member: String? = nil,
        pass: String? = nil,
        booking: String? = nil,
        detail: [String: String] = [:]
    ) {
        self.tsMs = tsMs
        self.door = door
        self.kind = kind
        self.granted = granted
        self.reason = reason
        self.member = member
        self.pass = pass
        self.booking = booking
        self.detail = detail
    }
}

/// The result of walking the chain.
public enum ChainVerification: Sendable, Equatable {
    /// Every event from the checkpoint to the head links and hashes correctly.
    case intact(events: Int)
    /// The first event that does not fit, and why.
    case broken(seq: Int64, why: String)
}

/// The hash-chained audit log in `audit_events`.
///
/// The first event links to ``AuditEvent/genesis``. After pruning, the chain restarts from a stored
/// checkpoint: the seq and hash of the last pruned event.
public enum AuditChain {
    /// Appends one event inside the caller's write transaction and returns it.
    static func append(_ entry: AuditEntry, gateway: String, in db: Database) throws -> AuditEvent {
        let headSeq = Int64(try GatewayStore.state(db, .headSeq) ?? "0") ?? 0
        let headHash = try GatewayStore.state(db, .headHash) ?? AuditEvent.genesis
        let detail: String
        if entry.detail.isEmpty {
            // What the encoder writes for no members; most grants have none, and the encoder is slow.
            detail = "{}"
        } else {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            detail = String(decoding: try encoder.encode(entry.detail), as: UTF8.self)
        }
        var event = AuditEvent(
            seq: headSeq + 1,
            tsMs: entry.tsMs,
            gateway: gateway,
            door: entry.door,
            kind: entry.kind,
            granted: entry.granted,
            reason: entry.reason,
            member: entry.member,
            pass: entry.pass,
            booking: entry.booking,
            detail: detail,
            prevHash: headHash,
            hash: ""
        )
        event.seal()
        try db.cachedStatement(
            sql: """
                INSERT INTO audit_events(seq, ts_ms, gateway, door, kind, granted, reason, member, pass, booking,
                    detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        )
        .execute(
            arguments: [
                event.seq, event.tsMs, event.gateway, event.door, event.kind, event.granted, event.reason,
                event.member, event.pass, event.booking, event.detail, event.prevHash, event.hash,
            ]
        )
        // The head is kept apart from the table, so that deleting the newest rows is detected too.
        try GatewayStore.setState(db, .headSeq, String(event.seq))
        try GatewayStore.setState(db, .headHash, event.hash)
        return event
    }
}

extension GatewayStore {
    /// Appends an event in its own durable transaction.
    @discardableResult
    public func appendAudit(_ entry: AuditEntry) throws(KeyCacheError) -> AuditEvent {
        try write { db in
            try AuditChain.append(entry, gateway: try Self.state(db, .gatewayID) ?? "unenrolled", in: db)
        }
    }

    /// Appends several events in one durable transaction, in order (imports, benchmarks).
    public func appendAudit(batch entries: [AuditEntry]) throws(KeyCacheError) {
        try write { db in
            let gateway = try Self.state(db, .gatewayID) ?? "unenrolled"
            for entry in entries { _ = try AuditChain.append(entry, gateway: gateway, in: db) }
        }
    }

    /// Walks the chain from the checkpoint (or genesis) to the stored head.
    public func verifyAuditChain() throws(KeyCacheError) -> ChainVerification {
        try read { db in
            var expectedSeq = Int64(try Self.state(db, .checkpointSeq) ?? "0") ?? 0
            // Pruning only removes what HQ acknowledged; a checkpoint past the cursor hides deletions.
            let acknowledged = Int64(try Self.state(db, .uploadCursor) ?? "0") ?? 0
            if expectedSeq > acknowledged {
                return .broken(
                    seq: acknowledged + 1,
                    why: "events up to \(expectedSeq) are gone, but HQ only acknowledged \(acknowledged)"
                )
            }
            // HQ acknowledged every event up to the cursor: a head below it means acknowledged events
            // were cut, and the head rewritten to match.
            let claimedHead = Int64(try Self.state(db, .headSeq) ?? "0") ?? 0
            if claimedHead < acknowledged {
                return .broken(
                    seq: claimedHead + 1,
                    why: "the head is seq \(claimedHead), below the upload cursor \(acknowledged): events HQ acknowledged are gone"
                )
            }
            var prevHash = try Self.state(db, .checkpointHash) ?? AuditEvent.genesis
            var count = 0
            let cursor = try Row.fetchCursor(db, sql: "SELECT * FROM audit_events ORDER BY seq")
            while let row = try cursor.next() {
                let event = AuditEvent(row: row)
                expectedSeq += 1
                if event.seq < expectedSeq {
                    return .broken(seq: event.seq, why: "event \(event.seq) precedes the checkpoint")
                }
                if event.seq > expectedSeq {
                    return .broken(seq: expectedSeq, why: "event \(expectedSeq) is missing")
                }
                if event.prevHash != prevHash {
                    return .broken(seq: event.seq, why: "event \(event.seq) does not link to the event before it")
                }
                if AuditEvent.chainHash(prevHash: prevHash, canonical: event.canonicalBytes) != event.hash {
                    return .broken(seq: event.seq, why: "event \(event.seq) was altered")
                }
                prevHash = event.hash
                count += 1
            }
            let headSeq = Int64(try Self.state(db, .headSeq) ?? "0") ?? 0
            if headSeq > expectedSeq {
                return .broken(seq: expectedSeq + 1, why: "events \(expectedSeq + 1)…\(headSeq) are missing")
            }
            let headHash = try Self.state(db, .headHash) ?? AuditEvent.genesis
            if headSeq < expectedSeq || headHash != prevHash {
                return .broken(seq: expectedSeq, why: "event \(expectedSeq) is not the recorded head")
            }
            return .intact(events: count)
        }
    }

    /// Filters for reading the audit log.
    public struct AuditQuery: Sendable {
        public var sinceMs: Int64?
        public var untilMs: Int64?
        public var member: String?
        public var door: String?
        public var reason: String?
        public var deniedOnly = false
        public var afterSeq: Int64?
        public var limit: Int?

        public init() {}
    }

    /// Events matching `query`, oldest first.
    public func auditEvents(_ query: AuditQuery) throws(KeyCacheError) -> [AuditEvent] {
        try read { db in
            var filter = AuditEventFilter()
            filter.add("ts_ms >= ?", query.sinceMs)
            filter.add("ts_ms <= ?", query.untilMs)
            filter.add("member = ?", query.member)
            filter.add("door = ?", query.door)
            filter.add("reason = ?", query.reason)
            filter.add("seq > ?", query.afterSeq)
            filter.add("granted = 0", when: query.deniedOnly)
            var sql = "SELECT * FROM audit_events" + filter.whereSQL + " ORDER BY seq"
            if let limit = query.limit { sql += " LIMIT \(limit)" }
            let arguments = StatementArguments(filter.values.map { $0 as? any DatabaseValueConvertible })
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map(AuditEvent.init(row:))
        }
    }

    /// How many events HQ has not acknowledged yet: the head's seq less the upload cursor (seqs
    /// have no gaps), read without touching the events, so every scrape costs the same.
    public func uploadBacklog() throws(KeyCacheError) -> Int {
        try read { db in
            let cursor = Int64(try Self.state(db, .uploadCursor) ?? "0") ?? 0
            let head = Int64(try Self.state(db, .headSeq) ?? "0") ?? 0
            return Int(max(0, head - cursor))
        }
    }

    /// The highest seq HQ has acknowledged; uploads resume after it.
    public func uploadCursor() throws(KeyCacheError) -> Int64 {
        try read { db in Int64(try Self.state(db, .uploadCursor) ?? "0") ?? 0 }
    }

    /// Advances the upload cursor after HQ's acknowledgement; it never moves back.
    public func advanceUploadCursor(to seq: Int64) throws(KeyCacheError) {
        try write { db in
            let current = Int64(try Self.state(db, .uploadCursor) ?? "0") ?? 0
            if seq > current { try Self.setState(db, .uploadCursor, String(seq)) }
        }
    }

    /// Deletes uploaded events older than `beforeMs`, never one past the upload cursor, and stores
    /// the last pruned event's seq and hash as the checkpoint the chain is verified from.
    /// Returns how many events were pruned.
    @discardableResult
    public func pruneAudit(olderThanMs beforeMs: Int64) throws(KeyCacheError) -> Int {
        try write { db in
            let cursor = Int64(try Self.state(db, .uploadCursor) ?? "0") ?? 0
            guard
                let last = try Row.fetchOne(
                    db,
                    sql: "SELECT seq, hash FROM audit_events WHERE seq <= ? AND ts_ms < ? ORDER BY seq DESC LIMIT 1",
                    arguments: [cursor, beforeMs]
                )
            else { return 0 }
            let seq: Int64 = last["seq"]
            try db.execute(sql: "DELETE FROM audit_events WHERE seq <= ?", arguments: [seq])
            let pruned = db.changesCount
            try Self.setState(db, .checkpointSeq, String(seq))
            try Self.setState(db, .checkpointHash, last["hash"])
            return pruned
        }
    }
}
