/// The stable reason code of an access decision. The raw values are part of the audit log and
/// the HQ protocol: never rename one.
public enum AccessReason: String, Sendable, CaseIterable, Codable {
    case granted
    // Pass checks (AccessToken).
    case malformed
    case unsupportedAlg = "unsupported_alg"
    case unknownKey = "unknown_key"
    case badSignature = "bad_signature"
    case wrongIssuer = "wrong_issuer"
    case expired
    case notYetValid = "not_yet_valid"
    case wrongDoor = "wrong_door"
    // Holder-bound (AG2) proof checks, after every AG1 check of the credential.
    case proofInvalid = "proof_invalid"
    case proofStale = "proof_stale"
    case replayed
    // Snapshot, door and gateway checks (later modules).
    case revoked
    case memberBlocked = "member_blocked"
    case bookingInactive = "booking_inactive"
    case usesExhausted = "uses_exhausted"
    case clockUntrusted = "clock_untrusted"
    case snapshotStale = "snapshot_stale"
    case lockdown
    case outsideSchedule = "outside_schedule"
    case rateLimited = "rate_limited"

    public var isGranted: Bool { self == .granted }
}
