/// The rows of `gateway_state`: the store's small named values, listed once so that every module
/// names the same row the same way.
public enum StateKey: String, Sendable, CaseIterable {
    // The audit chain (KeyCache).
    case headSeq = "head_seq"
    case headHash = "head_hash"
    case checkpointSeq = "checkpoint_seq"
    case checkpointHash = "checkpoint_hash"
    case uploadCursor = "upload_cursor"
    // The snapshot being applied, and its counts (KeyCache).
    case stagingToken = "staging_token"
    case snapshotCounts = "snapshot_counts"
    // HQ's lockdown commands, which override the snapshot's door modes.
    case hqLockdown = "hq_lockdown"
    // Enrolment (HQSync).
    case gatewayID = "gateway_id"
    case hqURL = "hq_url"
    case hqIssuer = "hq_issuer"
    case hqRootJWK = "hq_root_jwk"
    case hqDoors = "hq_doors"
    case hqRevoked = "hq_revoked"
    // Sync progress (HQSync).
    case lastSnapshotSync = "last_snapshot_sync"
    case lastUpload = "last_upload"
    case snapshotEtag = "snapshot_etag"
    case snapshotRefused = "snapshot_refused"
    case snapshotRefusals = "snapshot_refusals"
    case snapshotTransfer = "snapshot_transfer"
    case commandCursor = "command_cursor"
    case commandsSeen = "commands_seen"
    /// The latest trusted time seen, below which the clock is not trusted (HQSync's ClockFloor).
    case clockFloor = "clock_floor"
    /// The daemon's health check writes it to prove the store takes writes.
    case healthProbe = "health_probe"
}
