import AccessGateway
import DoorDriver
import Foundation
import KeyCache
import Logging

// The daemon's services are composed in the daemon issue. Until then it checks a configuration
// (`--check`) and reports what it links against.
let logger = Logger(label: "access-gateway")
let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.contains("--version") {
    print("access-gateway 0.1 (libgpiod \(GPIOInventory.libgpiodVersion), sqlite \(KeyCacheLibrary.sqliteVersion))")
    exit(0)
}
let path =
    arguments.firstIndex(of: "--config").flatMap { arguments.indices.contains($0 + 1) ? arguments[$0 + 1] : nil }
    ?? "/etc/access-gateway/gateway.toml"
guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
    FileHandle.standardError.write(Data("access-gateway: cannot read \(path); give --config PATH\n".utf8))
    exit(GatewayConfigError.exitStatus)
}
do {
    let config = try GatewayConfig.parse(text)
    if arguments.contains("--check") {
        print("\(path): \(config.board.doors.count) doors, database \(config.database): OK")
        exit(0)
    }
} catch {
    FileHandle.standardError.write(Data("access-gateway: \(path): \(error)\n".utf8))
    exit(GatewayConfigError.exitStatus)
}
logger.error("access-gateway cannot run doors yet: use gatewayctl, or run 'make demo'")
exit(GatewayConfigError.exitStatus)
