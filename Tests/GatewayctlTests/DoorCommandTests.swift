import Foundation
import TestSupport
import Testing

/// The door commands' configuration handling; the hardware itself is tested by `make hwtest`.
@Suite struct DoorCommandTests {
    static let example = TestPaths.packageRoot.appendingPathComponent("systemd/gateway.example.toml").path

    @Test func theExampleConfigParsesAndSelectsADoor() throws {
        // No GPIO here: getting as far as the chip lookup shows the file parsed and the door was found.
        for door in ["JKT1/FRONT", "front", "back"] {
            let result = try gatewayctl(
                "door",
                "test-relay",
                "--config",
                Self.example,
                "--door",
                door,
                "--seconds",
                "1"
            )
            #expect(result.status == 2)
            #expect(result.stderr.contains("no GPIO chip \"gpiochip0\""), "\(door): \(result.stderr)")
        }
    }

    @Test func namesAMissingDoor() throws {
        let result = try gatewayctl("door", "test-relay", "--config", Self.example, "--door", "JKT1/SIDE")
        #expect(result.status == 2)
        #expect(result.stderr.contains("JKT1/BACK, JKT1/FRONT"))
    }

    @Test func namesTheBadKeyAndValue() throws {
        let dir = try TestPaths.temporaryDirectory()
        let config = dir.appendingPathComponent("gateway.toml")
        try Data(#"[doors.x]\#nid = "L/D"\#nrelay = { chip = "gpiochip0", line = 1 }\#npulse_s = 45\#n"#.utf8).write(
            to: config
        )
        let result = try gatewayctl("door", "test-relay", "--config", config.path)
        #expect(result.status == 2)
        #expect(result.stderr.contains("doors.x.pulse_s = 45.0; allowed: 1–30"), "\(result.stderr)")
    }

    @Test func infoWorksWithoutGPIO() throws {
        let result = try gatewayctl("door", "info")
        #expect(result.status == 0)
        // "libgpiod 1.6.3 (v1 API); 0 chip(s)" on Debian 12, "libgpiod 2.2.1 (v2 API); …" on Debian 13.
        let first = result.stdout.split(separator: "\n").first.map(String.init) ?? ""
        #expect(first.wholeMatch(of: /libgpiod (1\.6|2)\.[0-9.]+ \(v[12] API\); [0-9]+ chip\(s\)/) != nil, "\(first)")
    }

    @Test func flagsNeedBothChipAndLine() throws {
        #expect(try gatewayctl("door", "test-relay", "--chip", "gpiochip0").status == 2)
    }
}
