import Foundation

/// Decides which scans are refused `rate_limited` before any other check: a pass that keeps being
/// denied (a shared screenshot, someone trying a revoked pass again and again), and a flood of
/// codes that are not passes at all. A member's valid pass is never denied, so it never counts
/// against anyone, and garbage never counts against a real pass.
///
/// Pure; the caller passes the time. Memory is bounded: old entries are forgotten.
public struct ScanRateLimiter: Sendable {
    /// Denials of one code within `window` after which that code is refused unchecked.
    public var deniedLimit: Int
    /// Codes that are not passes (no `AG1:` prefix) within `window` after which such codes are refused unchecked.
    public var garbageLimit: Int
    public var window: Duration
    private var denials: [String: [Duration]] = [:]
    private var garbage: [Duration] = []

    public init(deniedLimit: Int = 3, garbageLimit: Int = 20, window: Duration = .seconds(60)) {
        self.deniedLimit = deniedLimit
        self.garbageLimit = garbageLimit
        self.window = window
    }

    /// Whether the scan of `text` at `now` is refused unchecked.
    public mutating func refuses(_ text: String, at now: Duration) -> Bool {
        forget(before: now - window)
        if !Self.looksLikePass(text) { return garbage.count >= garbageLimit }
        return (denials[text]?.count ?? 0) >= deniedLimit
    }

    /// Records how the scan of `text` at `now` was decided.
    public mutating func record(_ text: String, granted: Bool, at now: Duration) {
        if !Self.looksLikePass(text) {
            garbage.append(now)
        } else if !granted {
            denials[text, default: []].append(now)
        }
    }

    static func looksLikePass(_ text: String) -> Bool { text.hasPrefix("AG1:") || text.hasPrefix("AG2:") }

    private mutating func forget(before cutoff: Duration) {
        garbage.removeAll { $0 < cutoff }
        for (code, times) in denials {
            let kept = times.filter { $0 >= cutoff }
            denials[code] = kept.isEmpty ? nil : kept
        }
        // A flood of distinct denied codes must not grow without bound.
        if denials.count > 10_000 { denials.removeAll() }
    }
}
