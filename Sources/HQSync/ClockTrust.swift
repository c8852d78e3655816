import CTimex
import Foundation
import Glibc
import Synchronization

/// Whether the wall clock can be believed. Boards often have no RTC and boot in 1970 or at the
/// last shutdown's time; a pass checked against such a clock could be granted long after it
/// expired. The clock is trusted only while
/// - the kernel says it is synchronised (`adjtimex`, read-only: NTP or PTP is steering it), or
/// - it agreed with a recent HQ response's `Date` within ``agreement``, that check is younger
///   than ``validity`` (measured on the monotonic clock, which jumps cannot move), and the wall
///   clock has kept pace with the monotonic clock since (a step of more than ``agreement`` — set
///   by hand, a bad RTC read — ends the trust at once, not at the next HQ response).
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
    private let wallClock: @Sendable () -> Double
    /// The last agreement with HQ: when, on the monotonic clock and on the wall clock, and the
    /// offset HQ's `Date` showed then.
    private let lastAgreement = Mutex<(at: ContinuousClock.Instant, wall: Double, offset: Double)?>(nil)
    private let lastOffset = Mutex<Double?>(nil)

    /// `kernelSynchronised` reads the kernel's view and `wallClock` the time decisions are taken
    /// at; tests swap them.
    public init(
        agreement: Double = 5,
        validity: Duration = .seconds(6 * 3600),
        kernelSynchronised: @escaping @Sendable () -> Bool = ClockTrust.kernelReportsSynchronised,
        wallClock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
    ) {
        self.agreement = agreement
        self.validity = validity
        self.kernelSynchronised = kernelSynchronised
        self.wallClock = wallClock
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
            let wall = wallClock()
            lastAgreement.withLock { $0 = (.now, wall, offset) }
        } else {
            lastAgreement.withLock { $0 = nil }
        }
    }

    public var status: Status {
        if kernelSynchronised() {
            return Status(trusted: true, source: .kernel, detail: "the kernel reports the clock synchronised")
        }
        if let last = lastAgreement.withLock({ $0 }), case let elapsed = ContinuousClock.now - last.at,
            elapsed < validity
        {
            // The wall clock must have moved as the monotonic clock did since the agreement: a
            // step would otherwise be believed until the next HQ response, or for the whole
            // validity while HQ is unreachable (an expired pass revived by setting the clock back).
            // A second of slack: HQ's `Date` has whole seconds, and the two clocks are read apart.
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let moved = wallClock() - last.wall - seconds
            if abs(last.offset + moved) <= agreement + 1 {
                return Status(trusted: true, source: .hq, detail: "agrees with HQ within \(Int(agreement)) s")
            }
            return Status(
                trusted: false,
                source: .none,
                detail: String(
                    format: "the clock stepped %.0f s since it agreed with HQ, and is not synchronised",
                    moved
                )
            )
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
