import AccessPolicy
import AccessToken
import Foundation
import GRDB
import HQProtocol
import Synchronization

/// Decides on passes at a door with the stored snapshot, counts pass uses, and records every
/// decision in the audit chain before returning it.
///
/// The decision itself is ``AccessPolicy``'s, in the order docs/hq-protocol.md gives ("The
/// decision"). This is the store's side: it reads what the policy asks for inside one write
/// transaction, applies the writes the policy wants (a proof remembered, a use counted) and
/// appends the audit event in that same transaction. Use counts are this board's: boards do not
/// share them.
public final class AccessDecider: Sendable {
    public let store: GatewayStore
    public let policy: AccessPolicy
    /// Clock skew for pass times and booking windows, in seconds.
    public var skew: Double { policy.skew }
    /// A rescan of the same pass at the same door within this many seconds of its counted use is
    /// the same presentation (one use). It matches the scan gate's 3 s cooldown: any longer and a
    /// single-use pass shown again after the cooldown would open the door twice.
    public var debounce: Double { policy.debounce }
    public var stalePolicy: StaleSnapshotPolicy { policy.stalePolicy }

    /// The verifier for the stored snapshot's seq, so keys are parsed once per snapshot.
    private let verifierCache = Mutex<(seq: Int64, verifier: PassVerifier)?>(nil)
    /// Door schedules decoded once, not on every decision.
    private let schedules = ScheduleCache()

    public init(
        store: GatewayStore,
        skew: Double = 60,
        debounce: Double = 3,
        stalePolicy: StaleSnapshotPolicy = .deny
    ) {
        self.store = store
        policy = AccessPolicy(skew: skew, debounce: debounce, stalePolicy: stalePolicy)
    }

    /// Decides on pass `text` (AG1, or AG2 with a holder proof) at `door` with the clock at
    /// `now`, and records the decision. `clockTrusted` false (no synchronised clock, no recent
    /// agreement with HQ) turns every decision that depends on time into `clock_untrusted`, after
    /// the signature checks. `holderBound` is the door's policy; an AG2 proof must be within
    /// `proofWindow` seconds of `now`.
    public func decide(
        _ text: String,
        door: String,
        now: Double,
        clockTrusted: Bool = true,
        holderBound: HolderBoundPolicy = .optional,
        proofWindow: Double = 30
    ) throws(KeyCacheError)
        -> AccessDecision
    {
        try decide(
            ScannedPass(text: text),
            door: door,
            now: now,
            clockTrusted: clockTrusted,
            holderBound: holderBound,
            proofWindow: proofWindow
        )
    }

    /// Decides on a pass the caller has read already, as the text form does: the daemon reads each
    /// code once, for the rate limiter and this decision.
    public func decide(
        _ scanned: ScannedPass,
        door: String,
        now: Double,
        clockTrusted: Bool = true,
        holderBound: HolderBoundPolicy = .optional,
        proofWindow: Double = 30
    ) throws(KeyCacheError)
        -> AccessDecision
    {
        // Milliseconds of the year 9999 still fit an Int64; anything else is a broken clock.
        guard now.isFinite, now >= 0, now < 253_402_300_800 else { throw .badClock("time \(now) is not a UNIX time") }
        let holder = AccessPolicy.HolderCheck(policy: holderBound, window: proofWindow)
        return try store.write { db in
            let snapshot = try self.snapshot(db)
            let decided = try self.policy.decide(
                scanned,
                door: door,
                now: now,
                clockTrusted: clockTrusted,
                holder: holder,
                snapshot: snapshot,
                records: StoreRecords(db: db, schedules: self.schedules)
            )
            try StoreRecords.apply(decided.writes, now: now, db)
            var outcome = decided.decision
            let event = try AuditChain.append(
                AuditEntry(
                    tsMs: Int64((now * 1000).rounded(.down)),
                    door: door,
                    kind: "decision",
                    granted: outcome.granted,
                    reason: outcome.reason.rawValue,
                    member: outcome.member,
                    pass: outcome.pass,
                    booking: outcome.booking,
                    detail: (outcome.detail.isEmpty ? [:] : ["why": outcome.detail]).merging(
                        outcome.staleSnapshot.map { ["stale_snapshot": $0] } ?? [:]
                    ) { a, _ in a }
                ),
                gateway: try GatewayStore.state(db, .gatewayID) ?? "unenrolled",
                in: db
            )
            outcome.seq = event.seq
            outcome.hash = event.hash
            return outcome
        }
    }

    /// Records a scan refused before any check (the scan loop's `rate_limited`): nothing of the
    /// code is verified, so the event names no member or pass.
    public func recordRefusal(
        door: String,
        now: Double,
        reason: AccessReason,
        why: String
    ) throws(KeyCacheError)
        -> AccessDecision
    {
        guard now.isFinite, now >= 0, now < 253_402_300_800 else { throw .badClock("time \(now) is not a UNIX time") }
        return try store.write { db in
            let event = try AuditChain.append(
                AuditEntry(
                    tsMs: Int64((now * 1000).rounded(.down)),
                    door: door,
                    kind: "decision",
                    granted: false,
                    reason: reason.rawValue,
                    detail: ["why": why]
                ),
                gateway: try GatewayStore.state(db, .gatewayID) ?? "unenrolled",
                in: db
            )
            var decision = AccessDecision(reason: reason, seq: event.seq, detail: why)
            decision.hash = event.hash
            return decision
        }
    }

    /// The stored snapshot's state and its verifier, or nil when none has been imported.
    private func snapshot(_ db: Database) throws -> AccessPolicy.Snapshot? {
        guard let info = try GatewayStore.header(db) else { return nil }
        let state = SnapshotState(seq: info.seq, generatedAt: info.generatedAt, maxAge: info.maxAge)
        if let cached = verifierCache.withLock({ $0 }), cached.seq == info.seq {
            return AccessPolicy.Snapshot(verifier: cached.verifier, state: state)
        }
        let jwks = try String.fetchAll(db, sql: "SELECT jwk FROM signing_keys ORDER BY rowid")
        let document = Data(("{\"keys\":[" + jwks.joined(separator: ",") + "]}").utf8)
        let keys = (try? PassKeySet(jwks: document)) ?? PassKeySet()
        let verifier = PassVerifier(keys: keys, issuer: info.issuer, skew: skew)
        verifierCache.withLock { $0 = (info.seq, verifier) }
        return AccessPolicy.Snapshot(verifier: verifier, state: state)
    }
}
