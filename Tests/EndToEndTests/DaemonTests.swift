import AccessGateway
import Foundation
import Glibc
import HQSync
import KeyCache
import QRCodec
import TestSupport
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The real `access-gateway` binary on in-memory doors and a folder camera, with the demo site's
/// snapshot in its store. Killed if a test lets go of it still running.
final class DaemonProcess: @unchecked Sendable {
    static let binary = TestPaths.productsDirectory.appendingPathComponent("access-gateway")
    let site = DemoSite()
    let directory: URL
    let process = Process()
    var logPath: String { directory.appendingPathComponent("daemon.log").path }
    var database: String { directory.appendingPathComponent("gateway.sqlite").path }

    /// `frames`: each a pass text or nil for an empty view, played at 10 fps; `camera` replaces
    /// the folder with a V4L2 device line.
    init(
        frames: (DemoSite) throws -> [String?],
        camera: String? = nil,
        secondDoor: String? = nil,
        environment: [String: String] = [:]
    ) throws {
        directory = try TestPaths.temporaryDirectory()
        let store = try GatewayStore(path: database)
        try site.install(in: store)
        try store.close()
        let folder = directory.appendingPathComponent("frames")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (index, text) in try frames(site).enumerated() {
            var image = GreyImage(width: 320, height: 240, fill: 200)
            if let text { image.paste(try QRMatrix.encode(text: text).image(moduleSize: 2), x: 40, y: 20) }
            try Data(PGM.encode(image)).write(to: folder.appendingPathComponent(String(format: "%04d.pgm", index)))
        }
        let config = """
            [gateway]
            db = "\(database)"
            device_key = "\(directory.appendingPathComponent("device-key.pem").path)"
            listen = "127.0.0.1:0"
            door_io = "memory"

            [doors.front]
            id = "\(site.door)"
            relay = { chip = "memory", line = 0 }
            pulse_s = 1
            camera = \(camera ?? "{ frames = \"\(folder.path)\", fps = 10 }")
            """ + (secondDoor.map { id in
                """

                [doors.back]
                id = "\(id)"
                relay = { chip = "memory", line = 1 }
                camera = { frames = "\(folder.path)", fps = 10 }
                """
            } ?? "")
        let configFile = directory.appendingPathComponent("gateway.toml")
        try config.write(to: configFile, atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = Self.binary
        process.arguments = ["--config", configFile.path]
        // Unsynchronised unless a test says otherwise: no daemon test asks this host's kernel.
        process.environment = ProcessInfo.processInfo.environment
            .merging([ClockTrust.kernelSyncOverrideVariable: "0"]) { $1 }
            .merging(environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        try process.run()
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Waits up to `seconds` for the log to contain `text`.
    func waitForLog(_ text: String, seconds: Double = 15) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if log.contains(text) { return true }
            usleep(50_000)
        }
        return false
    }

    /// The HTTP port, from the daemon's "metrics and health" line.
    func port() throws -> Int {
        #expect(waitForLog("/healthz"), "\(log)")
        let match = try #require(log.firstMatch(of: /url=http:\/\/127\.0\.0\.1:(\d+)\/healthz/))
        return try #require(Int(match.1))
    }

    func get(_ path: String) async throws -> (status: Int, body: String) {
        let url = URL(string: "http://127.0.0.1:\(try port())\(path)")!
        let (data, response) = try await URLSession.shared.data(from: url)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    /// SIGTERM, then the exit status (nil if it did not exit within `seconds`).
    func terminate(within seconds: Double = 15) -> Int32? {
        kill(process.processIdentifier, SIGTERM)
        let end = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < end { usleep(20_000) }
        return process.isRunning ? nil : process.terminationStatus
    }
}

@Suite(.serialized) struct DaemonProcessTests {
    /// Long enough that the daemon is still running when the test stops it.
    static func quiet(_ site: DemoSite) -> [String?] { Array(repeating: nil, count: 200) }

    @Test func itTellsSystemdItIsReadyAndFeedsTheWatchdog() throws {
        let notify = try NotifySocket()
        let daemon = try DaemonProcess(
            frames: Self.quiet,
            environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "400000"]
        )
        var messages: [String] = []
        while messages.filter({ $0 == "WATCHDOG=1" }).count < 3, let message = notify.receive(timeout: 10) {
            messages.append(message)
        }
        let ready = try #require(messages.first, "no notification; log: \(daemon.log)")
        #expect(ready.hasPrefix("READY=1\nSTATUS=1 doors"), "\(ready)")
        #expect(messages.filter { $0 == "WATCHDOG=1" }.count >= 3, "\(messages)")
        #expect(daemon.terminate() == 0)
    }

    @Test func sigtermLocksTheDoorsClosesTheDatabaseAndSaysStopping() throws {
        let notify = try NotifySocket()
        let daemon = try DaemonProcess(frames: Self.quiet, environment: ["NOTIFY_SOCKET": notify.path])
        #expect(notify.receive(timeout: 15)?.hasPrefix("READY=1") == true, "\(daemon.log)")
        #expect(daemon.terminate() == 0, "\(daemon.log)")
        var messages: [String] = []
        while let message = notify.receive(timeout: 0.5) { messages.append(message) }
        #expect(messages.contains { $0.hasPrefix("STOPPING=1") }, "\(messages)")
        let log = daemon.log
        #expect(log.contains("doors locked for shutdown") && log.contains("database closed"), "\(log)")
        let lastRelay = log.split(separator: "\n").last { $0.contains(": relay o") }
        #expect(lastRelay?.contains("relay off") == true, "\(log)")
        // Closed cleanly: the write-ahead log was checkpointed away, and the file checks out.
        #expect((try? FileManager.default.attributesOfItem(atPath: daemon.database + "-wal")[.size] as? Int) ?? 0 == 0)
        #expect(try GatewayStore(path: daemon.database, create: false).integrityCheck() == "ok")
    }

    /// The kernel's clock synchronisation as the daemon is told to see it (the test override), so
    /// that the daemon's tests run both ways on any host.
    static func kernel(synchronised: Bool) -> [String: String] {
        [ClockTrust.kernelSyncOverrideVariable: synchronised ? "1" : "0"]
    }

    @Test(arguments: [true, false])
    func healthzIsOKWhileTheCameraDeliversAndMetricsCountTheScan(kernelSynchronised: Bool) async throws {
        try await offThePool {
            let daemon = try DaemonProcess(
                frames: { site in
                    Array(repeating: nil, count: 3) + Array(repeating: try site.pass(), count: 3)
                        + Array(repeating: nil, count: 150)
                },
                environment: Self.kernel(synchronised: kernelSynchronised)
            )
            #expect(daemon.waitForLog("reason="), "\(daemon.log)")
            let health = try await daemon.get("/healthz")
            #expect(health.status == 200, "\(health.body)")
            #expect(health.body.contains("\"ok\":true"))
            let metrics = try await daemon.get("/metrics").body
            // Unenrolled, so no HQ time: granted only while the kernel reports the clock synchronised.
            let outcome =
                kernelSynchronised
                ? "ag_grants_total{door=\"DEMO/FRONT\"} 1" : "ag_denials_total{door=\"DEMO/FRONT\",reason=\"clock_untrusted\"} 1"
            for line in ["ag_scans_total{door=\"DEMO/FRONT\"} 1", outcome, "ag_decode_ms_bucket"] {
                #expect(metrics.contains(line), "\(line) missing from:\n\(metrics)")
            }
            for name in ["ag_snapshot_age_seconds", "ag_clock_trusted", "ag_camera_frames", "ag_upload_backlog"] {
                #expect(metrics.contains("# TYPE \(name) gauge"), "\(name) missing from:\n\(metrics)")
            }
            #expect(daemon.terminate() == 0)
        }
    }

    @Test func healthzIs503WhileTheCameraIsMissing() async throws {
        let daemon = try DaemonProcess(frames: Self.quiet, camera: "{ device = \"/dev/door-camera-missing\" }")
        #expect(daemon.waitForLog("camera failed; reopening"), "\(daemon.log)")
        let health = try await daemon.get("/healthz")
        #expect(health.status == 503)
        #expect(health.body.contains("\"name\":\"camera DEMO/FRONT\",\"ok\":false"), "\(health.body)")
        #expect(health.body.contains("/dev/door-camera-missing"), "\(health.body)")
        #expect(daemon.terminate() == 0)
    }

    @Test(arguments: [true, false])
    func aLogLineNamesTheDoorReasonAndPassIdButNeverThePass(kernelSynchronised: Bool) throws {
        var pass = ""
        let daemon = try DaemonProcess(
            frames: { site in
                pass = try site.pass(member: "m-blocked")
                return [nil, pass, pass] + Array(repeating: nil, count: 150)
            },
            environment: Self.kernel(synchronised: kernelSynchronised)
        )
        #expect(daemon.waitForLog("denied"), "\(daemon.log)")
        let line = try #require(daemon.log.split(separator: "\n").first { $0.contains("denied") })
        #expect(line.contains("door=DEMO/FRONT") && line.contains("pass=") && line.contains("seq="), "\(line)")
        // A clock it cannot trust is the first reason; with one it can, the member's block.
        let reason = kernelSynchronised ? "member_blocked" : "clock_untrusted"
        #expect(line.contains("reason=\(reason)"), "\(line)")
        #expect(!daemon.log.contains(String(pass.dropFirst(4).prefix(40))))
        #expect(daemon.terminate() == 0)
    }

    /// The daemon's decision lines carry the event's seq and hash, so the journal witnesses the
    /// log's end outside the database: `log verify` agrees on the intact log and finds the newest
    /// decisions cut, with the head rewritten so that the chain alone still verifies.
    @Test func theJournalWitnessesTheNewestDecisionSoACutIsFound() throws {
        let daemon = try DaemonProcess(
            frames: { site in [nil, try site.pass(), nil, try site.pass(member: "m-blocked")] + Array(repeating: nil, count: 150) },
            environment: Self.kernel(synchronised: true)
        )
        #expect(daemon.waitForLog("reason=member_blocked"), "\(daemon.log)")
        #expect(daemon.terminate() == 0)
        let gatewayctl = TestPaths.productsDirectory.appendingPathComponent("gatewayctl")
        let verify = ["--db", daemon.database, "log", "verify", "--offline", "--journal", daemon.logPath]
        let intact = try run(gatewayctl, verify)
        #expect(intact.status == 0, "\(intact.stdout)\(intact.stderr)")
        #expect(intact.stdout.contains("the journal agrees: the newest decision it saw, seq "), "\(intact.stdout)")

        let cut = """
            DELETE FROM audit_events WHERE seq >= (SELECT max(seq) FROM audit_events WHERE kind = 'decision');
            UPDATE gateway_state SET value = (SELECT max(seq) FROM audit_events) WHERE key = 'head_seq';
            UPDATE gateway_state SET value = (SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1) WHERE key = 'head_hash';
            """
        let sqlite = try runTool("sqlite3", [daemon.database, cut])
        try #require(sqlite.status == 0, "\(sqlite.stderr)")
        let chainOnly = try run(gatewayctl, ["--db", daemon.database, "log", "verify", "--offline", "--journal", "/dev/null"])
        #expect(chainOnly.status == 0, "the cut chain still links: \(chainOnly.stdout)")
        let found = try run(gatewayctl, verify)
        #expect(found.status == 1, "\(found.stdout)")
        #expect(found.stdout.contains("the journal disagrees: the journal saw event "), "\(found.stdout)")
        #expect(found.stdout.contains("its newest events were cut"), "\(found.stdout)")
    }

    @Test(arguments: [true, false])
    func eachDoorDecidesWhatItsOwnCameraSees(kernelSynchronised: Bool) async throws {
        let daemon = try DaemonProcess(
            frames: { site in [nil, try site.pass(), try site.pass()] + Array(repeating: nil, count: 150) },
            secondDoor: "DEMO/BACK",
            environment: Self.kernel(synchronised: kernelSynchronised)
        )
        // Each door's decision line (not a start-up line naming the door).
        #expect(daemon.waitForLog("door=DEMO/BACK hash="), "\(daemon.log)")
        #expect(daemon.waitForLog("door=DEMO/FRONT hash="), "\(daemon.log)")
        let decided = daemon.log.split(separator: "\n").filter { $0.contains(" seq=") }
        let front = decided.filter { $0.contains("door=DEMO/FRONT") }
        #expect(front.count == 1, "\(decided)")
        let back = try #require(decided.first { $0.contains("door=DEMO/BACK") })
        // The pass names DEMO/FRONT only; at the back door it never opens anything.
        #expect(back.contains(kernelSynchronised ? "reason=wrong_door" : "reason=clock_untrusted"), "\(back)")
        #expect(front.first?.contains(kernelSynchronised ? "reason=granted" : "reason=clock_untrusted") == true, "\(front)")
        let health = try await daemon.get("/healthz").body
        #expect(health.contains("camera DEMO/BACK") && health.contains("camera DEMO/FRONT"), "\(health)")
        #expect(daemon.terminate() == 0)
    }

    /// `make demo`, as the README runs it: the reference HQ, enrolment, a grant, an expired pass,
    /// the upload and HQ's check of the chain. Enrolled, the gateway takes its time from HQ, so
    /// the whole product path passes on a host whose clock is synchronised and on one whose is not.
    @Test(arguments: [true, false])
    func theDemoRunsEndToEnd(kernelSynchronised: Bool) throws {
        let script = TestPaths.packageRoot.appendingPathComponent("scripts/demo.sh").path
        let override = "\(ClockTrust.kernelSyncOverrideVariable)=\(kernelSynchronised ? 1 : 0)"
        let result = try runTool("env", [override, "bash", script, TestPaths.productsDirectory.path])
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("demo OK"), "\(result.stdout)")
    }
}

