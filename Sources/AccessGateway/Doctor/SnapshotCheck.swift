import AccessPolicy
import KeyCache

extension Doctor {
    /// The snapshot held: present, not refused by the last sync, and its age against `max_age`.
    public func checkSnapshot(_ config: GatewayConfig, _ store: GatewayStore) -> DoctorCheck {
        let info: SnapshotInfo?
        do { info = try store.snapshotInfo() } catch {
            return .fail("snapshot", "\(error)", fix: "see the database check")
        }
        guard let info else {
            return .fail(
                "snapshot",
                "no snapshot: every pass is refused",
                fix: "provision, or `\(Self.ctl(config))snapshot import FILE`"
            )
        }
        // A refused document leaves the board on an older seq than HQ's: never quietly.
        if let refused = try? store.stateValues([.snapshotRefused])[.snapshotRefused], !refused.isEmpty {
            return .fail(
                "snapshot",
                "HQ's last snapshot document was refused (at \(refused)); this board stays on seq \(info.seq)",
                fix: "fix what the refusal names (docs/hq-protocol.md, Limits), then `\(Self.ctl(config))sync now`"
            )
        }
        let now = environment.now()
        let summary =
            "seq \(info.seq) from \(info.issuer), \(Self.age(info.age(now: now))) old "
            + "(max age \(Self.age(Double(info.maxAge)))), \(info.doors) doors, \(info.members) members"
        let bound = Self.offlineBound(info, now: now, policy: config.stalePolicy)
        guard info.isStale(now: now) else { return .ok("snapshot", "\(summary); \(bound)") }
        // Past max_age the doors follow on_stale: deny refuses everyone, grant keeps going.
        return DoctorCheck(
            name: "snapshot",
            status: config.stalePolicy == .deny ? .fail : .warn,
            detail: "stale: \(summary); \(bound)",
            fix: "check the hq check, then `\(Self.ctl(config))sync now`"
        )
    }

    /// How long until the offline bound (the snapshot's `max_age`) is reached, or since when it
    /// has been, and what `on_stale` then does: for `doctor` and the daemon's status line.
    static func offlineBound(_ info: SnapshotInfo, now: Double, policy: StaleSnapshotPolicy) -> String {
        let left = Double(info.maxAge) - info.age(now: now)
        if left >= 0 { return "offline bound in \(age(left))" }
        let then = policy == .deny ? "passes denied snapshot_stale" : "on_stale = grant keeps granting"
        return "offline bound reached \(age(-left)) ago: \(then)"
    }

    static func age(_ seconds: Double) -> String {
        switch seconds {
        case ..<120: return "\(Int(seconds)) s"
        case ..<7200: return "\(Int(seconds / 60)) min"
        case ..<172_800: return "\(Int(seconds / 3600)) h"
        default: return "\(Int(seconds / 86400)) d"
        }
    }
}
