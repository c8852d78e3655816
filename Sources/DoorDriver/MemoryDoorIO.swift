/// The in-memory twin of a board, for tests of the controller and state machine. Inputs are set by
/// the test; outputs are recorded with the controller's clock.
public final class MemoryDoorIO: DoorIO {
    private final class NoWaker: DoorWaker {
        func wake() {}
    }

    public let inputs: [InputID]
    public let waker: any DoorWaker = NoWaker()
    private let wired: [String: Set<DoorOutput>]
    private var levels: [InputID: Bool] = [:]
    private var pendingEdges: Set<InputID> = []
    /// Every output change, in order.
    public private(set) var history: [(door: String, output: DoorOutput, on: Bool)] = []
    public private(set) var outputs: [String: [DoorOutput: Bool]] = [:]

    public init(outputs wired: [String: Set<DoorOutput>], inputs: [InputID]) {
        self.wired = wired
        self.inputs = inputs
    }

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
    }

    public func level(_ input: InputID) throws(DoorDriverError) -> Bool { levels[input] ?? false }

    /// Returns the edges since the last call at once; the test drives time itself.
    public func wait(timeout: Duration) throws(DoorDriverError) -> Set<InputID> {
        defer { pendingEdges.removeAll() }
        return pendingEdges
    }
}
