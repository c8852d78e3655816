import Foundation
import TestSupport
import Testing

@Suite struct DoctorCommandTests {
    /// A gateway.toml in a fresh directory, with `camera` as the front door's camera.
    func config(gateway: String = "", camera: String = #"{ device = "/dev/door-camera-nonexistent" }"#) throws -> String
    {
        let directory = try TestPaths.temporaryDirectory()
        let text = """
            [gateway]
            db = "\(directory.path)/gateway.sqlite"
            listen = "127.0.0.1:1"
            \(gateway)

            [doors.front]
            id = "TEST/FRONT"
            relay = { chip = "gpiochip0", line = 17 }
            camera = \(camera)
            """
        let path = directory.appendingPathComponent("gateway.toml").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func aBrokenConfigExitsOneAndItsJSONNamesTheFailingChecks() throws {
        let result = try gatewayctl("doctor", "--config", try config(gateway: #"door_io = "relay""#), "--json")
        #expect(result.status == 1, "\(result.stderr)")
        let report = try jsonObject(result.stdout)
        #expect(report["ok"] as? Bool == false)
        let checks = try #require(report["checks"] as? [[String: Any]])
        let failing = checks.filter { $0["status"] as? String == "fail" }.compactMap { $0["name"] as? String }
        #expect(failing.first == "config" && failing.contains("gpio") && failing.contains("service"), "\(failing)")
        let config = try #require(checks.first)
        #expect((config["detail"] as? String)?.contains("gateway.door_io") == true)
        #expect((config["detail"] as? String)?.hasSuffix("allowed: \"gpio\" or \"memory\"") == true)
        #expect((config["fix"] as? String)?.hasPrefix("correct gateway.door_io") == true)
    }

    @Test func humanOutputShowsEachFailureWithItsFix() throws {
        let result = try gatewayctl("doctor", "--config", try config(), "--camera-seconds", "0.1")
        #expect(result.status == 1)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        let camera = try #require(lines.firstIndex { $0.hasPrefix("FAIL camera") }, "\(result.stdout)")
        #expect(lines[camera].hasSuffix("cannot open /dev/door-camera-nonexistent: no such device"))
        #expect(lines[camera + 1].hasPrefix("     fix: check the camera's cable"))
        #expect(lines.contains { $0.hasPrefix("ok   config") })
        #expect(lines.contains { $0.hasPrefix("FAIL service") && $0.contains("not running") })
    }

    @Test func aBadCameraTimeIsAUsageError() throws {
        let result = try gatewayctl("doctor", "--camera-seconds", "0")
        #expect(result.status == 2)
        #expect(result.stderr.contains("--camera-seconds"))
    }
}
