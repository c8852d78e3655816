import AccessToken
import Foundation
import GRDB
import HQProtocol
import Synchronization

/// A full door decision, as recorded in the audit log.
public struct AccessDecision: Sendable, Equatable {
    public var granted: Bool { reason == .granted }
    public var reason: AccessReason
    public var member: String?
    /// The pass id (cti hex).
    public var pass: String?
    public var booking: String?
    /// The audit event's seq.
    public var seq: Int64
    /// The audit event's chain hash: the daemon logs it beside the seq, so that the journal
    /// witnesses the log's newest event outside the database (`gatewayctl log verify`).
    public var hash = ""
    public var detail: String
    /// Set when the snapshot was past its `max_age` and the policy let the decision go on.
    public var staleSnapshot: String?
}

/// What to do once the snapshot is older than its `max_age` (HQ unreachable for that long): the
/// offline bound. `deny` is the default everywhere, so that blocking the board's HQ traffic cannot
/// freeze revocations for longer than `max_age`.
public enum StaleSnapshotPolicy: String, Sendable, CaseIterable {
    /// Keep granting valid passes on the last snapshot; each decision's event says it was stale.
    /// An explicit choice: revocations made since the last sync are not seen.
    case grant
    /// Deny every pass with `snapshot_stale`. The default.
    case deny
}

/// Whether a door takes static passes, or only holder-bound (AG2) passes (docs/token.md).
public enum HolderBoundPolicy: String, Sendable, CaseIterable {
    /// AG1 passes are decided as ever; an AG2 pass must also carry a valid, fresh, unseen proof.
    case optional
    /// Only AG2 passes with a valid proof: a static pass, bound or not, is `proof_invalid`.
    case required
}

/// Decides on passes at a door with the stored snapshot, counts pass uses, and records every
/// decision in the audit chain before returning it.
///
/// The order (docs/hq-protocol.md, "The decision"): the pass's signature checks; an untrusted
/// clock → `clock_untrusted`, else expiry; the door (the pass's audience, and the door being in the
/// snapshot) → `wrong_door`; the holder binding (AG2) → `proof_invalid`, `proof_stale`, `replayed`; a stale snapshot under the `deny` policy → `snapshot_stale` (noted
/// in the event under `grant`); then `revoked`, `member_blocked`, `booking_inactive`, `lockdown`
/// (the snapshot's door mode or HQ's command), `outside_schedule`, `uses_exhausted`. A rescan at the
/// same door within the debounce window (3 s, the scan gate's cooldown) is the same presentation:
/// granted, and not counted again. Use counts are this board's: boards do not share them.
public final class AccessDecider: Sendable {
    public let store: GatewayStore
    /// Clock skew for pass times and booking windows, in seconds.
    public let skew: Double
    /// A rescan of the same pass at the same door within this many seconds of its counted use is
    /// the same presentation (one use). It matches the scan gate's 3 s cooldown: any longer and a
    /// single-use pass shown again after the cooldown would open the door twice.
    public let debounce: Double

    public let stalePolicy: StaleSnapshotPolicy

    /// The verifier for the stored snapshot's seq, so keys are parsed once per snapshot.
    private let verifierCache = Mutex<(seq: Int64, verifier: PassVerifier)?>(nil)

    public init(
        store: GatewayStore,
        skew: Double = 60,
        debounce: Double = 3,
        stalePolicy: StaleSnapshotPolicy = .deny
    ) {
        self.store = store
        self.stalePolicy = stalePolicy
        self.skew = skew
        self.debounce = debounce
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

    /// Decides on a pass the caller has read already (the daemon reads each code once, for the
    /// rate limiter and this decision), as ``decide(_:door:now:clockTrusted:holderBound:proofWindow:)-(String,_,_,_,_,_)``.
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
        let holder = HolderCheck(policy: holderBound, window: proofWindow)
        return try store.write { db in
            var outcome = try self.evaluate(
                scanned,
                door: door,
                now: now,
                clockTrusted: clockTrusted,
                holder: holder,
                db: db
            )
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
                gateway: try GatewayStore.state(db, "gateway_id") ?? "unenrolled",
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
                gateway: try GatewayStore.state(db, "gateway_id") ?? "unenrolled",
                in: db
            )
            var decision = AccessDecision(reason: reason, seq: event.seq, detail: why)
            decision.hash = event.hash
            return decision
        }
    }

    private func verifier(_ db: Database) throws -> (PassVerifier, SnapshotInfo)? {
        guard let info = try GatewayStore.header(db) else { return nil }
        if let cached = verifierCache.withLock({ $0 }), cached.seq == info.seq { return (cached.verifier, info) }
        let jwks = try String.fetchAll(db, sql: "SELECT jwk FROM signing_keys ORDER BY rowid")
        let document = Data(("{\"keys\":[" + jwks.joined(separator: ",") + "]}").utf8)
        let keys = (try? PassKeySet(jwks: document)) ?? PassKeySet()
        let verifier = PassVerifier(keys: keys, issuer: info.issuer, skew: skew)
        verifierCache.withLock { $0 = (info.seq, verifier) }
        return (verifier, info)
    }

    /// A door's holder-binding policy and proof window, for one decision.
    struct HolderCheck {
        var policy: HolderBoundPolicy
        var window: Double
    }

    private func evaluate(
        _ scanned: ScannedPass,
        door: String,
        now: Double,
        clockTrusted: Bool,
        holder: HolderCheck,
        db: Database
    ) throws
        -> AccessDecision
    {
        var decision = AccessDecision(reason: .granted, seq: 0, detail: "")
        func deny(_ reason: AccessReason, _ detail: String) -> AccessDecision {
            decision.reason = reason
            decision.detail = detail
            return decision
        }
        guard let (verifier, info) = try verifier(db) else {
            return deny(.snapshotStale, "no snapshot has been imported")
        }
        // An AG2 pass is an AG1 credential plus the holder's proof: the credential gets every AG1 check.
        let bound = scanned.holderBound
        let verdict = verifier.verify(scanned, door: door, now: now)
        if let claims = verdict.claims {
            decision.member = claims.member
            decision.pass = claims.passIDHex
            decision.booking = claims.bookingID
        }
        // The signature checks hold on any clock; everything after them depends on the time.
        let timeless: Set<AccessReason> = [.malformed, .unsupportedAlg, .unknownKey, .badSignature, .wrongIssuer]
        if !clockTrusted && !timeless.contains(verdict.reason) {
            return deny(.clockUntrusted, "the clock is not synchronised and does not agree with HQ")
        }
        guard verdict.granted, let claims = verdict.claims else { return deny(verdict.reason, verdict.detail) }
        // A door HQ does not list (deleted, or mistyped in the config) has no known mode or schedule.
        guard
            let doorRow = try Row.fetchOne(
                db,
                sql: "SELECT mode, tz, schedule FROM doors WHERE id = ?",
                arguments: [door]
            )
        else { return deny(.wrongDoor, "door \(door) is not in snapshot \(info.seq)") }
        if let (reason, why) = try holderProblem(bound, claims, holder, now: now, db) { return deny(reason, why) }
        if info.isStale(now: now) {
            let note = "snapshot \(info.seq) is \(Int(info.age(now: now))) s old; max_age is \(info.maxAge)"
            if stalePolicy == .deny { return deny(.snapshotStale, note) }
            decision.staleSnapshot = note
        }
        let pass = claims.passIDHex
        if let until = try Int64.fetchOne(db, sql: "SELECT until FROM revoked WHERE pass = ?", arguments: [pass]),
            now <= Double(until)
        {
            return deny(.revoked, "pass revoked until \(until)")
        }
        if try Bool.fetchOne(db, sql: "SELECT blocked FROM members WHERE id = ?", arguments: [claims.member]) == true {
            return deny(.memberBlocked, "member \(claims.member) is blocked")
        }
        if let bookingID = claims.bookingID, let why = try bookingProblem(bookingID, claims, door, now, info, db) {
            return deny(.bookingInactive, why)
        }
        if doorRow["mode"] == DoorMode.lockdown.rawValue { return deny(.lockdown, "door \(door) is in lockdown") }
        let commanded = GatewayStore.lockdowns(db)
        if commanded.contains(door) || commanded.contains("*") {
            return deny(.lockdown, "HQ put door \(door) in lockdown")
        }
        let windows = try JSONDecoder().decode([ScheduleWindow].self, from: Data((doorRow["schedule"] as String).utf8))
        let zone = TimeZone(identifier: doorRow["tz"]) ?? TimeZone(identifier: "UTC")!
        if !DoorSchedule(windows: windows, timeZone: zone).covers(now) {
            return deny(.outsideSchedule, "door \(door) is closed at this time (\(zone.identifier))")
        }
        if let maxUses = claims.maxUses, let why = try consumeUse(pass, maxUses: maxUses, door: door, now: now, db) {
            return deny(.usesExhausted, why)
        }
        return decision
    }

    /// Why the holder binding refuses the pass (`proof_invalid`, `proof_stale`, `replayed`), or
    /// nil. A proof that verifies is remembered, whatever the rest of the decision, so that the
    /// same proof never counts twice at this gateway.
    private func holderProblem(
        _ bound: AG2Code?,
        _ claims: PassClaims,
        _ holder: HolderCheck,
        now: Double,
        _ db: Database
    ) throws -> (AccessReason, String)? {
        guard let bound else {
            // A bound credential without its proof is a copied credential, whatever the door's policy.
            if claims.holderKey != nil {
                return (.proofInvalid, "this pass is bound to the member's device and needs its live proof (AG2)")
            }
            if holder.policy == .required {
                return (.proofInvalid, "this door admits only holder-bound passes (AG2), shown live from the member's device")
            }
            return nil
        }
        guard let key = claims.holderKey else {
            return (.proofInvalid, "the credential names no holder key (cnf) to check the proof with")
        }
        let proof: HolderProof
        do { proof = try bound.verifyProof(holderKey: key) } catch {
            return (.proofInvalid, "\(error)")
        }
        let offset = now - proof.issuedAt
        if abs(offset) > holder.window {
            return (
                .proofStale,
                "the proof was made \(Int(offset.rounded())) s from the gateway's clock; allowed ±\(Int(holder.window)) s"
            )
        }
        // Keyed by what was signed, not by the signature bytes: an ECDSA signature can be re-encoded.
        let seen = "\(claims.passIDHex):\(Int64(proof.issuedAt.rounded(.down)))"
        let nowMs = Int64((now * 1000).rounded(.down))
        try db.execute(sql: "DELETE FROM proofs_seen WHERE until_ms < ?", arguments: [nowMs])
        if try Bool.fetchOne(db, sql: "SELECT 1 FROM proofs_seen WHERE digest = ?", arguments: [seen]) == true {
            return (.replayed, "this proof was already presented at this gateway")
        }
        let untilMs = Int64(((max(now, proof.issuedAt) + holder.window + 1) * 1000).rounded(.up))
        try db.execute(sql: "INSERT INTO proofs_seen(digest, until_ms) VALUES (?, ?)", arguments: [seen, untilMs])
        return nil
    }

    /// Why the pass's booking does not admit it now, or nil when it does.
    private func bookingProblem(
        _ id: String,
        _ claims: PassClaims,
        _ door: String,
        _ now: Double,
        _ info: SnapshotInfo,
        _ db: Database
    ) throws -> String? {
        let location = PassClaims.location(ofDoor: door)
        // SQLite reads the booking's door list (JSON text) itself: no JSON decoder per decision.
        guard
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT member, start, "end", status,
                        EXISTS (SELECT 1 FROM json_each(bookings.doors) WHERE value IN (?, ?)) AS covers
                    FROM bookings WHERE id = ?
                    """,
                arguments: [door, location, id]
            )
        else {
            // The booking may be newer than our snapshot; only a snapshot from after the pass was
            // issued proves it is gone.
            guard let iat = claims.issuedAt, Double(info.generatedAt) <= iat else {
                return "booking \(id) is not in snapshot \(info.seq), which is newer than the pass"
            }
            return nil
        }
        if row["status"] != BookingStatus.confirmed.rawValue { return "booking \(id) is \(row["status"] as String)" }
        if row["member"] != claims.member { return "booking \(id) belongs to another member" }
        if !(row["covers"] as Bool) { return "booking \(id) does not cover \(door)" }
        let start: Int64 = row["start"]
        let end: Int64 = row["end"]
        if now < Double(start) - skew || now >= Double(end) + skew {
            return "booking \(id) runs \(start)–\(end)"
        }
        return nil
    }

    /// Counts one use of a max-uses pass; returns why it is exhausted, or nil when the use is allowed.
    private func consumeUse(
        _ pass: String,
        maxUses: UInt64,
        door: String,
        now: Double,
        _ db: Database
    ) throws
        -> String?
    {
        let nowMs = Int64((now * 1000).rounded(.down))
        let row = try Row.fetchOne(
            db,
            sql: "SELECT uses, last_door, last_ms FROM pass_usage WHERE pass = ?",
            arguments: [pass]
        )
        let uses: Int64 = row?["uses"] ?? 0
        // A clock that went back is no reason for a free use: only a rescan just after counts once.
        if let row, row["last_door"] == door, (0...Int64(debounce * 1000)).contains(nowMs - (row["last_ms"] as Int64)) {
            // The same pass shown again at the same door: one entry, not two. The window does not slide.
            return nil
        }
        guard uses < Int64(clamping: maxUses) else { return "pass used \(uses) of \(maxUses) times" }
        try db.execute(
            sql: """
                INSERT INTO pass_usage(pass, uses, last_door, last_ms) VALUES (?, 1, ?, ?)
                ON CONFLICT(pass) DO UPDATE SET uses = uses + 1, last_door = excluded.last_door, last_ms = excluded.last_ms
                """,
            arguments: [pass, door, nowMs]
        )
        return nil
    }
}
