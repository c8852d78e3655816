import HQProtocol
import Logging

/// HQ's accepted commands, as door stimuli. Lockdowns are already stored for the decisions, so
/// bringing the doors to their modes carries a lockdown (or its lifting) out; an unlock follows
/// that, so a door in lockdown refuses it (and its state machine reports the refusal).
public struct HQCommandDispatcher: Sendable {
    public let modes: DoorModeSync
    public let logger: Logger

    /// Commands go to the doors `modes` keeps; `logger` takes a line for each.
    public init(modes: DoorModeSync, logger: Logger) {
        self.modes = modes
        self.logger = logger
    }

    /// Carries `command` out at its door, or at every door.
    public func carryOut(_ command: HQCommand) {
        switch command.action {
        case .unlock(let door, let seconds):
            let target = modes.apply()[door]
            if target?.mode == .lockdown {
                logger.warning("HQ unlock refused: the door is in lockdown", metadata: ["door": "\(door)", "id": "\(command.id)"])
            } else {
                logger.notice("HQ unlock", metadata: ["door": "\(door)", "seconds": "\(seconds)", "id": "\(command.id)"])
            }
            modes.inbox.send(.stimulus(.remoteUnlock(seconds: seconds)), to: door)
        case .lockdown(let door, let on):
            logger.notice("HQ lockdown \(on ? "on" : "off")", metadata: ["door": "\(door ?? "*")", "id": "\(command.id)"])
            // A door stays locked while `*` or the snapshot still holds it.
            modes.apply()
        case .resync:
            logger.notice("HQ asked for a resync", metadata: ["id": "\(command.id)"])
        }
    }
}
