import Foundation
import GRDB
import HQProtocol

/// What `POST /v1/events` answers.
struct UploadAck: Encodable, Sendable, Equatable {
    var ackedSeq: Int64
    var stored: Int
    var duplicates: Int

    enum CodingKeys: String, CodingKey {
        case stored, duplicates
        case ackedSeq = "acked_seq"
    }
}

/// Filters for reading the uploaded events, shared by `GET /v1/events`, the page and the CLI.
struct EventFilter: Sendable, Equatable {
    /// The uploading gateway's id (`gw-3`), not the event's own field, which may say `unenrolled`.
    var gateway: String?
    /// Equal to the event's own field.
    var door, member, reason: String?
    /// Inclusive, UNIX seconds.
    var since: Double?
    /// Exclusive, UNIX seconds.
    var until: Double?
    var limit = 1000
    var order = Order.oldest

    /// How the events are listed.
    enum Order: Sendable {
        /// By time, oldest first: the API.
        case oldest
        /// By time, newest first: the page.
        case newest
        /// Each gateway's chain in seq order: the CLI, whose output can be verified as a chain.
        case chain
    }
}

extension HQDatabase {
    /// Stores a verified batch for `uploader` in one transaction, checking that it continues the
    /// chain HQ holds:
    ///
    /// - an event HQ holds with the same hash is a duplicate; with another hash, `bad_chain`;
    /// - the first new event must be the one after HQ's newest, and link to its hash
    ///   (`chain_break` otherwise);
    /// - when HQ holds nothing for the gateway, the batch may start at any seq S with any
    ///   `prev_hash`: the gateway may have pruned events 1…S−1 that an earlier HQ acknowledged.
    ///   Only seq 1 must link to the genesis hash.
    ///
    /// `acked_seq` is the batch's last seq: HQ holds every event up to it.
    func store(_ batch: UploadBatch, uploader: String, now: Double) async throws(HQError) -> UploadAck {
        try await write { db in
            guard
                let state = try Row.fetchOne(
                    db,
                    sql: "SELECT first_seq, head_seq, head_hash FROM gateways WHERE id = ?",
                    arguments: [uploader]
                )
            else { throw HQError.unauthorised("no gateway \(uploader) is enrolled") }
            let events = batch.events
            let first = events[0].seq
            let last = events[events.count - 1].seq
            var fresh = events[...]
            var duplicates = 0
            if let headSeq: Int64 = state["head_seq"] {
                let firstSeq: Int64 = state["first_seq"]
                guard first >= firstSeq else {
                    throw HQError(
                        .chainBreak,
                        "HQ holds \(uploader)'s events from seq \(firstSeq); event \(first) comes before them"
                    )
                }
                guard first <= headSeq + 1 else {
                    throw HQError(
                        .chainBreak,
                        "HQ holds \(uploader)'s events up to seq \(headSeq); the batch starts at \(first)"
                    )
                }
                if first <= headSeq {
                    let held = try String.fetchAll(
                        db,
                        sql: "SELECT hash FROM events WHERE uploader = ? AND seq BETWEEN ? AND ? ORDER BY seq",
                        arguments: [uploader, first, min(last, headSeq)]
                    )
                    guard held.count == Int(min(last, headSeq) - first + 1) else {
                        throw HQError(
                            .internal,
                            "HQ's copy of \(uploader)'s events \(first)…\(min(last, headSeq)) has gaps"
                        )
                    }
                    for (event, hash) in zip(events, held) where event.hash != hash {
                        throw HQError(.badChain, "event \(event.seq) differs from the copy HQ holds")
                    }
                    duplicates = held.count
                    fresh = events.dropFirst(duplicates)
                }
                if let next = fresh.first, next.prevHash != (state["head_hash"] as String) {
                    throw HQError(
                        .chainBreak,
                        "event \(next.seq) does not link to event \(headSeq), the newest HQ holds"
                    )
                }
            } else if first == 1, events[0].prevHash != AuditEvent.genesis {
                throw HQError(.chainBreak, "event 1 must link to the genesis hash (64 zeros)")
            }
            if !fresh.isEmpty {
                try Self.insert(fresh, uploader: uploader, db: db, receivedMs: Int64(now * 1000))
                try db.execute(
                    sql:
                        "UPDATE gateways SET first_seq = coalesce(first_seq, ?), head_seq = ?, head_hash = ? WHERE id = ?",
                    arguments: [first, last, events[events.count - 1].hash, uploader]
                )
            }
            return UploadAck(ackedSeq: last, stored: fresh.count, duplicates: duplicates)
        }
    }

    /// One prepared statement, reused for every row of the batch.
    private static func insert(
        _ events: ArraySlice<AuditEvent>,
        uploader: String,
        db: Database,
        receivedMs: Int64
    ) throws {
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO events(uploader, seq, ts_ms, gateway, door, kind, granted, reason, member, pass, booking,
                    detail, prev_hash, hash, received_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        )
        for event in events {
            statement.setUncheckedArguments([
                uploader, event.seq, event.tsMs, event.gateway, event.door, event.kind, event.granted, event.reason,
                event.member, event.pass, event.booking, event.detail, event.prevHash, event.hash, receivedMs,
            ])
            try statement.execute()
        }
    }

    /// The stored events matching `filter`.
    func events(_ filter: EventFilter) async throws(HQError) -> [StoredEvent] {
        try await read { db in try Self.events(db, filter) }
    }

    func eventsNow(_ filter: EventFilter) throws(HQError) -> [StoredEvent] {
        try readNow { db in try Self.events(db, filter) }
    }

    private static func events(_ db: Database, _ filter: EventFilter) throws -> [StoredEvent] {
        var conditions = AuditEventFilter()
        conditions.add("uploader = ?", filter.gateway)
        conditions.add("door = ?", filter.door)
        conditions.add("member = ?", filter.member)
        conditions.add("reason = ?", filter.reason)
        conditions.add("ts_ms >= ?", filter.since.map { Int64(($0 * 1000).rounded(.up)) })
        conditions.add("ts_ms < ?", filter.until.map { Int64(($0 * 1000).rounded(.up)) })
        var sql = "SELECT * FROM events" + conditions.whereSQL
        switch filter.order {
        case .oldest: sql += " ORDER BY ts_ms, uploader, seq"
        case .newest: sql += " ORDER BY ts_ms DESC, uploader, seq DESC"
        case .chain: sql += " ORDER BY uploader, seq"
        }
        sql += " LIMIT \(max(0, filter.limit))"
        let arguments = StatementArguments(conditions.values.map { $0 as? any DatabaseValueConvertible })
        return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
            // The columns are AuditEvent.CodingKeys: GRDB decodes the event by them.
            return StoredEvent(uploader: row["uploader"], event: try AuditEvent(row: row))
        }
    }

    /// The columns the page suggests values for.
    enum SuggestedColumn: String, Sendable {
        case door, reason
    }

    /// Distinct values of a column, for the page's suggestions.
    func distinctValues(_ column: SuggestedColumn) async throws(HQError) -> [String] {
        let name = column.rawValue
        return try await read { db in
            try String.fetchAll(
                db,
                sql: "SELECT DISTINCT \(name) FROM events WHERE \(name) IS NOT NULL ORDER BY 1 LIMIT 200"
            )
        }
    }

    /// Each gateway with the range of events HQ holds, for the page.
    func gatewayStates() async throws(HQError) -> [GatewayState] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT id, name, first_seq, head_seq, revoked_at FROM gateways ORDER BY num").map
            { row in
                GatewayState(
                    id: row["id"],
                    name: row["name"],
                    firstSeq: row["first_seq"],
                    headSeq: row["head_seq"],
                    revoked: (row["revoked_at"] as Int64?) != nil
                )
            }
        }
    }
}

/// An event as HQ holds it, and who uploaded it.
struct StoredEvent: Sendable {
    var uploader: String
    var event: AuditEvent

    /// The upload-format JSON text.
    var body: String { event.uploadJSON }
}

/// An enrolled gateway and the part of its chain HQ holds.
struct GatewayState: Sendable {
    var id: String
    var name: String
    var firstSeq: Int64?
    var headSeq: Int64?
    var revoked: Bool
}

/// An uploaded event read back from HQ's `events` table, whose columns are the event's.
extension AuditEvent: FetchableRecord {}
