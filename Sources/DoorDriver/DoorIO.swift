/// A door's inputs, plus the board-wide fire alarm.
public enum InputKind: String, Sendable, Hashable, CaseIterable {
    /// Door position switch: active while the door is open.
    case dps
    /// Request to exit.
    case rex
    case tamper
    /// Shared by every door on the board.
    case fireAlarm = "fire_alarm"
}

/// A door's outputs.
public enum DoorOutput: String, Sendable, Hashable, CaseIterable {
    case relay, green, red, buzzer
}

/// One input line: a door's input, or the board's fire alarm (`door` nil).
public struct InputID: Sendable, Hashable, CustomStringConvertible {
    public var door: String?
    public var kind: InputKind

    public init(door: String?, kind: InputKind) {
        self.door = door
        self.kind = kind
    }

    public static let fireAlarm = InputID(door: nil, kind: .fireAlarm)

    public var description: String { door.map { "\($0)/\(kind.rawValue)" } ?? kind.rawValue }
}

/// Wakes a controller blocked in ``DoorIO/wait(timeout:)`` from another thread.
public protocol DoorWaker: Sendable {
    func wake()
}

/// Door hardware: logical outputs and inputs (polarity is the backend's business), and a wait for
/// input edges. Implementations are not thread-safe except for their ``waker``: confine one to a
/// single thread.
public protocol DoorIO: AnyObject {
    /// The inputs this board has.
    var inputs: [InputID] { get }
    var waker: any DoorWaker { get }
    /// Drives `output` of `door`; `on` is logical (energised, lit, sounding).
    func set(_ output: DoorOutput, of door: String, on: Bool) throws(DoorDriverError)
    /// Whether a door has `output` wired.
    func has(_ output: DoorOutput, of door: String) -> Bool
    /// The logical level of an input: true is active (open, pressed, tampered, alarm).
    func level(_ input: InputID) throws(DoorDriverError) -> Bool
    /// Blocks until an input edge, a wake-up or `timeout`; returns the inputs that saw edges.
    func wait(timeout: Duration) throws(DoorDriverError) -> Set<InputID>
    /// How long the kernel already debounces an input before reporting its edges.
    func kernelDebounce(_ input: InputID) -> Duration
}

extension DoorIO {
    /// Backends without kernel debounce: the controller debounces alone.
    public func kernelDebounce(_ input: InputID) -> Duration { .zero }
}
