import Foundation
import HQProtocol
import KeyCache
import NIOHTTP1

/// The board's audit log compared with a witness outside it, the copy HQ holds or the daemon's
/// lines in the journal: the checks of the log's newest events that do not rest on the board's
/// own database, which whoever can write it can rewrite whole (`gatewayctl log verify`;
/// docs/security.md says what each check proves).
public enum AuditCrossCheck: Sendable, Equatable {
    /// The witness's newest event is in the board's log with the same hash (or it saw none yet).
    case agrees(hqSeq: Int64)
    /// The board's log does not hold what the witness saw: its newest events were cut or rewritten.
    case disagrees(String)
    /// The witness could not be asked (not enrolled, unreachable, no journal); nothing is proved.
    case notChecked(String)

    /// Who saw the log's newest event outside the database.
    public enum Witness: Sendable {
        /// HQ's copy (`GET /v1/events/head`).
        case hq
        /// The daemon's log lines in the journal (`JournalWitness`).
        case journal
    }

    /// Compares HQ's newest event (`hqSeq`, `hqHash`) with the board's log in `store`.
    public static func compare(hqSeq: Int64, hqHash: String, store: GatewayStore) throws(KeyCacheError) -> AuditCrossCheck {
        try compare(seq: hqSeq, hash: hqHash, store: store, witness: .hq)
    }

    /// Compares the newest event `witness` saw (`seq`, `hash`) with the board's log in `store`.
    public static func compare(seq: Int64, hash: String, store: GatewayStore, witness: Witness) throws(KeyCacheError)
        -> AuditCrossCheck
    {
        guard seq > 0 else { return .agrees(hqSeq: 0) }
        let state = try store.stateValues([.headSeq, .checkpointSeq, .checkpointHash])
        let head = Int64(state[.headSeq] ?? "0") ?? 0
        if head < seq {
            let saw = witness == .hq ? "HQ holds this gateway's events up to seq \(seq)" : "the journal saw event \(seq)"
            return .disagrees("\(saw), but the board's log ends at seq \(head): its newest events were cut")
        }
        let checkpoint = Int64(state[.checkpointSeq] ?? "0") ?? 0
        let local: String?
        if seq == checkpoint {
            local = state[.checkpointHash]
        } else if seq < checkpoint {
            // Pruned after HQ acknowledged it: only the seq can be compared.
            return .agrees(hqSeq: seq)
        } else {
            var query = GatewayStore.AuditQuery()
            query.afterSeq = seq - 1
            query.limit = 1
            local = try store.auditEvents(query).first.flatMap { $0.seq == seq ? $0.hash : nil }
        }
        let holder = witness == .hq ? "which HQ holds" : "which the journal saw"
        guard let local else { return .disagrees("event \(seq), \(holder), is missing from the board's log") }
        guard local == hash else {
            return .disagrees("event \(seq) differs from \(witness == .hq ? "the copy HQ holds" : "what the journal saw")")
        }
        return .agrees(hqSeq: seq)
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
