import DoorDriver
import Foundation
import KeyCache
import Logging

/// The daemon's entry point: `access-gateway [--config FILE] [--check] [--version]`.
///
/// Exit status: 0 after a graceful shutdown, 78 (EX_CONFIG) for a bad configuration, which
/// systemd does not restart (RestartPreventExitStatus=78), 1 for any other failure.
public enum DaemonProgram {
    /// Reads the arguments after the program's name, runs the daemon and exits with its status.
    public static func main(arguments: [String]) async -> Never {
        // A parent may have left signals blocked (test runners do); SIGTERM must reach the service group.
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        sigprocmask(SIG_SETMASK, &unblocked, nil)

        if arguments.contains("--version") {
            print("access-gateway 0.1 (\(LibGPIOD.description), sqlite \(KeyCacheLibrary.sqliteVersion))")
            exit(0)
        }
        if arguments.contains("--help") || arguments.contains("-h") {
            print(
                """
                usage: access-gateway [--config FILE] [--check] [--version]
                  --config FILE  the configuration (default /etc/access-gateway/gateway.toml)
                  --check        check the configuration and exit: 0 when valid, 78 with the key otherwise
                """
            )
            exit(0)
        }
        let path =
            arguments.firstIndex(of: "--config").flatMap { arguments.indices.contains($0 + 1) ? arguments[$0 + 1] : nil }
            ?? "/etc/access-gateway/gateway.toml"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            FileHandle.standardError.write(Data("access-gateway: cannot read \(path); give --config PATH\n".utf8))
            exit(GatewayConfigError.exitStatus)
        }
        let config: GatewayConfig
        do {
            config = try GatewayConfig.parse(text)
        } catch {
            FileHandle.standardError.write(Data("access-gateway: \(path): \(error)\n".utf8))
            exit(GatewayConfigError.exitStatus)
        }
        if arguments.contains("--check") {
            print("\(path): \(config.board.doors.count) doors, database \(config.database): OK")
            exit(0)
        }

        LoggingSystem.bootstrap { label in JournalLogHandler(label: label) }
        let logger = Logger(label: "access-gateway")
        let daemon: GatewayDaemon
        do {
            daemon = try GatewayDaemon(config: config, logger: logger)
        } catch {
            logger.critical("cannot start: \(error)")
            exit(error.exitStatus)
        }
        do {
            try await daemon.run()
            exit(0)
        } catch {
            logger.critical("stopped: \(error)")
            exit(1)
        }
    }
}
