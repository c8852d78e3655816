import Foundation
import KeyCache
import NIOHTTP1

/// The board's audit log compared with the copy HQ holds: the one check of the log's newest
/// events that does not rest on the board's own database, which whoever can write it can rewrite
/// whole (`gatewayctl log verify`; docs/security.md says what each check proves).
public enum AuditCrossCheck: Sendable, Equatable {
    /// HQ's newest event is in the board's log with the same hash (or HQ holds none yet).
    case agrees(hqSeq: Int64)
    /// The board's log does not hold what HQ holds: its newest events were cut or rewritten.
    case disagrees(String)
    /// HQ could not be asked (not enrolled, unreachable); nothing is proved either way.
    case notChecked(String)

    /// Compares HQ's newest event (`hqSeq`, `hqHash`) with the board's log in `store`.
    public static func compare(hqSeq: Int64, hqHash: String, store: GatewayStore) throws(KeyCacheError) -> AuditCrossCheck {
        guard hqSeq > 0 else { return .agrees(hqSeq: 0) }
        let state = try store.stateValues(["head_seq", "checkpoint_seq", "checkpoint_hash"])
        let head = Int64(state["head_seq"] ?? "0") ?? 0
        if head < hqSeq {
            return .disagrees(
                "HQ holds this gateway's events up to seq \(hqSeq), but the board's log ends at seq \(head): its newest events were cut"
            )
        }
        let checkpoint = Int64(state["checkpoint_seq"] ?? "0") ?? 0
        let local: String?
        if hqSeq == checkpoint {
            local = state["checkpoint_hash"]
        } else if hqSeq < checkpoint {
            // Pruned after HQ acknowledged it: only the seq can be compared.
            return .agrees(hqSeq: hqSeq)
        } else {
            var query = GatewayStore.AuditQuery()
            query.afterSeq = hqSeq - 1
            query.limit = 1
            local = try store.auditEvents(query).first.flatMap { $0.seq == hqSeq ? $0.hash : nil }
        }
        guard let local else { return .disagrees("event \(hqSeq), which HQ holds, is missing from the board's log") }
        guard local == hqHash else { return .disagrees("event \(hqSeq) differs from the copy HQ holds") }
        return .agrees(hqSeq: hqSeq)
    }
}

extension HQClient {
    /// `GET /v1/events/head`: the newest seq and hash HQ holds for this gateway (0 and the genesis
    /// hash when none).
    public func eventsHead(token: String) async throws(HQSyncError) -> (seq: Int64, hash: String) {
        let reply = try await send(.GET, "/v1/events/head", token: token)
        guard reply.status == .ok else {
            throw .badResponse("events head: HTTP \(reply.status.code): \(reply.problem.message)")
        }
        let object = try Self.object(reply, "events head")
        guard let seq = (object["seq"] as? NSNumber)?.int64Value, let hash = object["hash"] as? String else {
            throw .badResponse("events head: the answer lacks seq or hash")
        }
        return (seq, hash)
    }
}

extension GatewaySync {
    /// Asks HQ for the newest event it holds of this gateway and compares it with the board's log.
    public func crossCheckAuditLog() async -> AuditCrossCheck {
        do {
            let head = try await client.eventsHead(token: try token())
            return try AuditCrossCheck.compare(hqSeq: head.seq, hqHash: head.hash, store: store)
        } catch {
            return .notChecked("\(error)")
        }
    }
}
