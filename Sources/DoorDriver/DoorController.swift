import Dispatch
import Foundation
import Synchronization

/// A command for a door from another thread: a stimulus, or feedback for a decision.
public enum DoorCommand: Sendable, Equatable {
    case stimulus(DoorStimulus)
    /// Show the member the decision: green for granted, red and a beep for denied.
    case feedback(granted: Bool)
}

/// Tells a stimulus's sender, once, whether the door's relay is energised after the controller
/// acted on it.
final class RelayReceipt: Sendable {
    private let tell: Mutex<(@Sendable (Bool) -> Void)?>

    init(_ tell: @escaping @Sendable (Bool) -> Void) {
        self.tell = Mutex(tell)
    }

    /// Tells the sender the first time only: a receipt settled as the line was set is not settled
    /// again when a later output fails and the controller shuts down.
    func settle(energised: Bool) {
        let tell = self.tell.withLock { tell in
            defer { tell = nil }
            return tell
        }
        tell?(energised)
    }
}

/// A command queued in a ``DoorInbox``.
struct QueuedCommand {
    var door: String?
    var command: DoorCommand
    var receipt: RelayReceipt?
}

/// The thread-safe way into a running ``DoorController``.
public final class DoorInbox: Sendable {
    private let queue = Mutex<(commands: [QueuedCommand], closed: Bool)>(([], false))
    private let waker: any DoorWaker

    init(waker: any DoorWaker) {
        self.waker = waker
    }

    /// Queues `command` for `door`, or for every door when `door` is nil, and wakes the controller.
    public func send(_ command: DoorCommand, to door: String?) {
        post(QueuedCommand(door: door, command: command))
    }

    /// Queues `stimulus` for `door` and tells `onRelay`, once, whether the door's relay is energised
    /// after the controller acted on it: true on the controller's thread right after it set the
    /// relay line on for it (or once it acted, when the line already was on); false when the relay
    /// is not energised after it (a refused grant), or when the controller shut down first. Keep
    /// `onRelay` short: the door waits for it.
    public func send(_ stimulus: DoorStimulus, to door: String, onRelay: @escaping @Sendable (_ energised: Bool) -> Void) {
        post(QueuedCommand(door: door, command: .stimulus(stimulus), receipt: RelayReceipt(onRelay)))
    }

    private func post(_ command: QueuedCommand) {
        let queued = queue.withLock { queue in
            if !queue.closed { queue.commands.append(command) }
            return !queue.closed
        }
        guard queued else {
            // Nothing will act on it: its sender hears so at once.
            command.receipt?.settle(energised: false)
            return
        }
        waker.wake()
    }

    /// Wakes the controller without a command, so it looks at its stop flag.
    func wake() {
        waker.wake()
    }

    func take() -> [QueuedCommand] {
        queue.withLock { queue in
            defer { queue.commands.removeAll() }
            return queue.commands
        }
    }

    /// The controller has shut down: what is queued, and whatever comes later, is not acted on, and
    /// its sender hears that the relay did not energise.
    func close() {
        let unread = queue.withLock { queue in
            queue.closed = true
            defer { queue.commands.removeAll() }
            return queue.commands
        }
        for command in unread { command.receipt?.settle(energised: false) }
    }
}

/// Runs the doors of one board: reads debounced inputs, feeds each door's state machine, drives the
/// relays and feedback outputs, and reports every door event.
///
/// It owns its ``DoorIO`` and is confined to the thread that calls ``step()`` or ``run(while:)``;
/// other threads talk to it through ``inbox``. The clock is injected, so tests can swap it.
public final class DoorController {
    public typealias EventHandler = (_ door: String?, _ event: DoorEvent) -> Void

    private struct Door {
        var config: DoorConfig
        var machine: DoorStateMachine
        var debouncers: [InputKind: Debouncer]
        var greenUntil: Duration?
        var redUntil: Duration?
        var beepUntil: Duration?
        var driven: [DoorOutput: Bool] = [:]
        /// Senders waiting to hear whether their stimulus energised the relay.
        var awaitingRelay: [RelayReceipt] = []

        mutating func settleReceipts(energised: Bool) {
            for receipt in awaitingRelay { receipt.settle(energised: energised) }
            awaitingRelay = []
        }
    }

    public let io: any DoorIO
    public let inbox: DoorInbox
    private let clock: () -> Duration
    private let onEvent: EventHandler
    private var doors: [String: Door] = [:]
    private var fireAlarm: Debouncer?

    /// How long feedback shows.
    static let feedbackTime = Duration.seconds(2)
    static let beepTime = Duration.milliseconds(300)

    /// Takes over the board: reads the inputs' current levels and drives every output to its
    /// locked, dark, silent state.
    public init(
        io: any DoorIO,
        doors configs: [DoorConfig],
        fireAlarmDebounceMs: Int = 20,
        clock: @escaping () -> Duration,
        onEvent: @escaping EventHandler
    ) throws(DoorDriverError) {
        self.io = io
        self.inbox = DoorInbox(waker: io.waker)
        self.clock = clock
        self.onEvent = onEvent
        let now = clock()
        var pendingTamper: [String] = []
        for config in configs {
            var door = Door(
                config: config,
                machine: DoorStateMachine(
                    timing: config.timing,
                    hasPositionSwitch: config.dps != nil,
                    rexUnlocks: config.rexUnlocks
                ),
                debouncers: [:]
            )
            for input in io.inputs where input.door == config.id {
                let line = [InputKind.dps: config.dps, .rex: config.rex, .tamper: config.tamper][input.kind] ?? nil
                let level = try io.level(input)
                door.debouncers[input.kind] = Debouncer(
                    interval: Self.remainingDebounce(.milliseconds(line?.debounceMs ?? 20), io.kernelDebounce(input)),
                    level: level
                )
                switch input.kind {
                // A door found open is a fact, not a forced entry.
                case .dps: door.machine.assumeDoorOpen(level, at: now)
                case .tamper where level: pendingTamper.append(config.id)
                default: break
                }
            }
            for output in DoorOutput.allCases where io.has(output, of: config.id) {
                try io.set(output, of: config.id, on: false)
                door.driven[output] = false
            }
            doors[config.id] = door
        }
        for id in pendingTamper { try dispatch(.tamper(active: true), to: id, at: now) }
        if io.inputs.contains(.fireAlarm) {
            fireAlarm = Debouncer(
                interval: Self.remainingDebounce(.milliseconds(fireAlarmDebounceMs), io.kernelDebounce(.fireAlarm)),
                level: try io.level(.fireAlarm)
            )
            if fireAlarm!.level { try dispatch(.fireAlarm(active: true), to: nil, at: now) }
        }
        try driveOutputs(at: now)
    }

    /// The part of a debounce interval the kernel has not already applied, so that a level counts
    /// after the same time with either libgpiod API.
    static func remainingDebounce(_ configured: Duration, _ kernel: Duration) -> Duration {
        max(.zero, configured - kernel)
    }

    private static func stimulus(_ kind: InputKind, _ level: Bool) -> DoorStimulus {
        switch kind {
        case .dps: return .doorPosition(open: level)
        case .rex: return .rex(pressed: level)
        case .tamper: return .tamper(active: level)
        case .fireAlarm: return .fireAlarm(active: level)
        }
    }

    /// The door's state machine, for inspection.
    public func machine(_ door: String) -> DoorStateMachine? { doors[door]?.machine }

    /// One pass: queued commands, input edges seen by `wait`, debounce and deadlines, then outputs.
    public func step(edges: Set<InputID> = []) throws(DoorDriverError) {
        var now = clock()
        for queued in inbox.take() {
            let door = queued.door
            // Told when the outputs are driven; a door this board does not run never energises.
            if let receipt = queued.receipt {
                if let door, doors[door] != nil {
                    doors[door]!.awaitingRelay.append(receipt)
                } else {
                    receipt.settle(energised: false)
                }
            }
            switch queued.command {
            case .stimulus(let stimulus): try dispatch(stimulus, to: door, at: now)
            case .feedback(let granted):
                for id in door.map({ [$0] }) ?? Array(doors.keys) {
                    if granted {
                        doors[id]?.greenUntil = now + Self.feedbackTime
                    } else {
                        doors[id]?.redUntil = now + Self.feedbackTime
                        doors[id]?.beepUntil = now + Self.beepTime
                    }
                }
            }
        }
        for edge in edges {
            let level = try io.level(edge)
            if edge == .fireAlarm {
                fireAlarm?.observe(level, at: now)
            } else if let door = edge.door {
                doors[door]?.debouncers[edge.kind]?.observe(level, at: now)
            }
        }
        now = clock()
        if let level = fireAlarm?.settle(at: now) { try dispatch(.fireAlarm(active: level), to: nil, at: now) }
        for id in doors.keys.sorted() {
            for kind in InputKind.allCases {
                if let level = doors[id]?.debouncers[kind]?.settle(at: now) {
                    try dispatch(Self.stimulus(kind, level), to: id, at: now)
                }
            }
            try dispatch(.tick, to: id, at: now)
        }
        try driveOutputs(at: now)
    }

    /// The next time something is due: a pulse end, an alarm delay, a debounce, feedback.
    public var nextDeadline: Duration? {
        var deadlines = doors.values.flatMap { door in
            [door.machine.nextDeadline, door.greenUntil, door.redUntil, door.beepUntil]
                + door.debouncers.values.map(\.deadline)
        }
        deadlines.append(fireAlarm?.deadline)
        return deadlines.compactMap { $0 }.min()
    }

    /// Runs until `keepGoing` returns false: waits for edges, commands or the next deadline.
    public func run(while keepGoing: () -> Bool) throws(DoorDriverError) {
        while keepGoing() {
            let wait = nextDeadline.map { max(.zero, $0 - clock()) } ?? .seconds(1)
            let edges = try io.wait(timeout: min(wait, .seconds(1)))
            try step(edges: edges)
        }
    }

    /// Drives every relay to locked and every feedback output off, and closes ``inbox``: stimuli
    /// not acted on are answered as not energising the relay. Call before exiting.
    public func shutdown() {
        for id in doors.keys {
            for output in DoorOutput.allCases where io.has(output, of: id) {
                try? io.set(output, of: id, on: false)
            }
            doors[id]!.settleReceipts(energised: false)
        }
        inbox.close()
    }

    private func dispatch(_ stimulus: DoorStimulus, to door: String?, at now: Duration) throws(DoorDriverError) {
        if door == nil, case .fireAlarm(let active) = stimulus {
            // The fire alarm is the board's: every door hears it, and it is reported once.
            onEvent(nil, .alarm(.fireAlarm, raised: active))
            for id in doors.keys.sorted() {
                for event in doors[id]!.machine.handle(stimulus, at: now) {
                    if case .alarm(.fireAlarm, _) = event { continue }
                    onEvent(id, event)
                }
            }
            return
        }
        for id in door.map({ [$0] }) ?? doors.keys.sorted() {
            guard doors[id] != nil else { continue }
            for event in doors[id]!.machine.handle(stimulus, at: now) { onEvent(id, event) }
        }
    }

    private func driveOutputs(at now: Duration) throws(DoorDriverError) {
        for id in doors.keys.sorted() {
            var door = doors[id]!
            func active(_ until: inout Duration?) -> Bool {
                if let deadline = until, now >= deadline { until = nil }
                return until != nil
            }
            let alarms = door.machine.raisedAlarms
            let wanted: [DoorOutput: Bool] = [
                .relay: door.machine.relayEnergised,
                .green: active(&door.greenUntil) || door.machine.relayEnergised,
                .red: active(&door.redUntil) || door.machine.mode == .lockdown,
                .buzzer: active(&door.beepUntil) || alarms.contains(.forcedOpen) || alarms.contains(.heldOpen)
                    || alarms.contains(.tamper),
            ]
            for (output, on) in wanted where io.has(output, of: id) && door.driven[output] != on {
                try io.set(output, of: id, on: on)
                door.driven[output] = on
                // Senders hear of the relay the moment its line is set, not after the other outputs.
                if output == .relay && on { door.settleReceipts(energised: true) }
            }
            // A board without a relay line for this door sets nothing: no sender hears "energised".
            door.settleReceipts(energised: door.machine.relayEnergised && io.has(.relay, of: id))
            doors[id] = door
        }
    }
}

/// A ``DoorController`` on a thread of its own, as the gateway runs one: other threads command it
/// through ``inbox``.
public final class DoorControllerThread: Sendable {
    public let inbox: DoorInbox
    private let stopping = Atomic<Bool>(false)
    private let ended = DispatchSemaphore(value: 0)
    private let failure = Mutex<DoorDriverError?>(nil)
    /// Whether the thread has ended, and who is to be told when it does.
    private let endWatch = Mutex<(ended: Bool, watchers: [@Sendable (DoorDriverError?) -> Void])>((false, []))

    /// Starts the thread; `make` runs on it and builds the controller, which the thread owns (a
    /// board is not thread-safe). Returns once the controller holds the lines, or throws why not.
    public static func start(
        _ make: @escaping @Sendable () throws -> DoorController
    ) throws(DoorDriverError) -> DoorControllerThread {
        let handshake = Mutex<Result<DoorInbox, DoorDriverError>?>(nil)
        let ready = DispatchSemaphore(value: 0)
        let registered = DispatchSemaphore(value: 0)
        let box = Mutex<DoorControllerThread?>(nil)
        let thread = Thread {
            let controller: DoorController
            do {
                controller = try make()
            } catch {
                let failure = error as? DoorDriverError ?? .badConfig("\(error)")
                handshake.withLock { $0 = .failure(failure) }
                ready.signal()
                return
            }
            handshake.withLock { $0 = .success(controller.inbox) }
            ready.signal()
            registered.wait()
            guard let this = box.withLock({ $0 }) else { return }
            do throws(DoorDriverError) {
                try controller.run { !this.stopping.load(ordering: .acquiring) }
            } catch {
                this.failure.withLock { $0 = error }
            }
            // Whatever ended the loop, the relays are driven locked before the thread goes.
            controller.shutdown()
            this.ended.signal()
            let watchers = this.endWatch.withLock { state in
                state.ended = true
                defer { state.watchers = [] }
                return state.watchers
            }
            let error = this.error
            for watcher in watchers { watcher(error) }
        }
        thread.name = "door"
        thread.start()
        ready.wait()
        let inbox = try handshake.withLock { $0 }!.get()
        let this = DoorControllerThread(inbox: inbox)
        box.withLock { $0 = this }
        registered.signal()
        return this
    }

    private init(inbox: DoorInbox) {
        self.inbox = inbox
    }

    /// Ends the loop; the controller locks every relay, then the thread ends. Waits for that.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        inbox.wake()
        ended.wait()
        ended.signal()
    }

    /// Why the controller stopped on its own (a line failed), if it did.
    public var error: DoorDriverError? { failure.withLock { $0 } }

    /// Calls `body` once the thread has ended (its relays locked), with why it stopped on its own or
    /// nil after ``stop()``; at once when it has already ended. On the ending thread: keep it short.
    public func onEnd(_ body: @escaping @Sendable (DoorDriverError?) -> Void) {
        let now = endWatch.withLock { state -> Bool in
            if state.ended { return true }
            state.watchers.append(body)
            return false
        }
        if now { body(error) }
    }
}
