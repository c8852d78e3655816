import AccessToken
import Foundation

/// Decides which scans are refused `rate_limited` before any other check: a pass that keeps being
/// denied (a shared screenshot, someone trying a revoked pass again and again), and a flood of
/// codes that are not passes at all. A member's valid pass denied for a reason that passes (the
/// clock, a lockdown, the schedule, a stale snapshot) never counts, and garbage never counts
/// against a real pass.
///
/// A pass is known by what its signature covers (``ScannedPass/signedPayload``: for AG2, the
/// credential's, since its proof changes every few seconds), never by its text: the unprotected header
/// and the CBOR encoding are not signed, so one denied pass can be written as endless texts. A
/// text with a pass prefix whose payload cannot be read is garbage.
///
/// Pure; the caller passes the time. Memory is bounded: old entries are forgotten.
public struct ScanRateLimiter: Sendable {
    /// Denials of one pass within `window` after which that pass is refused unchecked.
    public var deniedLimit: Int
    /// Codes that are not passes within `window` after which such codes are refused unchecked.
    public var garbageLimit: Int
    public var window: Duration
    private var denials: [[UInt8]: [Duration]] = [:]
    private var garbage: [Duration] = []

    /// Denials of a valid pass that say nothing about the pass: it will be granted once they pass.
    public static let passingReasons: Set<AccessReason> = [
        .granted, .clockUntrusted, .lockdown, .outsideSchedule, .snapshotStale,
    ]

    public init(deniedLimit: Int = 3, garbageLimit: Int = 20, window: Duration = .seconds(60)) {
        self.deniedLimit = deniedLimit
        self.garbageLimit = garbageLimit
        self.window = window
    }

    /// Whether the scan of `pass` at `now` is refused unchecked.
    public mutating func refuses(_ pass: ScannedPass, at now: Duration) -> Bool {
        forget(before: now - window)
        guard let key = pass.signedPayload else { return garbage.count >= garbageLimit }
        return (denials[key]?.count ?? 0) >= deniedLimit
    }

    /// Records how the scan of `pass` at `now` was decided.
    public mutating func record(_ pass: ScannedPass, reason: AccessReason, at now: Duration) {
        guard let key = pass.signedPayload else {
            garbage.append(now)
            return
        }
        if !Self.passingReasons.contains(reason) { denials[key, default: []].append(now) }
    }

    private mutating func forget(before cutoff: Duration) {
        garbage.removeAll { $0 < cutoff }
        for (code, times) in denials {
            let kept = times.filter { $0 >= cutoff }
            denials[code] = kept.isEmpty ? nil : kept
        }
        // A flood of distinct denied passes must not grow without bound.
        if denials.count > 10_000 { denials.removeAll() }
    }
}
