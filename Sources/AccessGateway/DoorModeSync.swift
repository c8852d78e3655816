import AccessPolicy
import DoorDriver
import Foundation
import HQProtocol
import KeyCache
import ServiceLifecycle
import Synchronization

/// The wall time door schedules are read at, and how ``DoorModeSync`` waits for a window boundary.
public protocol DoorModeClock: Sendable {
    /// UNIX seconds now, and whether that time can be believed (HQSync's `ClockTrust`).
    func now() -> (time: Double, trusted: Bool)
    /// Suspends for `duration`; throws when the task is cancelled.
    func sleep(for duration: Duration) async throws
}

/// The system's wall clock, trusted as `trusted` says, and `Task.sleep`.
public struct SystemDoorModeClock: DoorModeClock {
    let trusted: @Sendable () -> Bool

    public init(trusted: @escaping @Sendable () -> Bool) {
        self.trusted = trusted
    }

    public func now() -> (time: Double, trusted: Bool) { (Date().timeIntervalSince1970, trusted()) }

    public func sleep(for duration: Duration) async throws { try await Task.sleep(for: duration) }
}

/// Brings each door's state machine to the mode the decisions see, so that the relay follows it:
/// HQ's lockdown of the door or of every door (`*`), otherwise the snapshot's door mode
/// (`unlocked` holds the relay released; `lockdown` refuses grants and HQ unlocks), otherwise the
/// door's unlock schedule (held in its windows, or from the first grant inside one with
/// first-person-in). Lifting one door's lockdown while `*` holds leaves that door locked.
///
/// Event-driven: ``apply()`` runs at start, after each HQ command and before each grant reaches
/// the door (called directly), and ``run()`` applies again at each ``refresh()`` (after each
/// snapshot pull) and at each unlock-window boundary, sleeping on the injected clock in between.
/// Fail secure: an untrusted clock holds no schedule, and a store that cannot be read drops every
/// schedule while the doors keep their modes.
public final class DoorModeSync: Sendable {
    /// What one door is brought to.
    public struct Target: Sendable, Equatable {
        public var mode: DoorOperatingMode
        /// Whether the door's unlock window is open now (only ever true with a trusted clock).
        public var scheduleActive: Bool

        public init(_ mode: DoorOperatingMode, scheduleActive: Bool = false) {
            self.mode = mode
            self.scheduleActive = scheduleActive
        }
    }

    let doors: [String]
    let store: GatewayStore
    let inbox: DoorInbox
    let clock: any DoorModeClock
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    /// How many passes were made; held for a whole pass, so that passes from several threads (the
    /// loop, a command, a grant) reach the doors in the order they read the store, and an older
    /// reading never lands after a newer one.
    private let passes = Mutex<Int>(0)

    public init(doors: [String], store: GatewayStore, inbox: DoorInbox, clock: any DoorModeClock) {
        self.doors = doors
        self.store = store
        self.inbox = inbox
        self.clock = clock
        // One pending wake-up is enough: every pass reads the whole state.
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        wakeups = stream
        wake = continuation
    }

    /// The target for a door: HQ's lockdowns and the snapshot's `lockdown` first, then `unlocked`,
    /// then the unlock schedule, read at `now` only when the clock is trusted. A door the snapshot
    /// does not list is `normal`.
    public static func resolve(
        _ door: DoorRecord?,
        lockedDown: Bool,
        at now: (time: Double, trusted: Bool)
    ) -> Target {
        if lockedDown || door?.mode == .lockdown { return Target(.lockdown) }
        guard let door else { return Target(.normal) }
        if door.mode == .unlocked { return Target(.unlocked) }
        guard let schedule = unlockSchedule(of: door) else { return Target(.normal) }
        let active = now.trusted && schedule.covers(now.time)
        return Target(door.firstPersonIn == true ? .firstPersonIn : .unlockedBySchedule, scheduleActive: active)
    }

    /// The door's unlock schedule, when it has one in a known time zone.
    static func unlockSchedule(of door: DoorRecord) -> DoorSchedule? {
        guard let windows = door.unlockSchedule, !windows.isEmpty, let zone = TimeZone(identifier: door.tz) else {
            return nil
        }
        return DoorSchedule(windows: windows, timeZone: zone)
    }

    /// Sends each door its target now and returns the targets. Every time, not only on a change:
    /// the state machine ignores a mode it already has. Commands are queued in order, so a stimulus
    /// sent after this call meets the door in its target mode.
    @discardableResult
    public func apply() -> [String: Target] {
        applyAll().targets
    }

    /// How many passes ``apply()`` and ``run()`` have made; tests wait on it.
    public var passCount: Int { passes.withLock { $0 } }

    /// Asks ``run()`` for a pass, without waiting for it. Never blocks.
    public func refresh() {
        wake.yield()
    }

    /// Applies at each ``refresh()`` and at each unlock-window boundary until the task is
    /// cancelled. Run it once.
    public func run() async {
        var sleeper: Task<Void, Never>?
        defer { sleeper?.cancel() }
        wake.yield()
        for await _ in wakeups {
            sleeper?.cancel()
            sleeper = nil
            guard let next = applyAll().nextBoundary else { continue }
            let (clock, wake) = (self.clock, self.wake)
            let delay = max(0, next - clock.now().time)
            sleeper = Task {
                do { try await clock.sleep(for: .milliseconds(Int64((delay * 1000).rounded(.up)))) } catch { return }
                wake.yield()
            }
        }
    }

    func applyAll() -> (targets: [String: Target], nextBoundary: Double?) {
        passes.withLock { count in
            count += 1
            return pass()
        }
    }

    private func pass() -> (targets: [String: Target], nextBoundary: Double?) {
        let now = clock.now()
        guard let records = try? store.snapshotDoors(), let lockdowns = try? store.lockdowns() else {
            // Unsure what the snapshot says: no schedule may hold a door; modes stay as they are.
            for door in doors { inbox.send(.stimulus(.schedule(active: false)), to: door) }
            return ([:], nil)
        }
        var targets: [String: Target] = [:]
        var next: Double?
        for door in doors {
            let target = Self.resolve(
                records[door],
                lockedDown: lockdowns.contains(door) || lockdowns.contains("*"),
                at: now
            )
            targets[door] = target
            inbox.send(.stimulus(.mode(target.mode)), to: door)
            inbox.send(.stimulus(.schedule(active: target.scheduleActive)), to: door)
            // Boundaries are woken for whatever the mode: a lockdown lifted later meets a current schedule.
            if let record = records[door], let edge = Self.unlockSchedule(of: record)?.nextBoundary(after: now.time) {
                next = min(next ?? edge, edge)
            }
        }
        return (targets, next)
    }
}

/// Runs ``DoorModeSync`` until the service group shuts down gracefully.
final class DoorModeService: Service {
    let sync: DoorModeSync

    init(sync: DoorModeSync) { self.sync = sync }

    func run() async throws {
        let sync = self.sync
        await cancelWhenGracefulShutdown { await sync.run() }
    }
}
