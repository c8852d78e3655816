// Door modes from the snapshot and from HQ's commands reaching gpio-sim's relay line: a real
// store, the daemon's DoorModeSync and command path, and the door controller on real lines.
import AccessGateway
import DoorDriver
import Foundation
import Glibc
import HQProtocol
import HQSync
import KeyCache
import Logging

/// A trusted wall clock that starts at `start` and runs `speed` times faster than the monotonic
/// clock, sleeps shortened to match: a one-minute unlock window passes in seconds, and the sync
/// still sleeps until each boundary as it does in the daemon.
private final class FastClock: DoorModeClock {
    let start: Double
    let speed: Double
    let origin = monotonic()

    init(start: Double, speed: Double) {
        self.start = start
        self.speed = speed
    }

    func now() -> (time: Double, trusted: Bool) { (start + seconds(monotonic() - origin) * speed, true) }

    func sleep(for duration: Duration) async throws { try await Task.sleep(for: duration / speed) }
}

/// Monday 7 December 2026, 09:00 UTC.
private let nine = 1_796_634_000.0

/// A store in /tmp whose snapshot lists SIM/A as `door` says (JSON object members), and the sync
/// of that door over `board`.
private func modeRig(
    _ board: LiveBoard,
    door: String,
    clock: any DoorModeClock = FastClock(start: nine, speed: 1)
) throws -> (GatewayStore, DoorModeSync) {
    let path = "/tmp/modes-\(getpid())-\(monotonic().components.attoseconds).sqlite"
    let store = try GatewayStore(path: path)
    let snapshot = """
        {"format": "ag-snapshot/1", "issuer": "hq.test", "seq": 1, "generated_at": \(Int(Date().timeIntervalSince1970)),
         "max_age": 86400, "keys": {"keys": []}, "doors": [{"id": "SIM/A", "tz": "UTC", \(door)}],
         "members": [], "bookings": [], "revoked": []}
        """
    try store.apply(try SnapshotDocument.parse(Data(snapshot.utf8)))
    guard let inbox = board.inbox else { throw DoorDriverError.badConfig("the door controller did not start") }
    return (store, DoorModeSync(doors: ["SIM/A"], store: store, inbox: inbox, clock: clock))
}

private func hqCommand(_ action: HQCommand.Action) -> HQCommand {
    HQCommand(id: "hw-\(monotonic().components.attoseconds)", gateway: "gw", action: action, issuedAt: 0, expiresAt: 60)
}

private let quiet = Logger(label: "door-hwtest")

func runDoorModeTests(_ sim: SimBoard) {
    test("door mode: the snapshot's unlocked holds the relay") {
        let board = LiveBoard(BoardConfig(doors: ["a": doorA(sim, pulse: 1)]))
        defer { board.stop() }
        let (_, sync) = try modeRig(board, door: #""mode": "unlocked""#)
        sync.apply()
        guard waitFor(2, { sim.value(.relayA) == 1 }) != nil else { return "relay not released in unlocked mode" }
        sleep(seconds: 1.5)
        return sim.value(.relayA) == 1 ? nil : "the held relay dropped after a pulse's length"
    }

    test("door mode: an unlock schedule holds the relay in its window and releases it after") {
        let board = LiveBoard(BoardConfig(doors: ["a": doorA(sim, pulse: 1)]))
        defer { board.stop() }
        // 08:59:30 at ten times the speed: the 09:00–09:01 window opens after 3 s and closes after 9 s.
        let clock = FastClock(start: nine - 30, speed: 10)
        let (_, sync) = try modeRig(
            board,
            door: #""mode": "normal", "unlock_schedule": [{"days": ["mon"], "from": "09:00", "to": "09:01"}]"#,
            clock: clock
        )
        let loop = Task { await sync.run() }
        defer { loop.cancel() }
        guard waitFor(2, { sync.passCount >= 1 }) != nil else { return "the sync made no pass" }
        guard clock.now().time < nine else { return "09:00 came before the first check (a stalled VM)" }
        guard sim.value(.relayA) == 0 else { return "relay released before the window" }
        guard waitFor(5, { sim.value(.relayA) == 1 }) != nil else { return "relay not released in the window" }
        let opened = clock.now().time
        guard waitFor(15, { sim.value(.relayA) == 0 }) != nil else { return "relay still held after the window" }
        let closed = clock.now().time
        print("  released \(Int(opened - nine)) s after 09:00, locked \(Int(closed - nine)) s after (clock ×10)")
        guard opened >= nine else { return "released before 09:00" }
        return closed >= nine + 60 ? nil : "locked before the window ended"
    }

    test("door mode: first-person-in holds the relay from the first grant inside the window") {
        let board = LiveBoard(BoardConfig(doors: ["a": doorA(sim, pulse: 1)]))
        defer { board.stop() }
        // In the 09:00–09:01 window from the start, at ten times the speed: it closes after 6 s.
        let clock = FastClock(start: nine, speed: 10)
        let (_, sync) = try modeRig(
            board,
            door: #""mode": "normal", "unlock_schedule": [{"days": ["mon"], "from": "09:00", "to": "09:01"}], "first_person_in": true"#,
            clock: clock
        )
        let loop = Task { await sync.run() }
        defer { loop.cancel() }
        guard waitFor(2, { sync.passCount >= 1 }) != nil else { return "the sync made no pass" }
        sleep(seconds: 0.5)
        guard sim.value(.relayA) == 0 else { return "relay released before anyone came in" }
        sync.apply()  // as the daemon does before each grant
        board.send(.stimulus(.grant), to: "SIM/A")
        guard waitFor(2, { sim.value(.relayA) == 1 }) != nil else { return "the grant did not release the relay" }
        sleep(seconds: 1.5)
        guard clock.now().time < nine + 60 else { return "the window ended before the check (a stalled VM)" }
        guard sim.value(.relayA) == 1 else { return "relay dropped after the 1 s pulse: first-person-in did not hold" }
        guard waitFor(15, { sim.value(.relayA) == 0 }) != nil else { return "relay still held after the window" }
        return clock.now().time >= nine + 60 ? nil : "locked before the window ended"
    }

    test("door mode: an HQ unlock is refused at a door in lockdown") {
        let board = LiveBoard(BoardConfig(doors: ["a": doorA(sim, pulse: 1)]))
        defer { board.stop() }
        let (store, sync) = try modeRig(board, door: #""mode": "normal""#)
        sync.apply()
        // HQSync stores an accepted lockdown before the daemon carries it out.
        try store.setLockdown(door: "SIM/A", on: true)
        let hq = HQCommandDispatcher(modes: sync, logger: quiet)
        hq.carryOut(hqCommand(.lockdown(door: "SIM/A", on: true)))
        hq.carryOut(hqCommand(.unlock(door: "SIM/A", seconds: 5)))
        guard waitFor(2, { board.saw(.grantRefused("lockdown"), door: "SIM/A") }) != nil else {
            return "the unlock was not refused"
        }
        sleep(seconds: 0.5)
        return sim.value(.relayA) == 0 ? nil : "relay released in lockdown"
    }

    test("door mode: a door stays locked while every door (*) is locked down") {
        let board = LiveBoard(BoardConfig(doors: ["a": doorA(sim, pulse: 1)]))
        defer { board.stop() }
        let (store, sync) = try modeRig(board, door: #""mode": "unlocked""#)
        sync.apply()
        guard waitFor(2, { sim.value(.relayA) == 1 }) != nil else { return "relay not released in unlocked mode" }
        try store.setLockdown(door: nil, on: true)
        let hq = HQCommandDispatcher(modes: sync, logger: quiet)
        hq.carryOut(hqCommand(.lockdown(door: nil, on: true)))
        guard waitFor(2, { sim.value(.relayA) == 0 }) != nil else { return "the all-doors lockdown did not lock" }
        // Lifting this door's own lockdown leaves it under `*`.
        try store.setLockdown(door: "SIM/A", on: true)
        try store.setLockdown(door: "SIM/A", on: false)
        hq.carryOut(hqCommand(.lockdown(door: "SIM/A", on: false)))
        hq.carryOut(hqCommand(.unlock(door: "SIM/A", seconds: 5)))
        sleep(seconds: 1.5)
        guard sim.value(.relayA) == 0 else { return "relay released while * is locked down" }
        return board.saw(.grantRefused("lockdown"), door: "SIM/A") ? nil : "the unlock was not refused"
    }
}
