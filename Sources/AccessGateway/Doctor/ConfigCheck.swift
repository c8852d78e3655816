import Foundation

extension Doctor {
    /// Reads and parses the file; a missing file and each bad key are their own failures.
    public func checkConfig(path: String) -> (DoctorCheck, GatewayConfig?) {
        guard FileManager.default.fileExists(atPath: path) else {
            return (
                .fail(
                    "config",
                    "\(path): no such file",
                    fix: "copy systemd/gateway.example.toml to \(path) and edit it, or give --config PATH"
                ), nil
            )
        }
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            return (
                .fail(
                    "config",
                    "cannot read \(path): \((error as NSError).localizedDescription)",
                    fix: "run doctor as root or as a member of the access-gateway group"
                ), nil
            )
        }
        do {
            let config = try GatewayConfig.parse(text)
            let doors = config.board.doors.count
            return (
                .ok(
                    "config",
                    "\(path): \(doors) door\(doors == 1 ? "" : "s"), door_io \(config.doorIO.rawValue), "
                        + "database \(config.database)"
                ), config
            )
        } catch {
            return (
                .fail(
                    "config",
                    "\(path): \(error)",
                    fix: "correct \(error.key), then `access-gateway --config \(path) --check`"
                ), nil
            )
        }
    }
}
