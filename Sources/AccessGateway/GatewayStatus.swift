import Foundation
import HQSync
import KeyCache

/// What `systemctl status` shows of the daemon: doors, snapshot and time to the offline bound,
/// backlog, clock, failing checks.
struct GatewayStatus: Sendable {
    let config: GatewayConfig
    let store: GatewayStore
    let health: GatewayHealth
    let clock: ClockTrust

    /// One line for `systemctl status`.
    func line() -> String {
        let info = try? store.snapshotHeader()
        let backlog = (try? store.uploadBacklog()) ?? 0
        let failing = health.checks().filter { !$0.ok }.map(\.name)
        var line = "\(config.board.doors.count) doors"
        let now = Date().timeIntervalSince1970
        line +=
            info.map { ", snapshot \($0.seq), \(Doctor.offlineBound($0, now: now, policy: config.stalePolicy))" }
            ?? ", no snapshot"
        line += ", backlog \(backlog)"
        line += clock.status.trusted ? "" : ", clock untrusted"
        line += failing.isEmpty ? ", healthy" : ", failing: \(failing.joined(separator: ", "))"
        return line
    }
}
