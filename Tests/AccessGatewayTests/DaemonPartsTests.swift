@testable import AccessGateway
import DoorDriver
import Foundation
import HQProtocol
import HQSync
import KeyCache
import TestSupport
import Logging
import Synchronization
import Testing

@Suite struct SystemdNotifierTests {
    @Test func itSendsEachMessageAsOneDatagram() throws {
        let socket = try NotifySocket()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.path])
        notifier.ready(status: "2 doors")
        notifier.watchdog()
        #expect(socket.receive(timeout: 2) == "READY=1\nSTATUS=2 doors")
        #expect(socket.receive(timeout: 2) == "WATCHDOG=1")
    }

    @Test func withoutNotifySocketItIsSilent() {
        let notifier = SystemdNotifier(environment: [:])
        #expect(notifier.socketPath == nil && notifier.watchdogInterval == nil)
        notifier.ready(status: "nothing to send to")
    }

    @Test(arguments: [
        (["WATCHDOG_USEC": "10000000"], Duration?.some(.seconds(5))),
        (["WATCHDOG_USEC": "10000000", "WATCHDOG_PID": "1"], nil),
        (["WATCHDOG_USEC": "0"], nil),
    ])
    func theWatchdogIsFedAtHalfItsTimeoutWhenItIsOurs(environment: [String: String], interval: Duration?) {
        #expect(SystemdNotifier(environment: environment).watchdogInterval == interval)
    }
}

@Suite struct JournalLogHandlerTests {
    @Test(arguments: [
        ("plain", "plain"), ("two words", "\"two words\""), ("a=b", "\"a=b\""), ("", "\"\""),
        ("say \"hi\"", "\"say \\\"hi\\\"\""),
    ])
    func metadataValuesStayOneToken(value: String, shown: String) {
        #expect(JournalLogHandler.quoted(value) == shown)
    }

    @Test func underJournaldEachLineCarriesItsSyslogPriority() {
        #expect(JournalLogHandler.priority(.error) == 3 && JournalLogHandler.priority(.info) == 6)
        #expect(JournalLogHandler.priority(.warning) == 4 && JournalLogHandler.priority(.debug) == 7)
    }
}

@Suite struct GatewayMetricsTests {
    @Test func aDenialCountsByReasonAndTheHistogramsFill() {
        let metrics = GatewayMetrics()
        metrics.scanned(door: "A/1", reason: "granted", granted: true, decodeMs: 2.5, scanToRelayMs: 4)
        metrics.scanned(door: "A/1", reason: "expired", granted: false, decodeMs: 12, scanToRelayMs: nil)
        metrics.scanned(door: "A/1", reason: "expired", granted: false, decodeMs: 1, scanToRelayMs: nil)
        let text = String(decoding: metrics.exposition(), as: UTF8.self)
        for line in [
            "ag_scans_total{door=\"A/1\"} 3", "ag_grants_total{door=\"A/1\"} 1",
            "ag_denials_total{door=\"A/1\",reason=\"expired\"} 2", "ag_decode_ms_bucket{door=\"A/1\",le=\"3.0\"} 2",
            "ag_decode_ms_count{door=\"A/1\"} 3", "ag_scan_to_relay_ms_count{door=\"A/1\"} 1",
        ] {
            #expect(text.contains(line), "\(line) missing from:\n\(text)")
        }
    }

    @Test func alarmsShowWhileRaisedAndCountEachRaise() {
        let metrics = GatewayMetrics()
        metrics.doorAlarm(door: "A/1", alarm: "forced_open", raised: true)
        metrics.doorAlarm(door: "A/1", alarm: "forced_open", raised: false)
        metrics.doorAlarm(door: "A/1", alarm: "forced_open", raised: true)
        let text = String(decoding: metrics.exposition(), as: UTF8.self)
        #expect(text.contains("ag_door_alarms_total{alarm=\"forced_open\",door=\"A/1\"} 2"), "\(text)")
        #expect(text.contains("ag_door_alarm_active{alarm=\"forced_open\",door=\"A/1\"} 1.0"), "\(text)")
    }
}

@Suite struct GatewayHealthTests {
    @Test func aCameraWithoutAFreshFrameIsDown() {
        let health = GatewayHealth(frameTimeout: .seconds(2)) { nil }
        health.doors(nil)
        health.expectCamera("A/1")
        #expect(health.checks().first { $0.name == "camera A/1" }?.ok == false)
        let start = ContinuousClock.now
        health.watchCamera("A/1") { (10, start) }
        let fresh = health.checks(now: start + .seconds(1))
        #expect(fresh.allSatisfy { $0.ok })
        let stale = health.checks(now: start + .seconds(3)).first { $0.name == "camera A/1" }
        #expect(stale?.ok == false && stale?.detail == "no frame for 3 s")
    }

    /// The daemon hands health a reader of the scan loop's counts: each check reads them then.
    @Test func aWatchedCameraIsReadWhenChecked() {
        let health = GatewayHealth(frameTimeout: .seconds(2)) { nil }
        health.doors(nil)
        health.expectCamera("A/1")
        health.cameraProblem("A/1", "camera failed; reopening")
        let start = ContinuousClock.now
        let counts = Mutex<(count: Int, last: ContinuousClock.Instant?)>((0, nil))
        health.watchCamera("A/1") { counts.withLock { $0 } }
        #expect(health.checks(now: start).first { $0.name == "camera A/1" }?.ok == false)
        counts.withLock { $0 = (7, start) }
        let fresh = health.checks(now: start + .seconds(1)).first { $0.name == "camera A/1" }
        #expect(fresh?.ok == true && fresh?.detail == "7 frames", "a fresh frame clears the reopened camera's problem")
        #expect(health.watchedFrameCounts() == ["A/1": 7])
        let stale = health.checks(now: start + .seconds(3)).first { $0.name == "camera A/1" }
        #expect(stale?.ok == false && stale?.detail == "no frame for 3 s")
    }

    @Test func aStoreThatCannotBeWrittenIsDown() {
        let health = GatewayHealth { "disk I/O error" }
        health.doors(nil)
        let store = health.checks().first { $0.name == "store" }
        #expect(store?.ok == false && store?.detail == "disk I/O error")
        #expect(String(decoding: GatewayHealth.json(health.checks()), as: UTF8.self).hasPrefix("{\"checks\""))
    }

    /// `/healthz` may be polled often: the write probe runs at most once per interval, and the
    /// checks in between serve its last result.
    @Test func theStoreProbeRunsAtMostOncePerIntervalAndIsServedFromCache() {
        let probes = Mutex(0)
        let health = GatewayHealth(storeProbeInterval: .seconds(5)) {
            probes.withLock { $0 += 1 }
            return probes.withLock { $0 } == 1 ? "disk I/O error" : nil
        }
        health.doors(nil)
        let start = ContinuousClock.now
        for step in 0..<100 {
            let store = health.checks(now: start + .milliseconds(step * 40)).first { $0.name == "store" }
            #expect(store?.detail == "disk I/O error")
        }
        #expect(probes.withLock { $0 } == 1)
        let later = health.checks(now: start + .seconds(6)).first { $0.name == "store" }
        #expect(later?.ok == true && probes.withLock { $0 } == 2)
    }

    @Test func doorsThatLostTheirLinesAreDownAndStopTheWatchdog() {
        let health = GatewayHealth { nil }
        health.doors("the door controller stopped: line 17 failed")
        #expect(!health.doorsHeld)
        #expect(health.checks().first { $0.name == "doors" }?.ok == false)
    }
}

@Suite struct DaemonConfigTests {
    static let base = """
        [gateway]
        listen = "0.0.0.0:9464"
        door_io = "memory"

        [doors.front]
        id = "A/1"
        relay = { chip = "memory", line = 0 }
        camera = { frames = "/tmp/frames", fps = 5 }
        """

    @Test func aFrameFolderStandsInForTheCamera() throws {
        let config = try GatewayConfig.parse(Self.base)
        #expect(config.frameFolders["A/1"] == GatewayConfig.FrameFolder(path: "/tmp/frames", fps: 5))
        #expect(config.cameras.isEmpty && config.doorIO == .memory)
        #expect(config.listen == ListenAddress(host: "0.0.0.0", port: 9464))
    }

    @Test(arguments: [
        ("listen = \"0.0.0.0:9464\"", "listen = \"9464\"", "gateway.listen"),
        ("door_io = \"memory\"", "door_io = \"simulated\"", "gateway.door_io"),
        ("fps = 5", "fps = 0", "doors.front.camera.fps"),
    ])
    func aBadDaemonKeyIsNamed(good: String, bad: String, key: String) {
        do {
            _ = try GatewayConfig.parse(Self.base.replacingOccurrences(of: good, with: bad))
            Issue.record("\(bad) was accepted")
        } catch {
            #expect(error.key == key, "\(error)")
        }
    }

    @Test func theListenAddressReadsIPv6() {
        #expect(ListenAddress("[::1]:9464") == ListenAddress(host: "::1", port: 9464))
        #expect(ListenAddress("[::1]:9464")?.description == "[::1]:9464")
        #expect(ListenAddress("host:70000") == nil)
    }
}

@Suite struct HQCommandToDoorTests {
    /// A door over the in-memory board, a 2 s pulse, and a clock the test moves in 10 ms steps.
    final class Door {
        var now: Duration = .zero
        let io = MemoryDoorIO(outputs: ["A/1": [.relay]], inputs: [])
        var controller: DoorController!

        init() throws {
            let config = DoorConfig(id: "A/1", relay: LineConfig(chip: "memory", line: "0"), pulseSeconds: 2)
            controller = try DoorController(
                io: io,
                doors: [config],
                clock: { [unowned self] in self.now },
                onEvent: { _, _ in }
            )
        }

        func run(to seconds: Double) throws {
            while now < .milliseconds(Int64(seconds * 1000)) {
                now += .milliseconds(10)
                try controller.step(edges: try io.wait(timeout: .zero))
            }
        }
    }

    @Test func anUnlockHoldsTheDoorForTheSecondsHQAsked() throws {
        let door = try Door()
        let command = HQCommand(
            id: "c-1",
            gateway: "gw",
            action: .unlock(door: "A/1", seconds: 6),
            issuedAt: 0,
            expiresAt: 60
        )
        let (_, _, modes) = try DoorModeSyncTests.rig(door: door, ["id": "A/1", "mode": "normal", "tz": "UTC"])
        HQCommandDispatcher(modes: modes, logger: Logger(label: "test")).carryOut(command)
        try door.run(to: 5.9)
        #expect(door.io.output(.relay, of: "A/1"), "still unlocked past the door's own 2 s pulse")
        try door.run(to: 6.1)
        #expect(!door.io.output(.relay, of: "A/1"))
    }
}

@Suite struct OfflineBoundStatusTests {
    /// A daemon over in-memory doors and a demo snapshot generated `age` seconds ago (max age 7 d).
    static func daemon(age: Double) throws -> GatewayDaemon {
        let directory = try TestPaths.temporaryDirectory()
        let config = try GatewayConfig.parse(
            """
            [gateway]
            db = "\(directory.path)/gateway.sqlite"
            device_key = "\(directory.path)/device-key.pem"
            door_io = "memory"

            [doors.front]
            id = "DEMO/FRONT"
            relay = { chip = "gpiochip0", line = 3 }
            camera = { frames = "\(directory.path)" }
            """
        )
        let store = try GatewayStore(path: config.database)
        try DemoSite(now: Date().timeIntervalSince1970 - age + 60).install(in: store)
        try store.close()
        return try GatewayDaemon(config: config, logger: Logger(label: "test"))
    }

    @Test(arguments: [(3600.0, "offline bound in 6 d"), (9 * 86400.0, "offline bound reached 2 d ago: passes denied")])
    func theStatusLineSaysHowLongUntilTheOfflineBound(age: Double, expected: String) throws {
        let daemon = try Self.daemon(age: age)
        defer { daemon.doorThread.stop() }
        #expect(daemon.status.line().contains(expected), "\(daemon.status.line())")
    }
}
