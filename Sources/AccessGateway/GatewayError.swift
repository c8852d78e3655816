import DoorDriver
import HQSync
import KeyCache

/// Why the daemon cannot start; each case says what to fix.
public enum GatewayError: Error, Sendable, CustomStringConvertible {
    /// The configuration is wrong: exit 78, not restarted.
    case config(GatewayConfigError)
    /// The database cannot be opened or written.
    case store(KeyCacheError)
    /// The door lines cannot be taken (missing, or held by another program).
    case doors(DoorDriverError)
    /// The enrolment or the device key is unusable.
    case enrolment(HQSyncError)

    public var description: String {
        switch self {
        case .config(let error): "configuration: \(error)"
        case .store(let error): "database: \(error); check the path and its permissions, or run 'gatewayctl doctor'"
        case .doors(let error): "doors: \(error); 'gatewayctl door info' lists the lines and who holds them"
        case .enrolment(let error): "enrolment: \(error); re-provision with 'gatewayctl provision'"
        }
    }

    /// The process exit status: 78 (EX_CONFIG) for a configuration error, 1 otherwise.
    public var exitStatus: Int32 {
        if case .config = self { return GatewayConfigError.exitStatus }
        return 1
    }
}
