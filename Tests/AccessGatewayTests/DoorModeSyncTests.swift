import AccessPolicy
@testable import AccessGateway
import DoorDriver
import Foundation
import HQProtocol
import HQSync
import KeyCache
import Logging
import ServiceLifecycle
import Synchronization
import TestSupport
import Testing

/// A wall clock the test sets, whose sleeps end only when the test moves it past their end.
final class TestDoorModeClock: DoorModeClock {
    private struct State {
        var time: Double
        var trusted: Bool
        var sleepers: [Int: (until: Double, wake: CheckedContinuation<Void, any Error>)] = [:]
        var cancelled: Set<Int> = []
        var nextID = 0
    }
    private let state: Mutex<State>

    init(at time: Double, trusted: Bool = true) {
        state = Mutex(State(time: time, trusted: trusted))
    }

    func now() -> (time: Double, trusted: Bool) { state.withLock { ($0.time, $0.trusted) } }

    func sleep(for duration: Duration) async throws {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (wake: CheckedContinuation<Void, any Error>) in
                let cancelledFirst = state.withLock { state in
                    if state.cancelled.remove(id) != nil { return true }
                    state.sleepers[id] = (state.time + seconds, wake)
                    return false
                }
                if cancelledFirst { wake.resume(throwing: CancellationError()) }
            }
        } onCancel: {
            let sleeper = state.withLock { state in
                let sleeper = state.sleepers.removeValue(forKey: id)
                if sleeper == nil { state.cancelled.insert(id) }
                return sleeper
            }
            sleeper?.wake.resume(throwing: CancellationError())
        }
    }

    /// When the pending sleeps end, earliest first.
    var wakeTimes: [Double] { state.withLock { $0.sleepers.values.map(\.until).sorted() } }

    /// Moves the clock to `time`, ending the sleeps that are due.
    func set(_ time: Double, trusted: Bool? = nil) {
        let due = state.withLock { state in
            state.time = time
            if let trusted { state.trusted = trusted }
            let due = state.sleepers.filter { $0.value.until <= time }
            for id in due.keys { state.sleepers[id] = nil }
            return due.values.map(\.wake)
        }
        for wake in due { wake.resume() }
    }
}

/// Polls `condition` every millisecond for up to 10 s: a correctness bound, not a timing one.
func eventually(_ condition: () -> Bool) async -> Bool {
    for _ in 0..<10_000 {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(1))
    }
    return condition()
}

@Suite struct DoorModeResolutionTests {
    /// Monday 7 December 2026, 09:30 UTC.
    static let mondayHalfPastNine = 1_796_635_800.0
    static let mornings = [ScheduleWindow(days: ["mon", "tue", "wed", "thu", "fri"], from: "09:00", to: "10:00")]

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let door: DoorRecord?
        var lockedDown = false
        var trusted = true
        var time = DoorModeResolutionTests.mondayHalfPastNine
        let expected: DoorModeSync.Target
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "unlisted door: normal", door: nil, expected: .init(.normal)),
        Case(name: "unlisted door, HQ lockdown", door: nil, lockedDown: true, expected: .init(.lockdown)),
        Case(name: "normal", door: DoorRecord(id: "A/1"), expected: .init(.normal)),
        Case(name: "unlocked", door: DoorRecord(id: "A/1", mode: .unlocked), expected: .init(.unlocked)),
        Case(name: "snapshot lockdown", door: DoorRecord(id: "A/1", mode: .lockdown), expected: .init(.lockdown)),
        Case(
            name: "HQ lockdown overrides unlocked",
            door: DoorRecord(id: "A/1", mode: .unlocked),
            lockedDown: true,
            expected: .init(.lockdown)
        ),
        Case(
            name: "schedule, inside the window",
            door: DoorRecord(id: "A/1", unlockSchedule: mornings),
            expected: .init(.unlockedBySchedule, scheduleActive: true)
        ),
        Case(
            name: "schedule, outside the window",
            door: DoorRecord(id: "A/1", unlockSchedule: mornings),
            time: mondayHalfPastNine + 3600,
            expected: .init(.unlockedBySchedule, scheduleActive: false)
        ),
        Case(
            name: "schedule, on a day it skips",
            door: DoorRecord(id: "A/1", unlockSchedule: mornings),
            time: mondayHalfPastNine - 86400,
            expected: .init(.unlockedBySchedule, scheduleActive: false)
        ),
        Case(
            name: "schedule read in the door's zone (09:30 UTC is 16:30 in Jakarta)",
            door: DoorRecord(id: "A/1", tz: "Asia/Jakarta", unlockSchedule: mornings),
            expected: .init(.unlockedBySchedule, scheduleActive: false)
        ),
        Case(
            name: "schedule, untrusted clock: no window is open",
            door: DoorRecord(id: "A/1", unlockSchedule: mornings),
            trusted: false,
            expected: .init(.unlockedBySchedule, scheduleActive: false)
        ),
        Case(
            name: "first person in, inside the window",
            door: DoorRecord(id: "A/1", unlockSchedule: mornings, firstPersonIn: true),
            expected: .init(.firstPersonIn, scheduleActive: true)
        ),
        Case(
            name: "lockdown overrides the schedule",
            door: DoorRecord(id: "A/1", unlockSchedule: mornings),
            lockedDown: true,
            expected: .init(.lockdown)
        ),
        Case(
            name: "snapshot lockdown overrides the schedule",
            door: DoorRecord(id: "A/1", mode: .lockdown, unlockSchedule: mornings),
            expected: .init(.lockdown)
        ),
        Case(
            name: "unlocked overrides the schedule, whatever the clock",
            door: DoorRecord(id: "A/1", mode: .unlocked, unlockSchedule: mornings),
            trusted: false,
            expected: .init(.unlocked)
        ),
    ]

    @Test(arguments: cases)
    func resolve(_ c: Case) {
        #expect(DoorModeSync.resolve(c.door, lockedDown: c.lockedDown, at: (c.time, c.trusted)) == c.expected)
    }

    @Test func theNextBoundaryIsTheNextWindowEdgeInTheDoorsZone() {
        let utc = DoorSchedule(windows: Self.mornings, timeZone: TimeZone(identifier: "UTC")!)
        #expect(utc.nextBoundary(after: Self.mondayHalfPastNine) == Self.mondayHalfPastNine + 1800, "10:00")
        #expect(utc.nextBoundary(after: Self.mondayHalfPastNine + 1800) == Self.mondayHalfPastNine + 84600, "09:00 next day")
        let jakarta = DoorSchedule(windows: Self.mornings, timeZone: TimeZone(identifier: "Asia/Jakarta")!)
        // 09:00 in Jakarta (UTC+7) is 02:00 UTC: the next one after Monday 09:30 UTC is Tuesday's.
        #expect(jakarta.nextBoundary(after: Self.mondayHalfPastNine) == Self.mondayHalfPastNine - 7.5 * 3600 + 86400)
    }
}

/// DoorModeSync's passes, driven by events and by its clock, reaching an in-memory door.
@Suite struct DoorModeSyncTests {
    static let nine = DoorModeResolutionTests.mondayHalfPastNine - 1800
    nonisolated(unsafe) static let mornings: [[String: Any]] = [["days": ["mon", "tue", "wed", "thu", "fri"], "from": "09:00", "to": "10:00"]]

    /// A store whose snapshot lists `door`, and the sync over `door`'s in-memory board.
    static func rig(
        door: HQCommandToDoorTests.Door,
        _ record: [String: Any],
        clock: TestDoorModeClock = TestDoorModeClock(at: DoorModeSyncTests.nine)
    ) throws -> (GatewayStore, TestDoorModeClock, DoorModeSync) {
        let store = try GatewayStore(path: TestPaths.temporaryDirectory().appendingPathComponent("g.sqlite").path)
        try publish(store, seq: 1, record)
        return (store, clock, DoorModeSync(doors: ["A/1"], store: store, inbox: door.controller.inbox, clock: clock))
    }

    static func publish(_ store: GatewayStore, seq: Int, _ record: [String: Any]) throws {
        let snapshot: [String: Any] = [
            "format": "ag-snapshot/1", "issuer": "hq.test", "seq": seq, "generated_at": Int(Date().timeIntervalSince1970),
            "max_age": 86400, "keys": ["keys": []], "doors": [record],
            "members": [], "bookings": [], "revoked": [],
        ]
        try store.apply(try SnapshotDocument.parse(JSONSerialization.data(withJSONObject: snapshot)))
    }

    /// A door with the 09:00–10:00 weekday unlock window, and the sync over it on a test clock at `time`.
    static func scheduled(
        at time: Double,
        trusted: Bool = true,
        firstPersonIn: Bool = false
    ) throws -> (HQCommandToDoorTests.Door, TestDoorModeClock, DoorModeSync) {
        let door = try HQCommandToDoorTests.Door()
        var record: [String: Any] = ["id": "A/1", "mode": "normal", "tz": "UTC", "unlock_schedule": mornings]
        if firstPersonIn { record["first_person_in"] = true }
        let (_, clock, sync) = try rig(door: door, record, clock: TestDoorModeClock(at: time, trusted: trusted))
        return (door, clock, sync)
    }

    static func command(_ action: HQCommand.Action) -> HQCommand {
        HQCommand(id: "c-1", gateway: "gw", action: action, issuedAt: 0, expiresAt: 60)
    }

    /// Runs the sync's loop beside `body`, then cancels it.
    static func running(_ sync: DoorModeSync, _ body: () async throws -> Void) async throws {
        let loop = Task { await sync.run() }
        defer { loop.cancel() }
        try await body()
    }

    @Test func theSnapshotsUnlockedModeHoldsTheRelay() throws {
        let door = try HQCommandToDoorTests.Door()
        let (_, _, sync) = try Self.rig(door: door, ["id": "A/1", "mode": "unlocked", "tz": "UTC"])
        sync.apply()
        try door.run(to: 10)
        #expect(door.io.output(.relay, of: "A/1"), "released well past the 2 s pulse")
    }

    @Test func anHQUnlockIsRefusedAtADoorTheSnapshotHasInLockdown() throws {
        let door = try HQCommandToDoorTests.Door()
        let (_, _, sync) = try Self.rig(door: door, ["id": "A/1", "mode": "lockdown", "tz": "UTC"])
        // No pass before the command: carrying it out brings the door to its mode first.
        let hq = HQCommandDispatcher(modes: sync, logger: Logger(label: "test"))
        hq.carryOut(Self.command(.unlock(door: "A/1", seconds: 5)))
        try door.run(to: 1)
        #expect(!door.io.output(.relay, of: "A/1"))
        #expect(door.controller.machine("A/1")?.mode == .lockdown)
    }

    /// A lockdown command is stored by HQSync before it is carried out; lifting it reaches the door.
    @Test func liftingALockdownReachesTheDoor() throws {
        let door = try HQCommandToDoorTests.Door()
        let (store, _, sync) = try Self.rig(door: door, ["id": "A/1", "mode": "normal", "tz": "UTC"])
        try store.setLockdown(door: "A/1", on: true)
        let hq = HQCommandDispatcher(modes: sync, logger: Logger(label: "test"))
        hq.carryOut(Self.command(.lockdown(door: "A/1", on: true)))
        try store.setLockdown(door: "A/1", on: false)
        hq.carryOut(Self.command(.lockdown(door: "A/1", on: false)))
        hq.carryOut(Self.command(.unlock(door: "A/1", seconds: 5)))
        try door.run(to: 1)
        #expect(door.io.output(.relay, of: "A/1"))
    }

    @Test func liftingOneDoorsLockdownLeavesItLockedWhileEveryDoorIs() throws {
        let door = try HQCommandToDoorTests.Door()
        let (store, _, sync) = try Self.rig(door: door, ["id": "A/1", "mode": "unlocked", "tz": "UTC"])
        try store.setLockdown(door: nil, on: true)
        let hq = HQCommandDispatcher(modes: sync, logger: Logger(label: "test"))
        hq.carryOut(Self.command(.lockdown(door: nil, on: true)))
        try store.setLockdown(door: "A/1", on: true)
        try store.setLockdown(door: "A/1", on: false)
        hq.carryOut(Self.command(.lockdown(door: "A/1", on: false)))
        hq.carryOut(Self.command(.unlock(door: "A/1", seconds: 5)))
        try door.run(to: 1)
        #expect(!door.io.output(.relay, of: "A/1"), "neither the snapshot's unlocked nor HQ's unlock")
    }

    @Test func aRefreshAppliesANewSnapshot() async throws {
        let door = try HQCommandToDoorTests.Door()
        let (store, _, sync) = try Self.rig(door: door, ["id": "A/1", "mode": "normal", "tz": "UTC"])
        try await Self.running(sync) {
            #expect(await eventually { sync.passCount >= 1 })
            try Self.publish(store, seq: 2, ["id": "A/1", "mode": "unlocked", "tz": "UTC"])
            sync.refresh()
            #expect(await eventually { sync.passCount >= 2 })
            try door.run(to: 5)
            #expect(door.io.output(.relay, of: "A/1"))
        }
    }

    @Test func anUnlockScheduleHoldsTheRelayInItsWindowAndReleasesItAfter() async throws {
        let (door, clock, sync) = try Self.scheduled(at: Self.nine - 60)
        try await Self.running(sync) {
            #expect(await eventually { clock.wakeTimes == [Self.nine] }, "asleep until 09:00")
            try door.run(to: 1)
            #expect(!door.io.output(.relay, of: "A/1"), "locked before the window")
            clock.set(Self.nine)
            #expect(await eventually { clock.wakeTimes == [Self.nine + 3600] }, "asleep until 10:00")
            try door.run(to: 5)
            #expect(door.io.output(.relay, of: "A/1"), "held in the window")
            clock.set(Self.nine + 3600)
            #expect(await eventually { clock.wakeTimes == [Self.nine + 86400] }, "asleep until tomorrow 09:00")
            try door.run(to: 6)
            #expect(!door.io.output(.relay, of: "A/1"), "released after the window")
        }
    }

    @Test func anUntrustedClockHoldsNoScheduleUntilItIsTrustedAgain() async throws {
        let (door, clock, sync) = try Self.scheduled(at: Self.nine + 60, trusted: false)
        try await Self.running(sync) {
            #expect(await eventually { sync.passCount >= 1 })
            try door.run(to: 5)
            #expect(!door.io.output(.relay, of: "A/1"), "inside the window by a clock nobody trusts")
            clock.set(Self.nine + 120, trusted: true)
            sync.refresh()
            #expect(await eventually { sync.passCount >= 2 })
            try door.run(to: 6)
            #expect(door.io.output(.relay, of: "A/1"))
        }
    }

    @Test func aClockThatTurnsUntrustedReleasesAnOpenWindowAtTheNextEvent() async throws {
        let (door, clock, sync) = try Self.scheduled(at: Self.nine + 60)
        try await Self.running(sync) {
            #expect(await eventually { sync.passCount >= 1 })
            try door.run(to: 5)
            #expect(door.io.output(.relay, of: "A/1"), "held in the window")
            clock.set(Self.nine + 120, trusted: false)
            sync.refresh()  // as after a snapshot pull whose HQ time disagreed
            #expect(await eventually { sync.passCount >= 2 })
            try door.run(to: 6)
            #expect(!door.io.output(.relay, of: "A/1"), "a clock nobody trusts holds no window")
        }
    }

    @Test func aStoreThatCannotBeReadDropsTheSchedule() throws {
        let door = try HQCommandToDoorTests.Door()
        let (store, _, sync) = try Self.rig(
            door: door,
            ["id": "A/1", "mode": "normal", "tz": "UTC", "unlock_schedule": Self.mornings],
            clock: TestDoorModeClock(at: Self.nine + 60)
        )
        sync.apply()
        try door.run(to: 5)
        #expect(door.io.output(.relay, of: "A/1"), "held in the window")
        try store.close()
        sync.apply()
        try door.run(to: 6)
        #expect(!door.io.output(.relay, of: "A/1"), "unsure of the snapshot: no window holds the door")
    }

    @Test func firstPersonInHoldsTheRelayFromTheFirstGrantInsideTheWindow() async throws {
        let (door, clock, sync) = try Self.scheduled(at: Self.nine - 60, firstPersonIn: true)
        let inbox = door.controller.inbox
        try await Self.running(sync) {
            #expect(await eventually { clock.wakeTimes == [Self.nine] })
            // A grant before the window is one pulse, and does not start the window.
            inbox.send(.stimulus(.grant), to: "A/1")
            try door.run(to: 4)
            #expect(!door.io.output(.relay, of: "A/1"), "the 2 s pulse ended")
            clock.set(Self.nine)
            #expect(await eventually { clock.wakeTimes == [Self.nine + 3600] })
            try door.run(to: 8)
            #expect(!door.io.output(.relay, of: "A/1"), "nobody has come in yet")
            sync.apply()  // the daemon's beforeGrant
            inbox.send(.stimulus(.grant), to: "A/1")
            try door.run(to: 20)
            #expect(door.io.output(.relay, of: "A/1"), "held from the first grant")
            clock.set(Self.nine + 3600)
            #expect(await eventually { clock.wakeTimes == [Self.nine + 86400] })
            try door.run(to: 21)
            #expect(!door.io.output(.relay, of: "A/1"), "released at the end of the window")
            clock.set(Self.nine + 86400)
            #expect(await eventually { clock.wakeTimes == [Self.nine + 86400 + 3600] })
            try door.run(to: 22)
            #expect(!door.io.output(.relay, of: "A/1"), "the next window waits for its own first person")
        }
    }

    @Test func aGracefulShutdownEndsTheSyncAndItsSleep() async throws {
        let (_, clock, sync) = try Self.scheduled(at: Self.nine - 60)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [DoorModeService(sync: sync)], logger: Logger(label: "test"))
        )
        let running = Task { try await group.run() }
        #expect(await eventually { clock.wakeTimes == [Self.nine] })
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(clock.wakeTimes.isEmpty, "the boundary sleep was cancelled")
    }
}
