import Dispatch

/// The in-memory twin of a board, for tests of the controller and state machine, the demo and the
/// benchmarks. Inputs are set by the test; outputs are recorded with the controller's clock.
public final class MemoryDoorIO: DoorIO {
    private final class SemaphoreWaker: DoorWaker {
        let semaphore = DispatchSemaphore(value: 0)
        func wake() { semaphore.signal() }
    }

    public let inputs: [InputID]
    public var waker: any DoorWaker { wakeUps }
    private let wakeUps = SemaphoreWaker()
    /// Whether ``wait(timeout:)`` blocks like a real board (for a controller on its own thread).
    public let blocking: Bool
    /// Called on the controller's thread for every output change: how a benchmark times the relay.
    public var onSet: ((_ door: String, _ output: DoorOutput, _ on: Bool) -> Void)?
    private let wired: [String: Set<DoorOutput>]
    private var levels: [InputID: Bool] = [:]
    private var pendingEdges: Set<InputID> = []
    /// Every output change, in order.
    public private(set) var history: [(door: String, output: DoorOutput, on: Bool)] = []
    public private(set) var outputs: [String: [DoorOutput: Bool]] = [:]
    /// The debounce the twin's "kernel" claims to apply (as libgpiod v2 does), so that tests can
    /// show the controller only adds what is missing.
    public var kernelDebounced: Duration = .zero

    /// `blocking` false: ``wait(timeout:)`` returns at once, for tests that step the controller
    /// and drive time themselves.
    public init(outputs wired: [String: Set<DoorOutput>], inputs: [InputID], blocking: Bool = false) {
        self.wired = wired
        self.inputs = inputs
        self.blocking = blocking
    }

    public func kernelDebounce(_ input: InputID) -> Duration { kernelDebounced }

    /// Changes an input's logical level, as a wire would.
    public func setInput(_ input: InputID, _ level: Bool) {
        guard levels[input, default: false] != level else { return }
        levels[input] = level
        pendingEdges.insert(input)
    }

    public func output(_ output: DoorOutput, of door: String) -> Bool { outputs[door]?[output] ?? false }

    public func has(_ output: DoorOutput, of door: String) -> Bool { wired[door]?.contains(output) ?? false }

    public func set(_ output: DoorOutput, of door: String, on: Bool) throws(DoorDriverError) {
        guard has(output, of: door) else { return }
        outputs[door, default: [:]][output] = on
        history.append((door, output, on))
        onSet?(door, output, on)
    }

    public func level(_ input: InputID) throws(DoorDriverError) -> Bool { levels[input] ?? false }

    /// Returns the edges since the last call; when blocking and there are none, first waits for
    /// a wake-up or the timeout.
    public func wait(timeout: Duration) throws(DoorDriverError) -> Set<InputID> {
        if blocking && pendingEdges.isEmpty {
            let nanoseconds =
                timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
            _ = wakeUps.semaphore.wait(timeout: .now() + .nanoseconds(Int(nanoseconds)))
        }
        defer { pendingEdges.removeAll() }
        return pendingEdges
    }
}
