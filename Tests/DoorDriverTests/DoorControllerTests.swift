import DoorDriver
import Synchronization
import Testing

/// A controller over the in-memory twin, with a clock the test moves.
final class Bench {
    var now: Duration = .zero
    let io: MemoryDoorIO
    var controller: DoorController!
    var events: [(String?, DoorEvent)] = []

    init(
        doors: [DoorConfig],
        fireAlarm: Bool = false,
        dpsOpenAtStart: Bool = false,
        kernelDebounce: Duration = .zero
    ) throws {
        var inputs: [InputID] = []
        var outputs: [String: Set<DoorOutput>] = [:]
        for door in doors {
            if door.dps != nil { inputs.append(InputID(door: door.id, kind: .dps)) }
            if door.rex != nil { inputs.append(InputID(door: door.id, kind: .rex)) }
            if door.tamper != nil { inputs.append(InputID(door: door.id, kind: .tamper)) }
            outputs[door.id] = Set(DoorOutput.allCases)
        }
        if fireAlarm { inputs.append(.fireAlarm) }
        io = MemoryDoorIO(outputs: outputs, inputs: inputs)
        io.kernelDebounced = kernelDebounce
        if dpsOpenAtStart, let door = doors.first { io.setInput(InputID(door: door.id, kind: .dps), true) }
        _ = try io.wait(timeout: .zero)
        controller = try DoorController(io: io, doors: doors, clock: { [unowned self] in self.now }) { [unowned self] in
            self.events.append(($0, $1))
        }
    }

    /// Advances the clock to `seconds` in 10 ms steps, as the real loop would wake.
    func run(to seconds: Double) throws {
        while now < t(seconds) {
            now = min(t(seconds), now + .milliseconds(10))
            try controller.step(edges: try io.wait(timeout: .zero))
        }
    }
}

func door(_ id: String = "L/front", pulse: Double = 2) -> DoorConfig {
    DoorConfig(
        id: id,
        relay: LineConfig(chip: "c", line: "0"),
        dps: LineConfig(chip: "c", line: "1"),
        rex: LineConfig(chip: "c", line: "2"),
        tamper: LineConfig(chip: "c", line: "3"),
        pulseSeconds: pulse
    )
}

@Suite struct DoorControllerTests {
    @Test func drivesTheRelayForAGrant() throws {
        let bench = try Bench(doors: [door(pulse: 2)])
        bench.controller.inbox.send(.stimulus(.grant), to: "L/front")
        try bench.run(to: 0.05)
        #expect(bench.io.output(.relay, of: "L/front"))
        try bench.run(to: 2.1)
        #expect(!bench.io.output(.relay, of: "L/front"))
    }

    @Test func debouncesInputsBeforeTheStateMachineSeesThem() throws {
        let bench = try Bench(doors: [door()])
        let dps = InputID(door: "L/front", kind: .dps)
        bench.io.setInput(dps, true)
        try bench.run(to: 0.01)
        bench.io.setInput(dps, false)
        try bench.run(to: 0.1)
        #expect(bench.events.isEmpty)
        bench.io.setInput(dps, true)
        try bench.run(to: 0.2)
        #expect(bench.events.map(\.1) == [.opened, .alarm(.forcedOpen, raised: true)])
        #expect(bench.io.output(.buzzer, of: "L/front"))
    }

    /// A kernel that already debounced an edge (libgpiod v2) leaves the controller only the rest of
    /// the configured 20 ms, so a level counts after the same time with either API.
    @Test(arguments: [(Duration.zero, false), (.milliseconds(10), false), (.milliseconds(20), true)])
    func kernelDebounceShortensOnlyTheControllersShare(kernel: Duration, openedWithin15ms: Bool) throws {
        let bench = try Bench(doors: [door()], kernelDebounce: kernel)
        bench.io.setInput(InputID(door: "L/front", kind: .dps), true)
        try bench.run(to: 0.015)
        #expect(bench.events.map(\.1).contains(.opened) == openedWithin15ms)
        try bench.run(to: 0.05)
        #expect(bench.events.map(\.1).contains(.opened))
    }

    @Test func aDoorFoundOpenAtStartIsNotForcedButIsHeldOpen() throws {
        let bench = try Bench(doors: [door()], dpsOpenAtStart: true)
        try bench.run(to: 1)
        #expect(bench.events.isEmpty)
        #expect(bench.controller.machine("L/front")?.doorOpen == true)
        // Propped open across a restart: the held-open alarm still comes.
        try bench.run(to: 30.5)
        #expect(bench.events.map(\.1) == [.alarm(.heldOpen, raised: true)])
    }

    @Test func theFireAlarmReleasesEveryDoorOnce() throws {
        let bench = try Bench(doors: [door("L/a"), door("L/b")], fireAlarm: true)
        bench.controller.inbox.send(.stimulus(.mode(.lockdown)), to: nil)
        bench.io.setInput(.fireAlarm, true)
        try bench.run(to: 0.5)
        #expect(bench.io.output(.relay, of: "L/a") && bench.io.output(.relay, of: "L/b"))
        #expect(bench.events.filter { $0.1 == .alarm(.fireAlarm, raised: true) }.map(\.0) == [nil])
        bench.io.setInput(.fireAlarm, false)
        try bench.run(to: 1)
        #expect(!bench.io.output(.relay, of: "L/a") && !bench.io.output(.relay, of: "L/b"))
    }

    @Test func showsFeedbackForDecisions() throws {
        let bench = try Bench(doors: [door()])
        bench.controller.inbox.send(.feedback(granted: false), to: "L/front")
        try bench.run(to: 0.1)
        #expect(bench.io.output(.red, of: "L/front") && bench.io.output(.buzzer, of: "L/front"))
        try bench.run(to: 0.5)
        #expect(!bench.io.output(.buzzer, of: "L/front"))
        try bench.run(to: 2.2)
        #expect(!bench.io.output(.red, of: "L/front"))
    }

    @Test func shutdownLocksEveryRelay() throws {
        let bench = try Bench(doors: [door()])
        bench.controller.inbox.send(.stimulus(.grant), to: "L/front")
        try bench.run(to: 0.1)
        bench.controller.shutdown()
        #expect(!bench.io.output(.relay, of: "L/front"))
    }
}

/// What the relay's senders heard and what the board saw, in order, from any thread.
final class Heard: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

/// A stimulus sent with `onRelay` is answered once: right after the relay line is set for it,
/// or with false when the relay does not energise.
@Suite struct RelayReceiptTests {
    static func bench(_ heard: Heard) throws -> Bench {
        let bench = try Bench(doors: [door()])
        bench.io.onSet = { _, output, on in heard.append("\(output.rawValue) \(on ? "on" : "off")") }
        return bench
    }

    @Test func aGrantsSenderHearsTheMomentTheRelayLineIsSet() throws {
        let heard = Heard()
        let bench = try Self.bench(heard)
        bench.controller.inbox.send(.grant, to: "L/front") { heard.append("told \($0)") }
        #expect(heard.all.isEmpty, "told before the controller acted")
        try bench.run(to: 0.01)
        let lines = heard.all
        // Green follows the relay in the same step, in either order; the sender is told between.
        let relay = try #require(lines.firstIndex(of: "relay on"))
        #expect(lines.firstIndex(of: "told true") == relay + 1, "\(lines)")
        #expect(lines.filter { $0.hasPrefix("told") }.count == 1)
    }

    @Test func aGrantWhileTheRelayIsEnergisedIsToldOnceTheControllerActs() throws {
        let heard = Heard()
        let bench = try Self.bench(heard)
        bench.controller.inbox.send(.stimulus(.grant), to: "L/front")
        try bench.run(to: 0.5)
        bench.controller.inbox.send(.grant, to: "L/front") { heard.append("told \($0)") }
        try bench.run(to: 0.51)
        #expect(heard.all.suffix(1) == ["told true"], "\(heard.all)")
        #expect(heard.all.filter { $0 == "relay on" }.count == 1)
    }

    @Test func aGrantRefusedInLockdownIsToldTheRelayDidNotEnergise() throws {
        let heard = Heard()
        let bench = try Self.bench(heard)
        bench.controller.inbox.send(.stimulus(.mode(.lockdown)), to: "L/front")
        bench.controller.inbox.send(.grant, to: "L/front") { heard.append("told \($0)") }
        bench.controller.inbox.send(.grant, to: "L/elsewhere") { heard.append("elsewhere told \($0)") }
        try bench.run(to: 0.01)
        #expect(heard.all.filter { $0.contains("told") } == ["elsewhere told false", "told false"])
    }

    @Test func aControllerThatShutDownAnswersWhatItDidNotActOn() throws {
        let heard = Heard()
        let bench = try Self.bench(heard)
        bench.controller.inbox.send(.grant, to: "L/front") { heard.append("queued told \($0)") }
        bench.controller.shutdown()
        bench.controller.inbox.send(.grant, to: "L/front") { heard.append("late told \($0)") }
        #expect(heard.all.filter { $0.contains("told") } == ["queued told false", "late told false"])
    }
}

@Suite struct DoorConfigTests {
    static let invalid: [(String, DoorConfig, String)] = [
        (
            "pulse too long", DoorConfig(id: "L/D", relay: LineConfig(chip: "c", line: "1"), pulseSeconds: 31),
            "pulse_s = 31"
        ),
        ("bad id", DoorConfig(id: "front", relay: LineConfig(chip: "c", line: "1")), "id = \"front\""),
        (
            "bad bias",
            DoorConfig(
                id: "L/D",
                relay: LineConfig(chip: "c", line: "1"),
                dps: LineConfig(chip: "c", line: "2", bias: "up")
            ), "bias"
        ),
    ]

    @Test(arguments: invalid)
    func namesTheKeyAndTheValue(name: String, config: DoorConfig, mention: String) {
        #expect(throws: DoorDriverError.self, "\(name)") { try config.validate(key: "doors.x") }
        do { try config.validate(key: "doors.x") } catch { #expect(error.description.contains(mention), "\(name)") }
    }

    @Test func refusesOneLineUsedTwice() {
        let board = BoardConfig(doors: [
            "a": DoorConfig(id: "L/a", relay: LineConfig(chip: "c", line: "1")),
            "b": DoorConfig(id: "L/b", relay: LineConfig(chip: "c", line: "1")),
        ])
        #expect(throws: DoorDriverError.self) { try board.validate() }
    }
}
