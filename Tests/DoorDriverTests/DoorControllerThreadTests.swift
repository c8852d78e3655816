import Dispatch
import DoorDriver
import Synchronization
import Testing

/// A switch the test flips from its own thread.
final class Plug: Sendable {
    let unplugged = Atomic<Bool>(false)
}

/// The in-memory board, except that its wait fails once the plug is pulled: a line that vanished.
final class UnpluggableDoorIO: DoorIO {
    let board: MemoryDoorIO
    let plug: Plug

    init(plug: Plug) {
        board = MemoryDoorIO(outputs: ["D1": [.relay]], inputs: [], blocking: true)
        self.plug = plug
    }

    var inputs: [InputID] { board.inputs }
    var waker: any DoorWaker { board.waker }
    func set(_ output: DoorOutput, of door: String, on: Bool) throws(DoorDriverError) {
        try board.set(output, of: door, on: on)
    }
    func has(_ output: DoorOutput, of door: String) -> Bool { board.has(output, of: door) }
    func level(_ input: InputID) throws(DoorDriverError) -> Bool { try board.level(input) }
    func wait(timeout: Duration) throws(DoorDriverError) -> Set<InputID> {
        if plug.unplugged.load(ordering: .acquiring) { throw .lineGone("D1 relay") }
        return try board.wait(timeout: .milliseconds(20))
    }
}

/// The door thread tells the daemon when it ends, so that nothing polls it.
@Suite struct DoorControllerThreadTests {
    final class Ends: Sendable {
        let seen = Mutex<[DoorDriverError?]>([])
        let done = DispatchSemaphore(value: 0)
        func record(_ error: DoorDriverError?) {
            seen.withLock { $0.append(error) }
            done.signal()
        }
    }

    static func start(_ plug: Plug) throws -> DoorControllerThread {
        try DoorControllerThread.start {
            let config = DoorConfig(id: "D1", relay: LineConfig(chip: "mem", line: "0"))
            let clock = ContinuousClock()
            let origin = clock.now
            return try DoorController(io: UnpluggableDoorIO(plug: plug), doors: [config], clock: { clock.now - origin }) { _, _ in }
        }
    }

    @Test func aStoppedThreadCallsItsWatchersWithNoErrorAndLateOnesAtOnce() throws {
        let plug = Plug()
        let thread = try Self.start(plug)
        let ends = Ends()
        thread.onEnd { ends.record($0) }
        thread.stop()
        #expect(ends.done.wait(timeout: .now() + 5) == .success)
        let late = Ends()
        thread.onEnd { late.record($0) }
        #expect(late.done.wait(timeout: .now()) == .success, "a watcher after the end is called at once")
        #expect(ends.seen.withLock { $0 } == [nil] && late.seen.withLock { $0 } == [nil])
    }

    @Test func aLineThatFailsEndsTheThreadAndItsWatchersHearWhy() throws {
        let plug = Plug()
        let thread = try Self.start(plug)
        let ends = Ends()
        thread.onEnd { ends.record($0) }
        plug.unplugged.store(true, ordering: .releasing)
        #expect(ends.done.wait(timeout: .now() + 5) == .success)
        #expect(ends.seen.withLock { $0 } == [.lineGone("D1 relay")])
        #expect(thread.error == .lineGone("D1 relay"))
        thread.stop()
    }
}
