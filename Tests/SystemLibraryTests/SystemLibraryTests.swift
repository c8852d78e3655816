import DoorDriver
import Foundation
import KeyCache
import QRCodec
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

    /// The ZXing package trait is on by default: the default build links Debian's zxing-cpp
    /// (1.4 on Debian 12, 2.x on Debian 13), the chain's second decoder.
    @Test func theDefaultBuildLinksZXingCpp() throws {
        let version = try #require(QRScanner.zxingVersion, "built without the ZXing trait")
        let major = try #require(Int(version.prefix { $0 != "." }))
        // The installed headers' major version: Version.h in 2.x, ZXVersion.h in 1.4.
        let installed = ["Version.h", "ZXVersion.h"].lazy.compactMap { name -> Int? in
            let text = try? String(contentsOfFile: "/usr/include/ZXing/\(name)", encoding: .utf8)
            let line = text?.split(separator: "\n").first { $0.hasPrefix("#define ZXING_VERSION_MAJOR ") }
            return line.flatMap { Int($0.split(separator: " ").last ?? "") }
        }.first
        #expect(major == installed, "zxing-cpp \(version), headers \(installed.map(String.init) ?? "none")")
    }

    @Test func linksSQLite3() {
        let parts = KeyCacheLibrary.sqliteVersion.split(separator: ".").compactMap { Int($0) }
        #expect(parts.count == 3 && parts[0] == 3 && parts[1] >= 40)
    }
}
