import DoorDriver
import KeyCache
import ServiceLifecycle

/// Brings each door's state machine to the mode the decisions see, so that the relay follows it:
/// HQ's lockdown of the door or of every door (`*`), otherwise the snapshot's door mode
/// (`unlocked` holds the relay released; `lockdown` refuses grants and HQ unlocks). Lifting one
/// door's lockdown while `*` holds leaves that door locked.
///
/// The daemon applies it at start and once a second, so a new snapshot or an HQ command reaches
/// the doors within a second; a lockdown command is also sent at once.
public final class DoorModeSync: Sendable {
    let doors: [String]
    let store: GatewayStore
    let inbox: DoorInbox

    public init(doors: [String], store: GatewayStore, inbox: DoorInbox) {
        self.doors = doors
        self.store = store
        self.inbox = inbox
    }

    /// The mode for a door: HQ's lockdowns first, then the snapshot's mode (normal when unlisted).
    public static func effective(
        snapshotMode: KeyCache.DoorMode?,
        lockedDown: Bool
    ) -> DoorDriver.DoorMode {
        if lockedDown || snapshotMode == .lockdown { return .lockdown }
        return snapshotMode == .unlocked ? .unlocked : .normal
    }

    /// Sends each door its mode. Every time, not only on a change: a lockdown command reaches the
    /// door outside this sync, and the state machine ignores a mode it already has. A store that
    /// cannot be read changes nothing (the doors keep their modes; decisions fail secure on their own).
    public func apply() {
        guard let modes = try? store.snapshotDoorModes(), let lockdowns = try? store.lockdowns() else { return }
        for door in doors {
            let mode = Self.effective(
                snapshotMode: modes[door],
                lockedDown: lockdowns.contains(door) || lockdowns.contains("*")
            )
            inbox.send(.stimulus(.mode(mode)), to: door)
        }
    }
}

/// Applies ``DoorModeSync`` once a second until shutdown.
final class DoorModeService: Service {
    let sync: DoorModeSync

    init(sync: DoorModeSync) { self.sync = sync }

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            sync.apply()
            try? await Task.sleep(for: .seconds(1))
        }
    }
}
