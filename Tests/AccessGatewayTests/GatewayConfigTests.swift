import AccessPolicy
import AccessGateway
import DoorDriver
import KeyCache
import QRCodec
import TestSupport
import Testing

@Suite struct GatewayConfigTests {
    static let valid = """
        [gateway]
        db = "/tmp/g.sqlite"
        on_stale = "deny"

        [doors.front]
        id = "JKT1/FRONT"
        relay = { chip = "gpiochip0", line = 17 }
        pulse_s = 4
        camera = { device = "/dev/door-camera-front", size = "1280x720", fps = 15, format = "MJPG", controls = { "Auto Exposure" = 1 } }

        [doors.back]
        id = "JKT1/BACK"
        relay = { chip = "gpiochip0", line = 6, active_low = true }
        camera = { device = "/dev/door-camera-back" }
        """

    @Test func aValidFileGivesEachDoorItsCameraAndTheDefaults() throws {
        let config = try GatewayConfig.parse(Self.valid)
        #expect(config.database == "/tmp/g.sqlite" && config.stalePolicy == .deny)
        #expect(config.deviceKey == "/var/lib/access-gateway/device-key.pem")
        #expect(config.board.doors["front"]?.pulseSeconds == 4)
        let front = try #require(config.cameras["JKT1/FRONT"])
        #expect(front.width == 1280 && front.height == 720 && front.fps == 15 && front.format == .mjpeg)
        #expect(front.controls == ["Auto Exposure": 1])
        let back = try #require(config.cameras["JKT1/BACK"])
        #expect(back == CameraSettings(device: "/dev/door-camera-back"))
    }

    /// The offline bound holds unless the operator chooses otherwise: past max_age, deny.
    @Test(arguments: [("", StaleSnapshotPolicy.deny), ("on_stale = \"grant\"", .grant), ("on_stale = \"deny\"", .deny)])
    func onStaleDefaultsToDeny(line: String, policy: StaleSnapshotPolicy) throws {
        let text = Self.valid.replacingOccurrences(of: "on_stale = \"deny\"", with: line)
        #expect(try GatewayConfig.parse(text).stalePolicy == policy)
    }

    /// The frame gate is on unless the file turns it off.
    @Test(arguments: [("", true), ("idle_gate = false", false), ("idle_gate = true", true)])
    func theIdleGateIsOnByDefault(line: String, on: Bool) throws {
        let text = Self.valid.replacingOccurrences(of: "on_stale = \"deny\"", with: "on_stale = \"deny\"\n" + line)
        #expect(try GatewayConfig.parse(text).idleGate == on)
    }

    /// Each mistake names its key.
    @Test(arguments: [
        ("on_stale = \"deny\"", "on_stale = \"maybe\"", "gateway.on_stale"),
        ("on_stale = \"deny\"", "on_stale = \"deny\"\nidle_gate = \"yes\"", "gateway.idle_gate"),
        ("pulse_s = 4", "pluse_s = 4", "doors.front.pluse_s"),
        ("fps = 15", "fps = 500", "doors.front.camera.fps"),
        ("size = \"1280x720\"", "size = \"big\"", "doors.front.camera.size"),
        ("format = \"MJPG\"", "format = \"H264\"", "doors.front.camera.format"),
        ("device = \"/dev/door-camera-back\"", "device = \"camera\"", "doors.back.camera.device"),
        ("[gateway]", "[gatway]", "gatway"),
        ("\"Auto Exposure\" = 1", "\"Auto Exposure\" = \"on\"", "doors.front.camera.controls.Auto Exposure"),
    ])
    func aBadValueIsNamed(good: String, bad: String, key: String) throws {
        #expect(Self.valid.contains(good))
        do {
            _ = try GatewayConfig.parse(Self.valid.replacingOccurrences(of: good, with: bad))
            Issue.record("\(bad) was accepted")
        } catch {
            #expect(error.key == key, "\(error)")
            #expect(!error.allowed.isEmpty)
        }
    }

    @Test func aDoorWithoutACameraIsAnError() throws {
        let text = Self.valid.replacingOccurrences(of: "camera = { device = \"/dev/door-camera-back\" }\n", with: "")
            .replacingOccurrences(of: "camera = { device = \"/dev/door-camera-back\" }", with: "")
        #expect(throws: GatewayConfigError.self) { try GatewayConfig.parse(text) }
    }

    @Test func doorHardwareMistakesComeFromDoorDriver() throws {
        let text = Self.valid.replacingOccurrences(of: "line = 6, active_low = true", with: "line = 17")
        do {
            _ = try GatewayConfig.parse(text)
            Issue.record("two doors on one line were accepted")
        } catch {
            #expect(error.allowed.contains("both use gpiochip0:17"))
        }
    }

    @Test func notTOMLIsAConfigError() {
        #expect(GatewayConfigError.exitStatus == 78)
        #expect(throws: GatewayConfigError.self) { try GatewayConfig.parse("[doors\nid = ") }
    }
}

@Suite struct DaemonConfigCheckTests {
    static let daemon = TestPaths.productsDirectory.appendingPathComponent("access-gateway")
    static let example = TestPaths.packageRoot.appendingPathComponent("systemd/gateway.example.toml").path

    @Test func theShippedExampleIsValid() throws {
        let result = try run(Self.daemon, ["--config", Self.example, "--check"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("2 doors"))
    }

    @Test func aBadConfigurationExits78NamingTheKey() throws {
        let text = try String(contentsOfFile: Self.example, encoding: .utf8).replacingOccurrences(
            of: "pulse_s = 5",
            with: "pulse_s = 45"
        )
        let file = try TestPaths.temporaryDirectory().appendingPathComponent("gateway.toml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        let result = try run(Self.daemon, ["--config", file.path, "--check"])
        #expect(result.status == 78)
        #expect(result.stderr.contains("doors.front.pulse_s = 45.0; allowed: 1–30"), "\(result.stderr)")
    }

    @Test func aMissingFileExits78() throws {
        let result = try run(Self.daemon, ["--config", "/nonexistent/gateway.toml", "--check"])
        #expect(result.status == 78 && result.stderr.contains("cannot read /nonexistent/gateway.toml"))
    }
}
