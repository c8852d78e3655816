import AccessToken
import Foundation
import HQProtocol

/// The access decision, as a function: a scanned pass, a door, the time, and what the store holds
/// (``DecisionRecords``) in; the decision and the writes it wants out. It reads nothing else and
/// writes nothing; the store applies the writes and appends the audit event in one transaction.
///
/// The order (docs/hq-protocol.md, "The decision"): the pass's signature checks; an untrusted
/// clock → `clock_untrusted`, else expiry; the door (the pass's audience, and the door being in the
/// snapshot) → `wrong_door`; the holder binding (AG2) → `proof_invalid`, `proof_stale`, `replayed`;
/// a stale snapshot under the `deny` policy → `snapshot_stale` (noted in the event under `grant`);
/// then `revoked`, `member_blocked`, `booking_inactive`, `lockdown` (the snapshot's door mode or
/// HQ's command), `outside_schedule`, `uses_exhausted`. A rescan at the same door within the
/// debounce window is the same presentation: granted, and not counted again.
public struct AccessPolicy: Sendable {
    /// Clock skew for booking windows, in seconds.
    public var skew: Double
    /// A rescan of the same pass at the same door within this many seconds of its counted use is
    /// the same presentation (one use).
    public var debounce: Double
    public var stalePolicy: StaleSnapshotPolicy

    public init(skew: Double = 60, debounce: Double = 3, stalePolicy: StaleSnapshotPolicy = .deny) {
        self.skew = skew
        self.debounce = debounce
        self.stalePolicy = stalePolicy
    }

    /// A door's holder-binding policy and proof window, for one decision.
    public struct HolderCheck: Sendable {
        public var policy: HolderBoundPolicy
        /// How far, in seconds, a proof's time may be from the gateway's clock.
        public var window: Double

        public init(policy: HolderBoundPolicy, window: Double) {
            self.policy = policy
            self.window = window
        }
    }

    /// The keys and the snapshot a decision verifies and decides against.
    public struct Snapshot: Sendable {
        public var verifier: PassVerifier
        public var state: SnapshotState

        public init(verifier: PassVerifier, state: SnapshotState) {
            self.verifier = verifier
            self.state = state
        }
    }

    /// A decision and the writes it asks for (none when denied before the holder check).
    public struct Outcome: Sendable {
        public var decision: AccessDecision
        public var writes: [DecisionWrite]
    }

    /// Decides on `scanned` at `door` at `now`. `snapshot` is nil when none has been imported.
    /// `clockTrusted` false turns every decision that depends on time into `clock_untrusted`, after
    /// the signature checks. The records are read in the order above, and only as far as needed.
    public func decide(
        _ scanned: ScannedPass,
        door: String,
        now: Double,
        clockTrusted: Bool,
        holder: HolderCheck,
        snapshot: Snapshot?,
        records: some DecisionRecords
    ) throws -> Outcome {
        var outcome = Outcome(decision: AccessDecision(reason: .granted, detail: ""), writes: [])
        func deny(_ reason: AccessReason, _ detail: String) -> Outcome {
            outcome.decision.reason = reason
            outcome.decision.detail = detail
            return outcome
        }
        guard let snapshot else { return deny(.snapshotStale, "no snapshot has been imported") }
        // An AG2 pass is an AG1 credential plus the holder's proof: the credential gets every AG1 check.
        let verdict = snapshot.verifier.verify(scanned, door: door, now: now)
        if let claims = verdict.claims {
            outcome.decision.member = claims.member
            outcome.decision.pass = claims.passIDHex
            outcome.decision.booking = claims.bookingID
        }
        // The signature checks hold on any clock; everything after them depends on the time.
        let timeless: Set<AccessReason> = [.malformed, .unsupportedAlg, .unknownKey, .badSignature, .wrongIssuer]
        if !clockTrusted && !timeless.contains(verdict.reason) {
            return deny(.clockUntrusted, "the clock is not synchronised and does not agree with HQ")
        }
        guard verdict.granted, let claims = verdict.claims else { return deny(verdict.reason, verdict.detail) }
        // A door HQ does not list (deleted, or mistyped in the config) has no known mode or schedule.
        let info = snapshot.state
        guard let mode = try records.doorMode(door) else {
            return deny(.wrongDoor, "door \(door) is not in snapshot \(info.seq)")
        }
        switch try holderProblem(scanned.holderBound, claims, holder, now: now, records: records) {
        case .refused(let reason, let why): return deny(reason, why)
        case .remember(let write): outcome.writes.append(write)
        case .none: break
        }
        if info.isStale(now: now) {
            let note = "snapshot \(info.seq) is \(Int(info.age(now: now))) s old; max_age is \(info.maxAge)"
            if stalePolicy == .deny { return deny(.snapshotStale, note) }
            outcome.decision.staleSnapshot = note
        }
        let pass = claims.passIDHex
        if let until = try records.revokedUntil(pass: pass), now <= Double(until) {
            return deny(.revoked, "pass revoked until \(until)")
        }
        if try records.memberBlocked(claims.member) == true {
            return deny(.memberBlocked, "member \(claims.member) is blocked")
        }
        if let bookingID = claims.bookingID,
            let why = try bookingProblem(bookingID, claims, door, now, info, records)
        {
            return deny(.bookingInactive, why)
        }
        if mode == .lockdown { return deny(.lockdown, "door \(door) is in lockdown") }
        let commanded = try records.commandedLockdowns()
        if commanded.contains(door) || commanded.contains("*") {
            return deny(.lockdown, "HQ put door \(door) in lockdown")
        }
        let schedule = try records.doorSchedule(door)
        if !schedule.covers(now) {
            return deny(.outsideSchedule, "door \(door) is closed at this time (\(schedule.timeZone.identifier))")
        }
        if let maxUses = claims.maxUses {
            switch try useProblem(pass, maxUses: maxUses, door: door, now: now, records) {
            case .exhausted(let why): return deny(.usesExhausted, why)
            case .count(let write): outcome.writes.append(write)
            case .sameEntry: break
            }
        }
        return outcome
    }

    /// What the holder check found: a refusal, a proof to remember, or nothing to do (no binding).
    enum HolderFinding {
        case refused(AccessReason, String)
        case remember(DecisionWrite)
        case none
    }

    /// Why the holder binding refuses the pass (`proof_invalid`, `proof_stale`, `replayed`). A
    /// proof that verifies is remembered, whatever the rest of the decision, so that the same proof
    /// never counts twice at this gateway.
    func holderProblem(
        _ bound: AG2Code?,
        _ claims: PassClaims,
        _ holder: HolderCheck,
        now: Double,
        records: some DecisionRecords
    ) throws -> HolderFinding {
        guard let bound else {
            // A bound credential without its proof is a copied credential, whatever the door's policy.
            if claims.holderKey != nil {
                return .refused(.proofInvalid, "this pass is bound to the member's device and needs its live proof (AG2)")
            }
            if holder.policy == .required {
                return .refused(
                    .proofInvalid,
                    "this door admits only holder-bound passes (AG2), shown live from the member's device"
                )
            }
            return .none
        }
        guard let key = claims.holderKey else {
            return .refused(.proofInvalid, "the credential names no holder key (cnf) to check the proof with")
        }
        let proof: HolderProof
        do { proof = try bound.verifyProof(holderKey: key) } catch {
            return .refused(.proofInvalid, "\(error)")
        }
        let offset = now - proof.issuedAt
        if abs(offset) > holder.window {
            return .refused(
                .proofStale,
                "the proof was made \(Int(offset.rounded())) s from the gateway's clock; allowed ±\(Int(holder.window)) s"
            )
        }
        // Keyed by what was signed, not by the signature bytes: an ECDSA signature can be re-encoded.
        let seen = "\(claims.passIDHex):\(Int64(proof.issuedAt.rounded(.down)))"
        let nowMs = Int64((now * 1000).rounded(.down))
        if try records.proofSeen(seen, nowMs: nowMs) {
            return .refused(.replayed, "this proof was already presented at this gateway")
        }
        let untilMs = Int64(((max(now, proof.issuedAt) + holder.window + 1) * 1000).rounded(.up))
        return .remember(.rememberProof(key: seen, untilMs: untilMs))
    }

    /// Why the pass's booking does not admit it now, or nil when it does.
    func bookingProblem(
        _ id: String,
        _ claims: PassClaims,
        _ door: String,
        _ now: Double,
        _ info: SnapshotState,
        _ records: some DecisionRecords
    ) throws -> String? {
        guard let booking = try records.booking(id, door: door, location: PassClaims.location(ofDoor: door)) else {
            // The booking may be newer than our snapshot; only a snapshot from after the pass was
            // issued proves it is gone.
            guard let iat = claims.issuedAt, Double(info.generatedAt) <= iat else {
                return "booking \(id) is not in snapshot \(info.seq), which is newer than the pass"
            }
            return nil
        }
        if booking.status != BookingStatus.confirmed.rawValue { return "booking \(id) is \(booking.status)" }
        if booking.member != claims.member { return "booking \(id) belongs to another member" }
        if !booking.coversDoor { return "booking \(id) does not cover \(door)" }
        if now < Double(booking.start) - skew || now >= Double(booking.end) + skew {
            return "booking \(id) runs \(booking.start)–\(booking.end)"
        }
        return nil
    }

    /// What a max-uses pass's count says about this scan.
    enum UseFinding {
        case exhausted(String)
        case count(DecisionWrite)
        /// The same pass shown again at the same door just after its counted use: one entry.
        case sameEntry
    }

    func useProblem(
        _ pass: String,
        maxUses: UInt64,
        door: String,
        now: Double,
        _ records: some DecisionRecords
    ) throws -> UseFinding {
        let nowMs = Int64((now * 1000).rounded(.down))
        let usage = try records.usage(pass: pass)
        // A clock that went back is no reason for a free use: only a rescan just after counts once.
        // The window does not slide.
        if let usage, usage.lastDoor == door, (0...Int64(debounce * 1000)).contains(nowMs - usage.lastMs) {
            return .sameEntry
        }
        let uses = usage?.uses ?? 0
        guard uses < Int64(clamping: maxUses) else { return .exhausted("pass used \(uses) of \(maxUses) times") }
        return .count(.countUse(pass: pass, door: door, atMs: nowMs))
    }
}
