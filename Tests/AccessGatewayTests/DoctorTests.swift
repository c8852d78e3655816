import AccessGateway
import DoorDriver
import Foundation
import Glibc
import HQSync
import KeyCache
import QRCodec
import TestSupport
import Testing

/// A camera that gives a grey frame every `interval`, as a working one would.
private final class SteadyCamera: FrameSource {
    let interval: Double
    init(fps: Double) { interval = 1 / fps }

    func nextFrame() throws(QRCodecError) -> GreyImage? {
        Thread.sleep(forTimeInterval: interval)
        return GreyImage(width: 64, height: 48, fill: 128)
    }
}

/// A board of one chip, `gpiochip0`, with `count` lines; `held` maps offsets to their holders.
private func fakeChips(lines count: Int, held: [Int: String] = [:]) -> [GPIOChipInfo] {
    let lines = (0..<count).map {
        GPIOLineInfo(offset: $0, name: nil, consumer: held[$0], used: held[$0] != nil, output: false, activeLow: false)
    }
    return [GPIOChipInfo(name: "gpiochip0", label: "fake-gpio", lines: lines)]
}

@Suite struct DoctorTests {
    /// A gateway.toml in a fresh directory, its database beside it; `door` is the door section's body.
    static func site(
        door: String = """
        relay = { chip = "gpiochip0", line = 3 }
        camera = { device = "/dev/door-camera-nonexistent" }
        """,
        doorIO: String = "gpio",
        listen: String = "127.0.0.1:9464",
        extra: String = ""
    ) throws -> (config: String, directory: URL) {
        let directory = try TestPaths.temporaryDirectory()
        let text = """
            [gateway]
            db = "\(directory.path)/gateway.sqlite"
            device_key = "\(directory.path)/device-key.pem"
            listen = "\(listen)"
            door_io = "\(doorIO)"
            \(extra)

            [doors.front]
            id = "DEMO/FRONT"
            \(door)
            """
        let path = directory.appendingPathComponent("gateway.toml").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return (path, directory)
    }

    /// A healthy board by default: a synchronised clock, a free 16-line chip, a service answering 200;
    /// without `health`, the real probe asks whatever listens on the configured address.
    static func environment(
        chips: [GPIOChipInfo] = fakeChips(lines: 16),
        clockSynchronised: Bool = true,
        camera: @escaping @Sendable (CameraSettings) throws -> any FrameSource = { _ in SteadyCamera(fps: 50) },
        health: Doctor.HTTPReply? = Doctor.HTTPReply(status: 200, body: Array(#"{"ok":true,"checks":[]}"#.utf8)),
        gpioLibrary: String = "libgpiod 1.6.3 (v1 API)",
        release: ReleaseCheck.Result = .notRaspberryPi
    ) -> Doctor.Environment {
        var environment = Doctor.Environment(
            clockSynchronised: { clockSynchronised },
            gpioChips: { chips },
            gpioLibrary: { gpioLibrary },
            releaseCheck: { release },
            openCamera: camera
        )
        if let health { environment.httpGet = { _, _, _ in health } }
        return environment
    }

    static func check(_ name: String, in checks: [DoctorCheck]) throws -> DoctorCheck {
        try #require(checks.first { $0.name == name }, "no \(name) check in \(checks.map(\.name))")
    }

    static func run(_ config: String, _ environment: Doctor.Environment = environment()) async -> [DoctorCheck] {
        await Doctor(environment: environment, cameraSeconds: 0.2).run(configPath: config)
    }

    @Test func aLineBeyondTheChipFailsNamingTheKeyTheLineAndTheChipsSize() async throws {
        let (config, _) = try Self.site(
            door: """
                relay = { chip = "gpiochip0", line = 99 }
                camera = { device = "/dev/null" }
                """
        )
        let gpio = try Self.check("gpio", in: await Self.run(config, Self.environment(chips: fakeChips(lines: 8))))
        #expect(gpio.status == .fail)
        #expect(gpio.detail.contains("doors.front.relay"), "\(gpio.detail)")
        #expect(gpio.detail.contains("gpiochip0 has no line 99") && gpio.detail.contains("8 lines"), "\(gpio.detail)")
        #expect(gpio.fix?.contains("below 8") == true)
    }

    @Test func aMissingCameraFailsNamingTheDevice() async throws {
        let (config, _) = try Self.site()
        let camera = try Self.check(
            "camera",
            in: await Self.run(config, Self.environment(camera: { try V4L2Camera($0) }))
        )
        #expect(camera.status == .fail)
        #expect(camera.detail.contains("cannot open /dev/door-camera-nonexistent: no such device"), "\(camera.detail)")
        #expect(camera.fix?.contains("udevadm info") == true && camera.fix?.contains("camera list") == true)
    }

    @Test func anUntrustedClockFailsWithTheTimedatectlFix() async throws {
        let (config, _) = try Self.site()
        let checks = await Self.run(config, Self.environment(clockSynchronised: false))
        let clock = try Self.check("clock", in: checks)
        #expect(clock.status == .fail)
        #expect(
            clock.fix?.contains("timedatectl set-ntp true") == true && clock.fix?.contains("clock_untrusted") == true
        )
        #expect(!DoctorReport(checks: checks).ok)
    }

    /// A clock stepped back past the store's floor fails the check, though the kernel reports sync.
    @Test func aClockBelowItsFloorFailsThoughTheKernelReportsSync() async throws {
        let (config, directory) = try Self.site()
        let store = try GatewayStore(path: directory.appendingPathComponent("gateway.sqlite").path)
        let dayAhead = Int(Date().timeIntervalSince1970) + 86400
        try store.setStateValues([ClockFloor.stateKey: String(dayAhead)])
        try store.close()
        let clock = try Self.check("clock", in: await Self.run(config, Self.environment(clockSynchronised: true)))
        #expect(clock.status == .fail)
        #expect(clock.detail.contains("behind the newest time it trusted") && clock.detail.contains("stepped back"), "\(clock.detail)")
        #expect(clock.fix?.contains("clock_untrusted") == true)
        // Within the tolerance of the floor, the kernel's word stands.
        #expect(Doctor(environment: Self.environment()).checkClock(floor: Date().timeIntervalSince1970 + 30).status == .ok)
    }

    @Test func aBadConfigNamesItsKeyAndSkipsWhatNeedsIt() async throws {
        let (config, _) = try Self.site(extra: #"on_stale = "maybe""#)
        let checks = await Self.run(config)
        let first = try Self.check("config", in: checks)
        #expect(first.status == .fail && first.detail.contains("gateway.on_stale"), "\(first.detail)")
        #expect(first.detail.hasSuffix("on_stale = \"maybe\"; allowed: \"grant\" or \"deny\""), "\(first.detail)")
        #expect(first.fix?.hasPrefix("correct gateway.on_stale, then `access-gateway --config") == true)
        #expect(try Self.check("gpio", in: checks).fix == "fix the config first")
        // The clock needs no config, so it is still checked.
        #expect(try Self.check("clock", in: checks).status == .ok)
    }

    @Test func aMissingConfigFileIsItsOwnFailure() async throws {
        let checks = await Self.run("/nonexistent/gateway.toml")
        let config = try Self.check("config", in: checks)
        #expect(config.status == .fail && config.detail == "/nonexistent/gateway.toml: no such file")
    }

    @Test func aHealthyMemorySetupPassesTheStoreChecks() async throws {
        let frames = try TestPaths.temporaryDirectory()
        try Data(PGM.encode(GreyImage(width: 64, height: 48, fill: 200))).write(
            to: frames.appendingPathComponent("1.pgm")
        )
        let (config, directory) = try Self.site(
            door: """
                relay = { chip = "gpiochip0", line = 3 }
                camera = { frames = "\(frames.path)" }
                """,
            doorIO: "memory"
        )
        let site = DemoSite()
        let store = try GatewayStore(path: directory.appendingPathComponent("gateway.sqlite").path)
        try site.install(in: store)
        try store.appendAudit(
            AuditEntry(tsMs: 1, door: site.door, kind: "test", granted: true, reason: "granted", detail: [:])
        )

        let checks = await Self.run(config)
        for name in ["config", "camera", "clock", "snapshot", "database", "service"] {
            let check = try Self.check(name, in: checks)
            #expect(check.status == .ok, "\(name): \(check.detail)")
        }
        #expect(try Self.check("database", in: checks).detail.contains("audit chain intact (1 events)"))
        #expect(try Self.check("gpio", in: checks).detail == "door_io is memory: no door is driven")
        #expect(try Self.check("hq", in: checks).status == .warn)
        #expect(
            checks.map(\.name).filter { $0 != "disk" } == [
                "config", "camera", "gpio", "clock", "hq", "snapshot", "database", "service",
            ]
        )
    }

    @Test func anAlteredAuditEventFailsTheDatabaseCheckNamingItsSeq() async throws {
        let (config, directory) = try Self.site()
        let store = try GatewayStore(path: directory.appendingPathComponent("gateway.sqlite").path)
        for ms in 1...3 {
            try store.appendAudit(
                AuditEntry(tsMs: Int64(ms), door: "DEMO/FRONT", kind: "scan", granted: false, reason: "expired")
            )
        }
        // As a person editing the file would.
        let edit = try runTool("sqlite3", [store.path, "UPDATE audit_events SET granted = 1 WHERE seq = 2"])
        try #require(edit.status == 0, "\(edit.stderr)")
        let database = try Self.check("database", in: await Self.run(config))
        #expect(database.status == .fail && database.detail.contains("breaks at seq 2"), "\(database.detail)")
        #expect(database.fix?.contains("log verify") == true)
    }

    @Test func aStoreWithoutSnapshotFails() async throws {
        let (config, directory) = try Self.site()
        _ = try GatewayStore(path: directory.appendingPathComponent("gateway.sqlite").path)
        let snapshot = try Self.check("snapshot", in: await Self.run(config))
        #expect(snapshot.status == .fail && snapshot.fix?.contains("snapshot import FILE") == true)
    }

    /// How long the board can go on without HQ before the offline bound (max_age) denies passes.
    @Test(arguments: [
        (3600.0, "", DoctorCheck.Status.ok, "offline bound in 6 d"),
        (9 * 86400.0, "", .fail, "offline bound reached 2 d ago: passes denied snapshot_stale"),
        (9 * 86400.0, #"on_stale = "grant""#, .warn, "offline bound reached 2 d ago: on_stale = grant keeps granting"),
    ])
    func theSnapshotCheckSaysHowLongUntilTheOfflineBound(
        age: Double,
        extra: String,
        status: DoctorCheck.Status,
        expected: String
    ) async throws {
        let (config, directory) = try Self.site(extra: extra)
        let store = try GatewayStore(path: directory.appendingPathComponent("gateway.sqlite").path)
        try DemoSite(now: Date().timeIntervalSince1970 - age + 60).install(in: store)
        let snapshot = try Self.check("snapshot", in: await Self.run(config))
        #expect(snapshot.status == status && snapshot.detail.contains(expected), "\(snapshot.detail)")
    }

    /// What GatewaySync records when HQ's document is refused: the board says so until one applies.
    @Test func aRefusedSnapshotDocumentFailsTheSnapshotCheck() async throws {
        let (config, directory) = try Self.site()
        let store = try GatewayStore(path: directory.appendingPathComponent("gateway.sqlite").path)
        try DemoSite().install(in: store)
        try store.setStateValues([.snapshotRefused: "1800000000 transfer limit chunks is 0, HQ sent 1: …"])
        let snapshot = try Self.check("snapshot", in: await Self.run(config))
        #expect(snapshot.status == .fail, "\(snapshot.detail)")
        #expect(snapshot.detail.contains("refused") && snapshot.detail.contains("transfer limit chunks"))
        try store.setStateValues([.snapshotRefused: ""])
        #expect(try Self.check("snapshot", in: await Self.run(config)).detail.contains("refused") == false)
    }

    @Test func aServiceThatIsNotRunningFails() async throws {
        // A port listened on a moment ago: nothing listens there now.
        let port = try LoopbackListener().port
        let (config, _) = try Self.site(
            door: """
                relay = { chip = "gpiochip0", line = 3 }
                camera = { device = "/dev/null" }
                """,
            listen: "127.0.0.1:\(port)"
        )
        let service = try Self.check("service", in: await Self.run(config, Self.environment(health: nil)))
        #expect(service.status == .fail && service.detail.contains("not running"), "\(service.detail)")
        #expect(service.fix == "systemctl status access-gateway; journalctl -u access-gateway")
    }

    /// The real probe against a real socket: a chunked 503 is read whole, and its failing checks named.
    @Test func theProbeReadsAChunkedAnswerOffARealSocket() async throws {
        let listener = try LoopbackListener()
        let body = #"{"ok":false,"checks":[{"name":"camera","ok":false,"detail":"no frame in 2 s"}]}"#
        let chunks = [body.prefix(20), body.dropFirst(20)].map { String($0.utf8.count, radix: 16) + "\r\n\($0)\r\n" }
        listener.answerOnce(
            "HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                + chunks.joined() + "0\r\n\r\n"
        )
        let (config, _) = try Self.site(listen: "127.0.0.1:\(listener.port)")
        let service = try Self.check("service", in: await Self.run(config, Self.environment(health: nil)))
        #expect(service.status == .fail && service.detail == "running but unhealthy: camera: no frame in 2 s")
    }

    /// A port that takes the connection but never answers is no answer, not a service that is not
    /// running: refused is told by the connection's error, not by any failure.
    @Test func aListenerThatNeverAnswersIsNotRefused() async throws {
        let listener = try LoopbackListener()
        // Off the cooperative pool, which process-spawning tests may hold. The bound shows that the
        // probe gives up rather than hangs, not how fast: a loaded 2-core runner took 19 s.
        try await offThePool {
            let started = ContinuousClock.now
            let error = await #expect(throws: Doctor.ProbeError.self) {
                try await Doctor.plainGet(host: "127.0.0.1", port: listener.port, path: "/healthz", timeout: 0.3)
            }
            #expect(error != nil && error != .refused, "\(String(describing: error))")
            #expect(ContinuousClock.now - started < .seconds(90))
        }
    }

    @Test func anUnhealthyServiceNamesItsFailingChecks() async throws {
        let (config, _) = try Self.site()
        let body =
            #"{"ok":false,"checks":[{"name":"camera","ok":false,"detail":"no frame in 2 s"},{"name":"db","ok":true}]}"#
        let environment = Self.environment(health: Doctor.HTTPReply(status: 503, body: Array(body.utf8)))
        let service = try Self.check("service", in: await Self.run(config, environment))
        #expect(service.status == .fail && service.detail == "running but unhealthy: camera: no frame in 2 s")
    }

    @Test func aWorkingCameraReportsItsFrameRate() async throws {
        let (config, _) = try Self.site(
            door: """
                relay = { chip = "gpiochip0", line = 3 }
                camera = { device = "/dev/null", fps = 30 }
                """
        )
        let camera = try Self.check("camera", in: await Self.run(config))
        #expect(camera.status == .ok && camera.detail.contains("(asked 30"), "\(camera.detail)")
    }

    /// A busy camera is only a warning while the service runs, and a failure naming the other
    /// user when it does not. Busy is the error's EBUSY: a message that merely says "busy" is a
    /// camera that cannot be opened.
    @Test(arguments: [
        (
            QRCodecError.camera(device: "/dev/null", "cannot start capture: Device or resource busy", errno: EBUSY),
            true, DoctorCheck.Status.warn, "DEMO/FRONT: /dev/null is in use (by the running service?)"
        ),
        (
            .camera(device: "/dev/null", "cannot start capture: Device or resource busy", errno: EBUSY),
            false, .fail, "DEMO/FRONT: /dev/null is busy, and the service is not running: camera /dev/null"
        ),
        (
            .camera(device: "/dev/null", "cannot start capture: Device or resource busy", errno: EIO),
            true, .fail, "DEMO/FRONT: cannot open /dev/null: camera /dev/null: cannot start capture: Device"
        ),
        (
            .camera(device: "/dev/null", "the busy light is lit"),
            true, .fail, "DEMO/FRONT: cannot open /dev/null: camera /dev/null: the busy light"
        ),
        (.badParameter("camera busy"), false, .fail, "DEMO/FRONT: cannot open /dev/null: camera busy"),
    ])
    func aCameraIsBusyByItsErrnoNotItsWords(
        error: QRCodecError,
        serviceRunning: Bool,
        status: DoctorCheck.Status,
        detail: String
    ) async throws {
        let (config, _) = try Self.site(
            door: """
                relay = { chip = "gpiochip0", line = 3 }
                camera = { device = "/dev/null" }
                """
        )
        var environment = Self.environment(camera: { _ in throw error })
        if !serviceRunning {
            environment.httpGet = { _, _, _ throws(Doctor.ProbeError) in throw .refused }
        }
        let camera = try Self.check("camera", in: await Self.run(config, environment))
        #expect(camera.status == status && camera.detail.hasPrefix(detail), "\(camera.detail)")
    }

    @Test func aLineHeldByAnotherProgramNamesItsHolder() async throws {
        let (config, _) = try Self.site(
            door: """
                relay = { chip = "gpiochip0", line = 3 }
                rex = { chip = "gpiochip0", line = 4 }
                camera = { device = "/dev/null" }
                """
        )
        let chips = fakeChips(lines: 8, held: [3: "access-gateway", 4: "sysfs"])
        let gpio = try Self.check("gpio", in: await Self.run(config, Self.environment(chips: chips)))
        #expect(gpio.status == .fail)
        // The service's own hold on the relay is fine; the REX line held by sysfs is not.
        #expect(gpio.detail == "doors.front.rex: gpiochip0 line 4 is held by \"sysfs\"", "\(gpio.detail)")
    }

    @Test(arguments: ["libgpiod 1.6.3 (v1 API)", "libgpiod 2.2.1 (v2 API)"])
    func aHealthyGPIOCheckNamesTheLibgpiodVersionAndAPI(library: String) async throws {
        let (config, _) = try Self.site()
        let gpio = try Self.check("gpio", in: await Self.run(config, Self.environment(gpioLibrary: library)))
        #expect(gpio.status == .ok)
        #expect(gpio.detail.contains("; \(library); "), "\(gpio.detail)")
    }

    /// A Raspberry Pi kernel that keeps a dead daemon's outputs driven fails the GPIO check with
    /// the `dtparam=strict_gpiod` fix; one that releases them passes.
    @Test(arguments: [
        (ReleaseCheck.Result.notRaspberryPi, DoctorCheck.Status.ok),
        (.strict("pinctrl_rp1.persist_gpio_outputs=N"), .ok),
        (.persistsOutputs("pinctrl_rp1.persist_gpio_outputs=Y"), .fail),
        (.unknown("no pinctrl_rp1 or pinctrl_bcm2835 parameters on Raspberry Pi 5"), .fail),
    ])
    func theGPIOCheckFailsOnAKernelThatKeepsReleasedOutputsDriven(
        release: ReleaseCheck.Result,
        status: DoctorCheck.Status
    ) async throws {
        let (config, _) = try Self.site()
        let gpio = try Self.check("gpio", in: await Self.run(config, Self.environment(release: release)))
        #expect(gpio.status == status, "\(gpio.detail)")
        #expect(gpio.detail.contains(release.advice), "\(gpio.detail)")
        if status == .fail { #expect(gpio.fix?.contains("dtparam=strict_gpiod") == true, "\(gpio.fix ?? "")") }
    }
}

/// A listening loopback socket on a free port; closed when released, and then nothing listens there.
private final class LoopbackListener: Sendable {
    let fd: Int32
    let port: Int

    init() throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        // The closure may not capture self before every property is set.
        let fd = fd
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 && listen(fd, 4) == 0
            }
        }
        if !bound { close(fd) }
        try #require(bound)
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }

    /// Answers the first connection with `answer` once its request head has come, then closes it.
    func answerOnce(_ answer: String) {
        Thread.detachNewThread { [fd] in
            let client = accept(fd, nil, nil)
            guard client >= 0 else { return }
            defer { close(client) }
            var request: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 1024)
            while !String(decoding: request, as: UTF8.self).contains("\r\n\r\n") {
                let count = recv(client, &buffer, buffer.count, 0)
                guard count > 0 else { return }
                request += buffer[..<count]
            }
            _ = Array(answer.utf8).withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
    }
}
