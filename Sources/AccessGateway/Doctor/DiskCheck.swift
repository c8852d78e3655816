import Foundation
import Glibc

extension Doctor {
    /// `statvfs` on the database's directory: below 50 MB the audit log cannot grow for long.
    public func checkDisk(_ config: GatewayConfig) -> DoctorCheck {
        let directory = URL(fileURLWithPath: config.database).deletingLastPathComponent().path
        var stats = statvfs()
        guard statvfs(directory, &stats) == 0 else {
            return .fail(
                "disk",
                "cannot read \(directory): \(String(cString: strerror(errno)))",
                fix: "create \(directory), owned by the service's user"
            )
        }
        let free = Double(stats.f_bavail) * Double(stats.f_frsize)
        let total = Double(stats.f_blocks) * Double(stats.f_frsize)
        let megabytes = 1024.0 * 1024.0
        let detail =
            "\(directory): "
            + String(
                format: "%.0f MB free of %.0f MB (%.0f %%)",
                free / megabytes,
                total / megabytes,
                total > 0 ? 100 * free / total : 0
            )
        let fix = "free space on \(directory) (`du -xsh /var/* | sort -h`, `journalctl --vacuum-size=100M`)"
        if free < 50 * megabytes { return .fail("disk", detail, fix: fix) }
        if free < 200 * megabytes || free < total * 0.05 {
            return .warn("disk", detail, fix: fix)
        }
        return .ok("disk", detail)
    }
}
