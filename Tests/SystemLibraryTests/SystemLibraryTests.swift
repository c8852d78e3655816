import DoorDriver
import Foundation
import KeyCache
import Testing

/// The Debian C libraries link, at the versions the project is built for.
@Suite struct SystemLibraryTests {
    /// The shim's API is the one the installed header declares: v2's gpiod.h has line requests
    /// (`gpiod_line_request_get_value`), v1's does not. Debian 12 has 1.6, Debian 13 2.2.
    @Test func usesTheLibgpiodAPIOfTheInstalledHeader() throws {
        let header = try String(contentsOfFile: "/usr/include/gpiod.h", encoding: .utf8)
        let expected = header.contains("gpiod_line_request_get_value") ? 2 : 1
        #expect(LibGPIOD.api == expected)
    }

    @Test func linksTheLibgpiodOfItsAPI() {
        let prefix = LibGPIOD.api == 1 ? "1.6." : "2."
        #expect(GPIOInventory.libgpiodVersion.hasPrefix(prefix), "\(LibGPIOD.description)")
        #expect(LibGPIOD.description == "libgpiod \(LibGPIOD.version) (v\(LibGPIOD.api) API)")
    }

    @Test func linksSQLite3() {
        let parts = KeyCacheLibrary.sqliteVersion.split(separator: ".").compactMap { Int($0) }
        #expect(parts.count == 3 && parts[0] == 3 && parts[1] >= 40)
    }
}
