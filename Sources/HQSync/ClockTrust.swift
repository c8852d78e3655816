import CTimex
import Foundation
import Glibc
import Synchronization

/// Whether the wall clock can be believed. Boards often have no RTC and boot in 1970 or at the
/// last shutdown's time; a pass checked against such a clock could be granted long after it
/// expired. The clock is trusted only while
/// - the kernel says it is synchronised (`adjtimex`, read-only: NTP or PTP is steering it), or
/// - it agreed with a recent HQ response's `Date` within ``agreement``, and that check is
///   younger than ``validity`` (measured on the monotonic clock, which jumps cannot move).
///
/// Otherwise time-based checks give `clock_untrusted`.
public final class ClockTrust: Sendable {
    public enum Source: String, Sendable {
        case kernel
        case hq
        case operatorOverride = "operator"
        case none
    }

    public struct Status: Sendable, Equatable {
        public var trusted: Bool
        public var source: Source
        public var detail: String
    }

    /// How far the clock may be from HQ's and still count as right.
    public let agreement: Double
    /// How long an agreement with HQ counts without a fresh one.
    public let validity: Duration
    private let kernelSynchronised: @Sendable () -> Bool
    private let lastAgreement = Mutex<ContinuousClock.Instant?>(nil)
    private let lastOffset = Mutex<Double?>(nil)

    /// `kernelSynchronised` reads the kernel's view; tests swap it.
    public init(
        agreement: Double = 5,
        validity: Duration = .seconds(6 * 3600),
        kernelSynchronised: @escaping @Sendable () -> Bool = ClockTrust.kernelReportsSynchronised
    ) {
        self.agreement = agreement
        self.validity = validity
        self.kernelSynchronised = kernelSynchronised
    }

    /// `adjtimex(2)` with no modes set reads the kernel's clock state without changing it; it is
    /// synchronised when the call does not return `TIME_ERROR` and `STA_UNSYNC` is clear.
    public static func kernelReportsSynchronised() -> Bool {
        var state = timex()
        let result = adjtimex(&state)
        return result >= 0 && result != TIME_ERROR && state.status & STA_UNSYNC == 0
    }

    /// Records an HQ response's `Date` (UNIX seconds), received at local `now`.
    public func observeHQ(date: Double, now: Double) {
        let offset = now - date
        lastOffset.withLock { $0 = offset }
        if abs(offset) <= agreement {
            lastAgreement.withLock { $0 = .now }
        } else {
            lastAgreement.withLock { $0 = nil }
        }
    }

    public var status: Status {
        if kernelSynchronised() {
            return Status(trusted: true, source: .kernel, detail: "the kernel reports the clock synchronised")
        }
        if let at = lastAgreement.withLock({ $0 }), ContinuousClock.now - at < validity {
            return Status(trusted: true, source: .hq, detail: "agrees with HQ within \(Int(agreement)) s")
        }
        if let offset = lastOffset.withLock({ $0 }) {
            return Status(
                trusted: false,
                source: .none,
                detail: String(format: "%.0f s off HQ's clock, and not synchronised", offset)
            )
        }
        return Status(trusted: false, source: .none, detail: "not synchronised, and no recent HQ time to compare")
    }

    /// The time to decide at, or nil when it cannot be trusted.
    public func trustedNow(_ now: Double = Date().timeIntervalSince1970) -> Double? {
        status.trusted ? now : nil
    }
}
