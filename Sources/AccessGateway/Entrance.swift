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
    /// When the door controller set the relay line for the grant (or acted on it, when the line
    /// already was on); nil for a scan not granted, and for a grant the door did not carry out.
    public var relaySetAt: ContinuousClock.Instant?

    public var granted: Bool { decision?.granted ?? false }

    /// From the frame's capture to the relay line set for the grant, when it was.
    public var scanToRelay: Duration? { relaySetAt.map { $0 - code.capturedAt } }
}

/// The instant the door thread reports a grant's relay line set, for the decision thread to wait on.
private final class RelayWatch: Sendable {
    private let setAt = Mutex<ContinuousClock.Instant?>(nil)
    private let told = DispatchSemaphore(value: 0)

    func hear(energised: Bool) {
        // Stamped on the door thread, right after the line was set.
        if energised { setAt.withLock { $0 = .now } }
        told.signal()
    }

    /// The instant, once the door has told; nil when the relay did not energise, or the door
    /// said nothing within `bound`.
    func wait(upTo bound: DispatchTimeInterval) -> ContinuousClock.Instant? {
        guard told.wait(timeout: .now() + bound) == .success else { return nil }
        return setAt.withLock { $0 }
    }
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
    /// A door thread that hangs must not stop the decisions: past this, a grant is reported
    /// without its relay time.
    static let relayWait = DispatchTimeInterval.seconds(1)

    /// `wallClock` gives the UNIX time decisions are taken at, and `clockTrusted` whether it can
    /// be believed (HQSync's `ClockTrust`); `report` runs on the decision thread after the door
    /// was commanded and, for a grant, once the door has set the relay line (or said it did not).
    /// `holderBound` and `proofWindow` are the door's AG2 policy (docs/token.md).
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
        var relay: RelayWatch?
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
                    let watch = RelayWatch()
                    relay = watch
                    doorInbox.send(.grant, to: door) { watch.hear(energised: $0) }
                }
            }
        } catch {
            outcome.failure = "\(error)"
        }
        doorInbox.send(.feedback(granted: outcome.granted), to: door)
        outcome.commandedAt = .now
        outcome.relaySetAt = relay?.wait(upTo: Self.relayWait)
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
