import Dispatch
import Foundation
import Synchronization

/// A one-frame mailbox between capture and decoding: the latest frame wins. When decoding falls
/// behind, older frames are dropped, never queued, so a scan always sees what the camera sees now.
public final class LatestFrame: Sendable {
    private struct State {
        var frame: (image: GreyImage, at: ContinuousClock.Instant)?
        var dropped = 0
        var closed = false
    }
    private let slot = Mutex(State())
    private let arrived = DispatchSemaphore(value: 0)

    public init() {}

    /// Puts a frame in, replacing (and counting) one that was not taken yet. `at` is when the
    /// frame was handed over, for scan-to-relay latency.
    public func put(_ frame: GreyImage, at: ContinuousClock.Instant = .now) {
        let wasEmpty = slot.withLock { state in
            defer { state.frame = (frame, at) }
            if state.frame != nil { state.dropped += 1 }
            return state.frame == nil
        }
        if wasEmpty { arrived.signal() }
    }

    /// Takes the frame, if there is one.
    public func take() -> (image: GreyImage, at: ContinuousClock.Instant)? {
        slot.withLock { state in
            defer { state.frame = nil }
            return state.frame
        }
    }

    /// Waits for a frame; nil once the mailbox is closed and empty.
    public func next() -> (image: GreyImage, at: ContinuousClock.Instant)? {
        while true {
            let (frame, closed) = slot.withLock { state in
                defer { state.frame = nil }
                return (state.frame, state.closed)
            }
            if let frame { return frame }
            if closed { return nil }
            arrived.wait()
        }
    }

    /// Ends the stream: `next()` returns what is left, then nil.
    public func close() {
        slot.withLock { $0.closed = true }
        arrived.signal()
    }

    /// Frames replaced before anyone took them.
    public var dropped: Int { slot.withLock { $0.dropped } }
}

/// A bounded first-in, first-out hand-off between threads. A full queue blocks the producer: that
/// is the backpressure that keeps a slow consumer from growing a backlog.
public final class BoundedQueue<Element: Sendable>: Sendable {
    private let items = Mutex<(queue: [Element], closed: Bool)>(([], false))
    private let free: DispatchSemaphore
    private let filled = DispatchSemaphore(value: 0)
    public let capacity: Int

    public init(capacity: Int) {
        precondition(capacity > 0, "a queue needs room for one element")
        self.capacity = capacity
        free = DispatchSemaphore(value: capacity)
    }

    /// Appends `element`, waiting while the queue is full; false when the queue was closed.
    @discardableResult
    public func put(_ element: Element) -> Bool {
        free.wait()
        let accepted = items.withLock { state -> Bool in
            guard !state.closed else { return false }
            state.queue.append(element)
            return true
        }
        // A closed queue wakes the next waiting producer too.
        if accepted { filled.signal() } else { free.signal() }
        return accepted
    }

    /// The oldest element, waiting for one; nil once the queue is closed and empty, or on timeout.
    public func take(timeout: Duration? = nil) -> Element? {
        while true {
            let (element, closed) = items.withLock { state -> (Element?, Bool) in
                state.queue.isEmpty ? (nil, state.closed) : (state.queue.removeFirst(), state.closed)
            }
            if let element {
                free.signal()
                return element
            }
            if closed {
                filled.signal()
                return nil
            }
            if let timeout {
                let nanoseconds =
                    timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
                if filled.wait(timeout: .now() + .nanoseconds(Int(nanoseconds))) == .timedOut { return nil }
            } else {
                filled.wait()
            }
        }
    }

    /// Refuses further elements and wakes every waiter; what is queued can still be taken.
    public func close() {
        items.withLock { $0.closed = true }
        filled.signal()
        free.signal()
    }

    public var count: Int { items.withLock { $0.queue.count } }
}

/// Decides which scans become decisions: a code is decided once, then ignored for a cooldown, so
/// the same pass seen in consecutive frames gives one decision. Pure; the caller passes the time.
public struct ScanGate: Sendable {
    public let cooldown: Duration
    /// Longer cooldowns for codes that start with a prefix (the gateway holds single-use codes
    /// off for as long as they could be valid, so one held in view is decided once).
    public let prefixCooldowns: [String: Duration]
    private var decidedAt: [String: Duration] = [:]

    /// `cooldown`: how long a decided code is ignored, even if it leaves view and comes back.
    public init(cooldown: Duration = .seconds(3), prefixCooldowns: [String: Duration] = [:]) {
        self.cooldown = cooldown
        self.prefixCooldowns = prefixCooldowns
    }

    func cooldown(of text: String) -> Duration {
        prefixCooldowns.first { text.hasPrefix($0.key) }?.value ?? cooldown
    }

    /// Feeds the texts found in one frame at `now`; returns those that should be decided.
    public mutating func admit(_ texts: [String], at now: Duration) -> [String] {
        decidedAt = decidedAt.filter { now - $0.value < cooldown(of: $0.key) }
        var admitted: [String] = []
        for text in texts where decidedAt[text] == nil {
            decidedAt[text] = now
            admitted.append(text)
        }
        return admitted
    }
}

/// How a ``ScanLoop`` decodes.
public struct ScanSettings: Sendable, Equatable {
    public var decoders: QRDecoders
    /// The decode budget per frame (``QRStreamScanner``).
    public var budget: Duration
    /// How long a decided code is ignored (``ScanGate``).
    public var cooldown: Duration
    /// Longer cooldowns by code prefix (``ScanGate``).
    public var prefixCooldowns: [String: Duration]
    /// How many admitted codes may wait for a decision before decoding waits.
    public var queueDepth: Int
    /// The gate in front of the full decode (``FrameGate``); nil decodes every frame.
    public var frameGate: FrameGate.Settings?

    public init(
        decoders: QRDecoders = .auto,
        budget: Duration = .milliseconds(20),
        cooldown: Duration = .seconds(3),
        prefixCooldowns: [String: Duration] = [:],
        queueDepth: Int = 4,
        frameGate: FrameGate.Settings? = FrameGate.Settings()
    ) {
        self.decoders = decoders
        self.budget = budget
        self.cooldown = cooldown
        self.prefixCooldowns = prefixCooldowns
        self.queueDepth = queueDepth
        self.frameGate = frameGate
    }
}

/// A code the scan loop admitted for a decision.
public struct ScannedCode: Sendable, Equatable {
    public var symbol: QRSymbol
    public var text: String { symbol.text }
    /// When the frame that carried it was handed to the loop.
    public var capturedAt: ContinuousClock.Instant
    /// How long that frame took to decode.
    public var decodeTime: Duration

    public init(symbol: QRSymbol, capturedAt: ContinuousClock.Instant, decodeTime: Duration) {
        self.symbol = symbol
        self.capturedAt = capturedAt
        self.decodeTime = decodeTime
    }
}

/// What a scan loop has done so far.
public struct ScanStatistics: Sendable, Equatable {
    /// Frames the source delivered.
    public var frames = 0
    /// When the source last delivered one.
    public var lastFrameAt: ContinuousClock.Instant?
    /// Frames decoded in full.
    public var decoded = 0
    /// Frames the ``FrameGate`` found unchanged and let skip the full decode.
    public var gated = 0
    /// Symbols found, counting a code once per frame it was in.
    public var symbols = 0
    /// Codes handed on for a decision.
    public var admitted = 0
    /// Decoder passes skipped because a frame's budget was spent.
    public var skippedPasses = 0
    /// Decode times of the most recent frames, in milliseconds, oldest first (at most 1,024).
    public var recentDecodeMs: [Double] = []
    /// The frames replaced in the mailbox by newer ones: `frames - decoded - gated`, less any
    /// frame still in the mailbox.
    public var dropped: Int { max(0, frames - decoded - gated) }
}

/// Frames in, admitted codes out: a capture thread puts each frame in a ``LatestFrame``; a decode
/// thread takes the latest one, asks the ``FrameGate`` (when set) whether it needs decoding, scans
/// it within the budget, passes what it finds through a ``ScanGate``, and
/// puts admitted codes in ``codes``, whose consumer (the decision) runs on its own thread. When
/// the consumer is slow, the full queue holds the decode thread, and capture keeps replacing the
/// one waiting frame, so nothing grows and nothing old is decided.
public final class ScanLoop: Sendable {
    public let settings: ScanSettings
    /// Admitted codes, in order; closed when the loop has ended.
    public let codes: BoundedQueue<ScannedCode>
    private let frames = LatestFrame()
    private let state = Mutex<(statistics: ScanStatistics, failure: QRCodecError?, stopping: Bool)>(
        (.init(), nil, false)
    )
    private let ended = DispatchGroup()

    public init(settings: ScanSettings = ScanSettings()) {
        self.settings = settings
        codes = BoundedQueue(capacity: settings.queueDepth)
    }

    /// Starts the two threads. `open` runs on the capture thread, which owns the source from then
    /// on (sources and cameras are not thread-safe).
    public func start(_ open: @escaping @Sendable () throws -> any FrameSource) {
        ended.enter()
        ended.enter()
        let capture = Thread { [self] in
            defer {
                frames.close()
                ended.leave()
            }
            do {
                let source = try open()
                while !state.withLock({ $0.stopping }), let frame = try source.nextFrame() {
                    let at = ContinuousClock.now
                    frames.put(frame, at: at)
                    state.withLock {
                        $0.statistics.frames += 1
                        $0.statistics.lastFrameAt = at
                    }
                }
            } catch {
                let failure = error as? QRCodecError ?? .badParameter("\(error)")
                state.withLock { $0.failure = $0.failure ?? failure }
            }
        }
        capture.name = "capture"
        let decode = Thread { [self] in
            defer {
                codes.close()
                ended.leave()
            }
            decodeFrames()
        }
        decode.name = "decode"
        capture.start()
        decode.start()
    }

    private func decodeFrames() {
        let scanner: QRStreamScanner
        do { scanner = try QRStreamScanner(decoders: settings.decoders, budget: settings.budget) } catch {
            state.withLock {
                $0.failure = error
                $0.stopping = true
            }
            return
        }
        var stream = scanner
        var gate = ScanGate(cooldown: settings.cooldown, prefixCooldowns: settings.prefixCooldowns)
        var frameGate = settings.frameGate.map { FrameGate(settings: $0) }
        let clock = ContinuousClock()
        let origin = clock.now
        while let (frame, at) = frames.next(), !state.withLock({ $0.stopping }) {
            // The time the frame was handed over, so a frame that waited is judged when it was shown.
            if let verdict = frameGate?.assess(frame, at: at - origin), !verdict.decodes {
                state.withLock { $0.statistics.gated += 1 }
                continue
            }
            let started = clock.now
            let symbols = stream.scan(frame)
            let took = clock.now - started
            frameGate?.decoded(foundCode: !symbols.isEmpty, at: at - origin)
            var unique: [QRSymbol] = []
            for symbol in symbols where !unique.contains(where: { $0.bytes == symbol.bytes }) { unique.append(symbol) }
            let admitted = gate.admit(unique.map(\.text), at: clock.now - origin)
            let skipped = stream.skippedPasses
            state.withLock {
                $0.statistics.decoded += 1
                $0.statistics.symbols += unique.count
                $0.statistics.admitted += admitted.count
                $0.statistics.skippedPasses = skipped
                $0.statistics.recentDecodeMs.append(
                    Double(took.components.attoseconds) / 1e15 + Double(took.components.seconds) * 1e3
                )
                if $0.statistics.recentDecodeMs.count > 1024 { $0.statistics.recentDecodeMs.removeFirst(256) }
            }
            for symbol in unique where admitted.contains(symbol.text) {
                guard codes.put(ScannedCode(symbol: symbol, capturedAt: at, decodeTime: took)) else { return }
            }
        }
    }

    /// Asks both threads to end; capture ends after its current frame, decoding after its.
    public func stop() {
        state.withLock { $0.stopping = true }
        codes.close()
    }

    /// Waits until both threads have ended (the source ran out, failed, or ``stop()`` was called).
    public func wait() {
        ended.wait()
    }

    /// Calls `body` once both threads have ended (the source ran out, failed, or ``stop()`` was
    /// called), on a global queue; at once when they already have. Call it after ``start(_:)``.
    public func onEnd(_ body: @escaping @Sendable () -> Void) {
        ended.notify(queue: .global(), execute: body)
    }

    /// Waits at most `timeout`; true when both threads have ended.
    public func wait(timeout: Duration) -> Bool {
        let nanoseconds = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        return ended.wait(timeout: .now() + .nanoseconds(Int(nanoseconds))) == .success
    }

    public var statistics: ScanStatistics { state.withLock { $0.statistics } }
    /// Why the loop ended early: the source or camera failed.
    public var failure: QRCodecError? { state.withLock { $0.failure } }
}
