import DoorDriver
import Foundation
import KeyCache
import Logging

/// Door events: a log line each, alarms in the metrics, and the audit log for everything a
/// security officer asks about after an incident (alarms, REX and remote unlocks, openings, mode
/// changes). A grant's own unlock is already the decision's event. Appends run off the door thread.
final class DoorEventRecorder: Sendable {
    let store: GatewayStore
    let metrics: GatewayMetrics
    let logger: Logger
    let queue = DispatchQueue(label: "door events")

    init(store: GatewayStore, metrics: GatewayMetrics, logger: Logger) {
        self.store = store
        self.metrics = metrics
        self.logger = logger
    }

    func record(door: String?, _ event: DoorEvent) {
        let (reason, detail) = Self.describe(event)
        let at = Int64(Date().timeIntervalSince1970 * 1000)
        if case .alarm(let alarm, let raised) = event {
            metrics.doorAlarm(door: door ?? "*", alarm: alarm.rawValue, raised: raised)
            logger.warning("alarm \(alarm.rawValue) \(raised ? "raised" : "cleared")", metadata: ["door": "\(door ?? "*")"])
        } else {
            var metadata: Logger.Metadata = ["door": "\(door ?? "*")"]
            for (key, value) in detail { metadata[key] = "\(value)" }
            logger.info("door \(reason)", metadata: metadata)
        }
        switch event {
        case .unlocked(.grant), .locked(.pulseEnded), .locked(.doorClosed): return
        default: break
        }
        let (store, logger) = (store, logger)
        queue.async {
            do {
                _ = try store.appendAudit(
                    AuditEntry(tsMs: at, door: door, kind: "door", granted: false, reason: reason, detail: detail)
                )
            } catch {
                logger.error("door event not recorded", metadata: ["door": "\(door ?? "*")", "error": "\(error)"])
            }
        }
    }

    /// The audit reason and detail for a door event.
    static func describe(_ event: DoorEvent) -> (String, [String: String]) {
        switch event {
        case .unlocked(let cause): ("unlocked", ["cause": cause.rawValue])
        case .locked(let cause): ("locked", ["cause": cause.rawValue])
        case .opened: ("opened", [:])
        case .closed: ("closed", [:])
        case .grantRefused(let why): ("grant_not_carried_out", ["why": why])
        case .rexPressed(let unlocks): ("rex_pressed", ["unlocks": unlocks ? "true" : "false"])
        case .alarm(let alarm, let raised): (raised ? "alarm_raised" : "alarm_cleared", ["alarm": alarm.rawValue])
        case .modeChanged(let mode): ("mode_changed", ["mode": mode.rawValue])
        }
    }
}
