import AccessPolicy
import AccessToken
import Dispatch
import DoorDriver
import Foundation
import KeyCache
import QRCodec
import Synchronization

/// One scan decided at an entrance, for logs, metrics and benchmarks.
public struct EntranceDecision: Sendable {
    public var door: String
    public var code: ScannedCode
    /// The recorded decision; nil when it could not be decided or recorded (the door stays shut).
    public var decision: AccessDecision?
    /// Why there is no decision.
    public var failure: String?
    /// When the door was commanded, after the decision was durably recorded.
    public var commandedAt: ContinuousClock.Instant

    public var granted: Bool { decision?.granted ?? false }
}

/// The decision half of a door's pipeline, on a thread of its own, off the capture path: it takes
/// admitted codes in order, decides each with the store (which records it durably first), then
/// commands the door: a grant pulses the relay, and every scan shows its feedback.
///
/// Fail secure: a code that cannot be decided or recorded is refused, with red feedback.
public final class Entrance: Sendable {
    public let door: String
    private let decider: AccessDecider
    private let doorInbox: DoorInbox
    private let wallClock: @Sendable () -> Double
    private let clockTrusted: @Sendable () -> Bool
    private let holderBound: HolderBoundPolicy
    private let proofWindow: Double
    private let report: @Sendable (EntranceDecision) -> Void
    private let beforeGrant: @Sendable () -> Void
    private let ended = DispatchSemaphore(value: 0)
    private let limiter: Mutex<ScanRateLimiter>
    private let origin = ContinuousClock.now

    /// `wallClock` gives the UNIX time decisions are taken at, and `clockTrusted` whether it can
    /// be believed (HQSync's `ClockTrust`); `report` runs on the decision thread after the door
    /// was commanded. `holderBound` and `proofWindow` are the door's AG2 policy (docs/token.md).
    /// `beforeGrant` runs before a grant is sent to the door (the daemon brings the door to its
    /// mode there, so that first-person-in sees whether its window is open).
    public init(
        door: String,
        decider: AccessDecider,
        doorInbox: DoorInbox,
        wallClock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
        clockTrusted: @escaping @Sendable () -> Bool = { true },
        holderBound: HolderBoundPolicy = .optional,
        proofWindow: Double = 30,
        rateLimiter: ScanRateLimiter = ScanRateLimiter(),
        beforeGrant: @escaping @Sendable () -> Void = {},
        report: @escaping @Sendable (EntranceDecision) -> Void = { _ in }
    ) {
        self.beforeGrant = beforeGrant
        self.door = door
        self.decider = decider
        self.doorInbox = doorInbox
        self.wallClock = wallClock
        self.clockTrusted = clockTrusted
        self.holderBound = holderBound
        self.proofWindow = proofWindow
        self.limiter = Mutex(rateLimiter)
        self.report = report
    }

    /// Starts deciding what `codes` delivers, until it is closed and drained.
    public func start(taking codes: BoundedQueue<ScannedCode>) {
        let thread = Thread { [self] in
            defer { ended.signal() }
            while let code = codes.take() { decide(code) }
        }
        thread.name = "decide \(door)"
        thread.start()
    }

    /// Decides one code now, on the calling thread.
    public func decide(_ code: ScannedCode) {
        var outcome = EntranceDecision(door: door, code: code, commandedAt: .now)
        let tick = ContinuousClock.now - origin
        // Read once: the limiter and the decision look at the same parse.
        let pass = ScannedPass(text: code.text)
        do {
            // Refused unchecked, before anything else, and still recorded: a flood costs one append.
            if limiter.withLock({ $0.refuses(pass, at: tick) }) {
                outcome.decision = try decider.recordRefusal(
                    door: door,
                    now: wallClock(),
                    reason: .rateLimited,
                    why: "this code was denied repeatedly, or codes that are not passes keep arriving"
                )
            } else {
                let decision = try decider.decide(
                    pass,
                    door: door,
                    now: wallClock(),
                    clockTrusted: clockTrusted(),
                    holderBound: holderBound,
                    proofWindow: proofWindow
                )
                outcome.decision = decision
                limiter.withLock { $0.record(pass, reason: decision.reason, at: tick) }
                if decision.granted {
                    beforeGrant()
                    doorInbox.send(.stimulus(.grant), to: door)
                }
            }
        } catch {
            outcome.failure = "\(error)"
        }
        doorInbox.send(.feedback(granted: outcome.granted), to: door)
        outcome.commandedAt = .now
        report(outcome)
    }

    /// Waits until the decision thread has ended.
    public func wait() {
        ended.wait()
        ended.signal()
    }
}

/// A door's whole scan path: a ``ScanLoop`` on its frame source feeding an ``Entrance``.
public final class DoorPipeline: Sendable {
    public let scanLoop: ScanLoop
    public let entrance: Entrance

    public init(scan settings: ScanSettings, entrance: Entrance) {
        scanLoop = ScanLoop(settings: settings)
        self.entrance = entrance
    }

    /// Starts capture, decoding and deciding. `open` runs on the capture thread.
    public func start(_ open: @escaping @Sendable () throws -> any FrameSource) {
        entrance.start(taking: scanLoop.codes)
        scanLoop.start(open)
    }

    /// Stops capture and decoding, lets the decisions already admitted finish, and waits.
    public func stop() {
        scanLoop.stop()
        scanLoop.wait()
        entrance.wait()
    }

    /// Waits until the source has ended and every admitted code is decided.
    public func wait() {
        scanLoop.wait()
        entrance.wait()
    }
}
