import AccessToken

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

    public init(reason: AccessReason, seq: Int64 = 0, detail: String) {
        self.reason = reason
        self.seq = seq
        self.detail = detail
    }
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
