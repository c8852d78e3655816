import CTimex
import Foundation
import Glibc
import Synchronization

/// Whether the wall clock can be believed. Boards often have no RTC and boot in 1970 or at the
/// last shutdown's time; a pass checked against such a clock could be granted long after it
/// expired. And plain SNTP is unauthenticated: whoever answers NTP on the LAN can step a
/// "synchronised" clock back. So the clock is trusted only while
/// - it is not below the ``ClockFloor`` (the newest time it trusted before, or the newest HQ
///   time seen) less ``floorTolerance``, whatever the kernel says; and
/// - it agrees with the newest HQ `Date` seen: that answer was within ``agreement``, and the
///   wall clock has kept pace with the monotonic clock since (a step of more than ``agreement``
///   ends the trust at once, not at the next HQ response). This cross-check holds even while the
///   kernel reports the clock synchronised; and
/// - the kernel says it is synchronised (`adjtimex`, read-only: NTP or PTP is steering it), or
///   that agreement with HQ is younger than ``validity`` (measured on the monotonic clock, which
///   jumps cannot move).
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

    /// The test-only environment variable that replaces the kernel's answer in every process
    /// (`1`: synchronised, `0`: not), so that the daemon's and gatewayctl's tests run both ways
    /// on any host. The daemon logs a warning when it is set.
    public static let kernelSyncOverrideVariable = "AG_TEST_KERNEL_CLOCK_SYNC"

    /// How far the clock may be from HQ's and still count as right.
    public let agreement: Double
    /// How long an agreement with HQ counts without a fresh one.
    public let validity: Duration
    /// How far below the floor the clock may be (NTP's own small corrections, the floor's
    /// persistence lag) before it is distrusted.
    public let floorTolerance: Double
    /// A minute: more than NTP corrects by stepping, and more than the floor's persistence lag.
    public static let defaultFloorTolerance: Double = 60
    private let kernelSynchronised: @Sendable () -> Bool
    private let wallClock: @Sendable () -> Double
    private let floor: ClockFloor?
    /// The newest HQ answer: when, on the monotonic clock and on the wall clock, the offset its
    /// `Date` showed, and whether that was within ``agreement``.
    private let lastHQ = Mutex<(at: ContinuousClock.Instant, wall: Double, offset: Double, agreed: Bool)?>(nil)

    /// `kernelSynchronised` reads the kernel's view and `wallClock` the time decisions are taken
    /// at; tests swap them. `floor` (the daemon's and gatewayctl's, kept in the store) is raised
    /// at each trusted reading and by HQ's time; without one there is no floor.
    public init(
        agreement: Double = 5,
        validity: Duration = .seconds(6 * 3600),
        floor: ClockFloor? = nil,
        floorTolerance: Double = ClockTrust.defaultFloorTolerance,
        kernelSynchronised: @escaping @Sendable () -> Bool = ClockTrust.kernelSynchronisedOrTestOverride,
        wallClock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
    ) {
        self.agreement = agreement
        self.validity = validity
        self.floor = floor
        self.floorTolerance = floorTolerance
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

    /// The test override (``kernelSyncOverrideVariable``) when set, else ``kernelReportsSynchronised()``.
    public static let kernelSynchronisedOrTestOverride: @Sendable () -> Bool = {
        if let forced = kernelSyncOverride { return { forced } }
        return { kernelReportsSynchronised() }
    }()

    /// The override's value, or nil when the variable is unset (or not `0`/`1`).
    public static let kernelSyncOverride: Bool? = {
        switch ProcessInfo.processInfo.environment[kernelSyncOverrideVariable] {
        case "1": true
        case "0": false
        default: nil
        }
    }()

    /// Records an HQ response's `Date` (UNIX seconds), received at local `now`.
    public func observeHQ(date: Double, now: Double) {
        let offset = now - date
        let agreed = abs(offset) <= agreement
        lastHQ.withLock { $0 = (.now, wallClock(), offset, agreed) }
        // HQ is the authority: when the clock agrees with it, its time is the floor (clearing one
        // a clock stepped forward had raised); otherwise its time still raises the floor.
        if agreed { floor?.reset(to: date) } else { floor?.raise(to: date) }
    }

    public var status: Status {
        let wall = wallClock()
        let verdict = judge(wall)
        if verdict.trusted { floor?.raise(to: wall) }
        return verdict
    }

    private func judge(_ wall: Double) -> Status {
        if let floor, let lowest = floor.value, wall < lowest - floorTolerance {
            floor.auditStepBack(wall: wall, floor: lowest, tolerance: floorTolerance)
            return Status(
                trusted: false,
                source: .none,
                detail: String(
                    format: "the clock is %.0f s behind the newest time it trusted (stepped back), whatever NTP says",
                    lowest - wall
                )
            )
        }
        let kernel = kernelSynchronised()
        if let last = lastHQ.withLock({ $0 }) {
            guard last.agreed else {
                return Status(
                    trusted: false,
                    source: .none,
                    detail: String(format: "%.0f s off HQ's clock", last.offset)
                        + (kernel ? ", though the kernel reports it synchronised" : ", and not synchronised")
                )
            }
            // The wall clock must have moved as the monotonic clock did since the agreement: a
            // step would otherwise be believed until the next HQ response, or for the whole
            // validity while HQ is unreachable (an expired pass revived by setting the clock back).
            // A second of slack: HQ's `Date` has whole seconds, and the two clocks are read apart.
            let elapsed = ContinuousClock.now - last.at
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let moved = wall - last.wall - seconds
            if abs(last.offset + moved) > agreement + 1 {
                return Status(
                    trusted: false,
                    source: .none,
                    detail: String(format: "the clock stepped %.0f s since it agreed with HQ", moved)
                )
            }
            if kernel {
                return Status(
                    trusted: true,
                    source: .kernel,
                    detail: "the kernel reports the clock synchronised, and it agrees with HQ"
                )
            }
            if elapsed < validity {
                return Status(trusted: true, source: .hq, detail: "agrees with HQ within \(Int(agreement)) s")
            }
        }
        if kernel {
            return Status(trusted: true, source: .kernel, detail: "the kernel reports the clock synchronised")
        }
        return Status(trusted: false, source: .none, detail: "not synchronised, and no recent HQ time to compare")
    }

    /// The time to decide at, or nil when it cannot be trusted.
    public func trustedNow(_ now: Double = Date().timeIntervalSince1970) -> Double? {
        status.trusted ? now : nil
    }
}
