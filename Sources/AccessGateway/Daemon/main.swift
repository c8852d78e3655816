import AccessToken
import DoorDriver
import Foundation
import KeyCache
import Logging
import QRCodec

// The daemon is composed in the daemon issue; until then it reports what it links against.
let logger = Logger(label: "access-gateway")
if CommandLine.arguments.dropFirst().contains("--version") {
    print("access-gateway 0.1 (libgpiod \(GPIOInventory.libgpiodVersion), sqlite \(KeyCacheLibrary.sqliteVersion))")
    exit(0)
}
logger.error("access-gateway is not built yet: use gatewayctl, or run 'make demo'")
exit(78)
