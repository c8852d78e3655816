import DoorDriver
import KeyCache
import Testing

/// The Debian C libraries link, at the versions the project is built for.
@Suite struct SystemLibraryTests {
    @Test func linksLibgpiodV1() {
        #expect(GPIOInventory.libgpiodVersion.hasPrefix("1.6."))
    }

    @Test func linksSQLite3() {
        let parts = KeyCacheLibrary.sqliteVersion.split(separator: ".").compactMap { Int($0) }
        #expect(parts.count == 3 && parts[0] == 3 && parts[1] >= 40)
    }
}
