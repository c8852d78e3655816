import Foundation
import QRCodec
import TestSupport
import Testing

@Suite struct CameraCommandTests {
    /// A folder of frames: empty views around a long code held for five frames.
    func frames(code: String) throws -> String {
        let dir = try TestPaths.temporaryDirectory()
        for i in 0..<12 {
            var image = GreyImage(width: 320, height: 240, fill: 210)
            if (3..<8).contains(i) { image.paste(try QRMatrix.encode(text: code).image(moduleSize: 2), x: 30, y: 10) }
            try Data(PGM.encode(image)).write(to: dir.appendingPathComponent(String(format: "%03d.pgm", i)))
        }
        return dir.path
    }

    @Test func cameraTestReportsEachCodeOnceAndNeverAWholePass() throws {
        let code = "AG1:" + String(repeating: "6BFOXN*TS0BI$ZD4N9:9S6RCVN5+O30K3/XIV0W23NTDEXWK G2EP4J0B", count: 2)
        let result = try gatewayctl(
            "camera",
            "test",
            "--frames",
            try frames(code: code),
            "--fps",
            "60",
            "--seconds",
            "1",
            "--json"
        )
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        let seen = try lines.dropLast().map(jsonObject)
        // The folder loops about five times in a second; the cooldown keeps it to one sighting.
        #expect(seen.count == 1)
        let shown = try #require(seen.first?["code"] as? String)
        #expect(shown.hasPrefix("AG1:6BFOXN") && shown.count < 30 && !result.stdout.contains(code))
        #expect(seen.first?["length"] as? Int == code.count)
        let summary = try jsonObject(try #require(lines.last))
        #expect((summary["frames"] as? Int ?? 0) >= 20)
        #expect(summary["codes"] as? Int == 1)
        #expect(summary["error"] is NSNull)
    }

    @Test func aMissingCameraIsAClearErrorNamingTheDevice() throws {
        let result = try gatewayctl("camera", "test", "--device", "/dev/no-such-camera", "--seconds", "1")
        #expect(result.status == 2)
        #expect(result.stderr.contains("camera /dev/no-such-camera:"))
    }

    @Test func badCameraOptionsAreRefusedBeforeOpening() throws {
        for (option, value, message) in [
            ("--size", "640by480", "--size must be WIDTHxHEIGHT"),
            ("--format", "H264", "--format must be GREY, YUYV or MJPG"),
            ("--control", "Brightness", "--control must be NAME=VALUE"),
        ] {
            let result = try gatewayctl("camera", "snapshot", "--pgm", "/tmp/x.pgm", option, value)
            #expect(result.status == 64 || result.status == 2, "\(option)")
            #expect(result.stderr.contains(message), "\(result.stderr)")
        }
    }

    @Test func listingWithoutCamerasSaysSo() throws {
        // CI has no camera; the hardware stage lists vivid's.
        let nodes = try FileManager.default.contentsOfDirectory(atPath: "/dev").filter { $0.hasPrefix("video") }
        let result = try gatewayctl("camera", "list")
        #expect(result.status == 0)
        if nodes.isEmpty { #expect(result.stdout.contains("no video capture devices")) }
        let json = try gatewayctl("camera", "list", "--json").stdout
        let devices = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        #expect(devices.count <= nodes.count)
    }
}
