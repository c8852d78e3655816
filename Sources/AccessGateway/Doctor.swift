import DoorDriver
import Foundation
import Glibc
import HQProtocol
import HQSync
import KeyCache
import QRCodec

/// One finding of `gatewayctl doctor`: what was checked, how it went, and what to do about it.
public struct DoctorCheck: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable {
        case ok, warn, fail
    }

    /// The item checked: config, camera, gpio, clock, hq, snapshot, disk, database or service.
    public var name: String
    public var status: Status
    /// What was found, naming the key, device, line or file concerned.
    public var detail: String
    /// What to do about a warning or failure.
    public var fix: String?

    public init(name: String, status: Status, detail: String, fix: String? = nil) {
        self.name = name
        self.status = status
        self.detail = detail
        self.fix = fix
    }

    static func ok(_ name: String, _ detail: String) -> DoctorCheck {
        DoctorCheck(name: name, status: .ok, detail: detail)
    }

    static func warn(_ name: String, _ detail: String, fix: String) -> DoctorCheck {
        DoctorCheck(name: name, status: .warn, detail: detail, fix: fix)
    }

    static func fail(_ name: String, _ detail: String, fix: String) -> DoctorCheck {
        DoctorCheck(name: name, status: .fail, detail: detail, fix: fix)
    }
}

/// What `gatewayctl doctor --json` prints.
public struct DoctorReport: Sendable, Codable, Equatable {
    /// True when no check failed (warnings allowed).
    public var ok: Bool
    public var checks: [DoctorCheck]

    public init(checks: [DoctorCheck]) {
        self.checks = checks
        ok = !checks.contains { $0.status == .fail }
    }
}

/// `gatewayctl doctor`: checks an installation end to end, each problem with a precise fix.
///
/// Everything it touches outside the configuration file and the database comes through
/// ``Environment``, so tests can hand it a wrong line, a missing camera or an untrusted clock.
public struct Doctor: Sendable {
    /// An HTTP answer: the status code and the body.
    public struct HTTPReply: Sendable {
        public var status: Int
        public var body: [UInt8]

        public init(status: Int, body: [UInt8]) {
            self.status = status
            self.body = body
        }
    }

    /// Why an HTTP probe got no answer.
    public enum ProbeError: Error, Sendable, Equatable {
        /// Nothing listens there.
        case refused
        /// Anything else: resolution, timeout, a reset, an unreadable answer.
        case failed(String)
    }

    /// The world outside the configuration and the database.
    public struct Environment: Sendable {
        public var clockSynchronised: @Sendable () -> Bool
        public var gpioChips: @Sendable () -> [GPIOChipInfo]
        /// The libgpiod in use, version and API ("libgpiod 2.2.1 (v2 API)").
        public var gpioLibrary: @Sendable () -> String
        /// Whether the kernel drops a dead process's outputs (a Raspberry Pi's `strict_gpiod`).
        public var releaseCheck: @Sendable () -> ReleaseCheck.Result
        public var openCamera: @Sendable (CameraSettings) throws -> any FrameSource
        /// A GET of `path` at `host:port`, plain HTTP, with a short timeout.
        public var httpGet: @Sendable (_ host: String, _ port: Int, _ path: String) throws(ProbeError) -> HTTPReply
        public var now: @Sendable () -> Double

        /// The real board: adjtimex, libgpiod, V4L2 through zbar, a socket, the wall clock.
        public init(
            clockSynchronised: @escaping @Sendable () -> Bool = ClockTrust.kernelSynchronisedOrTestOverride,
            gpioChips: @escaping @Sendable () -> [GPIOChipInfo] = GPIOInventory.scan,
            gpioLibrary: @escaping @Sendable () -> String = { LibGPIOD.description },
            releaseCheck: @escaping @Sendable () -> ReleaseCheck.Result = { ReleaseCheck.run() },
            openCamera: @escaping @Sendable (CameraSettings) throws -> any FrameSource = { try V4L2Camera($0) },
            httpGet: @escaping @Sendable (String, Int, String) throws(ProbeError) -> HTTPReply = {
                (host, port, path) throws(ProbeError) in try Doctor.plainGet(host: host, port: port, path: path)
            },
            now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
        ) {
            self.clockSynchronised = clockSynchronised
            self.gpioChips = gpioChips
            self.gpioLibrary = gpioLibrary
            self.releaseCheck = releaseCheck
            self.openCamera = openCamera
            self.httpGet = httpGet
            self.now = now
        }
    }

    public var environment: Environment
    /// How long each camera is read to measure its frame rate.
    public var cameraSeconds: Double

    public init(environment: Environment = Environment(), cameraSeconds: Double = 2) {
        self.environment = environment
        self.cameraSeconds = cameraSeconds
    }

    /// The consumer label the service's lines carry (`GPIODoorIO`'s default).
    static let serviceConsumer = "access-gateway"
    static let configFirst = "fix the config first"

    /// Runs every check, in the order an installer fixes things: config, cameras, GPIO, clock, HQ,
    /// snapshot, disk, database, the service. A bad config skips the checks that need it.
    public func run(configPath: String) async -> [DoctorCheck] {
        let (configCheck, loaded) = checkConfig(path: configPath)
        guard let config = loaded else {
            let skipped = ["camera", "gpio", "hq", "snapshot", "disk", "database", "service"].map {
                DoctorCheck.fail($0, "not checked: the config is not valid", fix: Self.configFirst)
            }
            return [configCheck] + skipped.prefix(2) + [checkClock()] + skipped.dropFirst(2)
        }
        // The service's health first: a camera it holds is busy, and that is no fault.
        let service = checkService(config)
        let cameras = checkCameras(config, serviceRunning: service.status == .ok)
        let opening = openStore(config)
        var floor: Double?
        if case .opened(let store) = opening { floor = ClockFloor.stored(in: store) }
        var checks = [configCheck] + cameras + [checkGPIO(config), checkClock(floor: floor)]
        switch opening {
        case .opened(let store):
            checks += [await checkHQ(config, store), checkSnapshot(config, store), checkDisk(config)]
            checks.append(checkDatabase(store))
        case .failed(let problem):
            checks += ["hq", "snapshot"].map {
                DoctorCheck.fail($0, "not checked: the database cannot be opened", fix: "fix the database first")
            }
            checks += [checkDisk(config), problem]
        }
        checks.append(service)
        return checks
    }

    enum StoreOpening {
        case opened(GatewayStore)
        case failed(DoctorCheck)
    }

    /// The store, or the database check's failure: a missing directory and a missing file differ.
    func openStore(_ config: GatewayConfig) -> StoreOpening {
        let directory = URL(fileURLWithPath: config.database).deletingLastPathComponent().path
        let fix: String
        if !FileManager.default.fileExists(atPath: directory) {
            fix = "create \(directory), owned by the service's user (the package does), or correct gateway.db"
        } else if !FileManager.default.fileExists(atPath: config.database) {
            fix =
                "provision (`\(Self.ctl(config))provision --hq URL --code CODE`), "
                + "or `\(Self.ctl(config))snapshot import FILE`"
        } else {
            fix = "check the file's owner and mode: run doctor as the service's user or as root"
        }
        do { return .opened(try GatewayStore(path: config.database, create: false)) } catch {
            return .failed(.fail("database", "\(error)", fix: fix))
        }
    }

    /// `gatewayctl ` with `--db` when the database is not the default one.
    static func ctl(_ config: GatewayConfig) -> String {
        config.database == GatewayStore.defaultPath ? "gatewayctl " : "gatewayctl --db \(config.database) "
    }

    // MARK: - Config

    /// Reads and parses the file; a missing file and each bad key are their own failures.
    public func checkConfig(path: String) -> (DoctorCheck, GatewayConfig?) {
        guard FileManager.default.fileExists(atPath: path) else {
            return (
                .fail(
                    "config",
                    "\(path): no such file",
                    fix: "copy systemd/gateway.example.toml to \(path) and edit it, or give --config PATH"
                ), nil
            )
        }
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            return (
                .fail(
                    "config",
                    "cannot read \(path): \((error as NSError).localizedDescription)",
                    fix: "run doctor as root or as a member of the access-gateway group"
                ), nil
            )
        }
        do {
            let config = try GatewayConfig.parse(text)
            let doors = config.board.doors.count
            return (
                .ok(
                    "config",
                    "\(path): \(doors) door\(doors == 1 ? "" : "s"), door_io \(config.doorIO.rawValue), "
                        + "database \(config.database)"
                ), config
            )
        } catch {
            return (
                .fail(
                    "config",
                    "\(path): \(error)",
                    fix: "correct \(error.key), then `access-gateway --config \(path) --check`"
                ), nil
            )
        }
    }

    // MARK: - Cameras

    /// One check per door: a camera is opened and read for ``cameraSeconds``; a frame folder must
    /// hold PGM frames.
    public func checkCameras(_ config: GatewayConfig, serviceRunning: Bool) -> [DoctorCheck] {
        let folders = config.frameFolders.sorted { $0.key < $1.key }.map { door, folder in
            checkFrameFolder(door: door, folder)
        }
        return config.cameras.sorted { $0.key < $1.key }.map { door, settings in
            checkCamera(door: door, settings, serviceRunning: serviceRunning)
        } + folders
    }

    func checkCamera(door: String, _ settings: CameraSettings, serviceRunning: Bool) -> DoctorCheck {
        let device = settings.device
        let cableFix =
            "check the camera's cable, then `udevadm info \(device)` (or /dev/videoN) and "
            + "udev/70-access-gateway.rules; `gatewayctl camera list` shows the capture devices"
        guard FileManager.default.fileExists(atPath: device) else {
            return .fail("camera", "\(door): cannot open \(device): no such device", fix: cableFix)
        }
        let source: any FrameSource
        do { source = try environment.openCamera(settings) } catch {
            let why = "\(error)"
            if why.localizedCaseInsensitiveContains("busy") {
                guard serviceRunning else {
                    return .fail(
                        "camera",
                        "\(door): \(device) is busy, and the service is not running: \(why)",
                        fix: "find the other user with `fuser -v \(device)` and stop it"
                    )
                }
                return .warn(
                    "camera",
                    "\(door): \(device) is in use (by the running service?)",
                    fix: "to test it here, `systemctl stop access-gateway` first, then `gatewayctl camera test`"
                )
            }
            return .fail(
                "camera",
                "\(door): cannot open \(device): \(why)",
                fix: cableFix + "; check its format, size and controls against `gatewayctl camera list`"
            )
        }
        // The driver may round the rate asked for; frames are due at the rate it set.
        let granted = (source as? V4L2Camera)?.fps ?? settings.fps
        let measured: (frames: Int, fps: Double)
        do { measured = try Self.measure(source, seconds: cameraSeconds) } catch {
            return .fail(
                "camera",
                "\(door): \(device) opened, but frames do not arrive: \(error)",
                fix: "replug the camera or try another USB port; `dmesg | tail` shows driver errors"
            )
        }
        let rate =
            String(format: "%.1f fps, %d frames (asked %g", measured.fps, measured.frames, settings.fps)
            + (granted == settings.fps ? ")" : String(format: ", the driver set %g)", granted))
        // Low light makes auto exposure stretch frames; below half the rate, passes read slowly.
        guard measured.frames > 1, measured.fps >= granted / 2 else {
            return .warn(
                "camera",
                "\(door): \(device) is slow: \(rate)",
                fix: "add light or fix the exposure (camera controls), check USB bandwidth; `gatewayctl camera test`"
            )
        }
        return .ok("camera", "\(door): \(device) \(rate)")
    }

    /// Frames read and the rate between the first and the last, over about `seconds`.
    static func measure(_ source: any FrameSource, seconds: Double) throws -> (frames: Int, fps: Double) {
        guard try source.nextFrame() != nil else { throw QRCodecError.badParameter("the camera ended") }
        let clock = ContinuousClock()
        let start = clock.now
        var frames = 1
        var last = start
        let window = Duration.milliseconds(Int64(seconds * 1000))
        while clock.now - start < window, try source.nextFrame() != nil {
            frames += 1
            last = clock.now
        }
        let elapsed = last - start
        let span = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return (frames, span > 0 ? Double(frames - 1) / span : 0)
    }

    func checkFrameFolder(door: String, _ folder: GatewayConfig.FrameFolder) -> DoctorCheck {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        let frames = names.filter { $0.hasSuffix(".pgm") }.count
        guard frames > 0 else {
            return .fail(
                "camera",
                "\(door): no .pgm frames in \(folder.path)",
                fix: "put PGM frames in \(folder.path) (`gatewayctl qr encode --pgm FILE TEXT`), or configure a camera"
            )
        }
        return .ok("camera", "\(door): \(frames) frames from \(folder.path) at \(Int(folder.fps)) fps")
    }

    // MARK: - GPIO

    /// Every configured line must exist on its chip and be free, or held by the service itself.
    public func checkGPIO(_ config: GatewayConfig) -> DoctorCheck {
        guard config.doorIO == .gpio else {
            return .warn(
                "gpio",
                "door_io is memory: no door is driven",
                fix: "set door_io = \"gpio\" under [gateway] to drive the board's doors"
            )
        }
        let chips = environment.gpioChips()
        var lines: [(key: String, line: LineConfig)] = []
        for (name, door) in config.board.doors.sorted(by: { $0.key < $1.key }) {
            let roles: [(String, LineConfig?)] = [
                ("relay", door.relay), ("dps", door.dps), ("rex", door.rex), ("tamper", door.tamper),
                ("green", door.green), ("red", door.red), ("buzzer", door.buzzer),
            ]
            lines += roles.compactMap { role, line in line.map { ("doors.\(name).\(role)", $0) } }
        }
        if let fire = config.board.fireAlarm { lines.append(("fire_alarm", fire)) }
        guard !chips.isEmpty else {
            return .fail(
                "gpio",
                "this machine has no GPIO chips, and \(lines.count) lines are configured",
                fix: "check the board's GPIO driver (`ls /dev/gpiochip*`); "
                    + "without door hardware, set door_io = \"memory\" under [gateway]"
            )
        }
        var problems: [String] = []
        var fixes: [String] = []
        var missingChips: [String: [String]] = [:]
        var held = 0
        for (key, wanted) in lines {
            guard let chip = Self.chip(wanted.chip, in: chips) else {
                missingChips[wanted.chip, default: []].append(key)
                continue
            }
            let found: GPIOLineInfo?
            if let offset = Int(wanted.line) {
                guard offset >= 0, offset < chip.lines.count else {
                    problems.append(
                        "\(key): \(chip.name) has no line \(offset): it has \(chip.lines.count) lines "
                            + "(0–\(chip.lines.count - 1))"
                    )
                    fixes.append("set \(key).line to an offset below \(chip.lines.count), as wired")
                    continue
                }
                found = chip.lines.first { $0.offset == offset }
            } else {
                found = chip.lines.first { $0.name == wanted.line }
            }
            guard let line = found else {
                problems.append("\(key): \(chip.name) has no line named \"\(wanted.line)\"")
                fixes.append("use a line name or offset that `gatewayctl door info` shows")
                continue
            }
            guard line.used else { continue }
            if line.consumer == Self.serviceConsumer {
                held += 1
                continue
            }
            problems.append(
                "\(key): \(chip.name) line \(line.offset) is held by "
                    + (line.consumer.map { "\"\($0)\"" } ?? "another process or the kernel (no label)")
            )
            fixes.append(
                "stop what holds \(chip.name) line \(line.offset) (`gpioinfo \(chip.name)`), or free it in "
                    + "the device tree (a Pi's /boot/firmware/config.txt overlays), or wire another line"
            )
        }
        // A wrong chip name is one mistake, however many lines repeat it.
        for (spec, keys) in missingChips.sorted(by: { $0.key < $1.key }) {
            let known = chips.map { "\($0.name) [\($0.label), \($0.lines.count) lines]" }
            problems.insert(
                "\(keys.joined(separator: ", ")): no GPIO chip \"\(spec)\"; the board has \(known.joined(separator: ", "))",
                at: 0
            )
            fixes.insert("name a chip that `gatewayctl door info` lists (a name, /dev path, label or number)", at: 0)
        }
        // A kernel that keeps a dead daemon's relay energised defeats fail-secure wiring.
        let release = environment.releaseCheck()
        if !release.isSafe {
            problems.append(release.advice)
            fixes.append("add dtparam=strict_gpiod to /boot/firmware/config.txt and reboot (docs/install.md)")
        }
        guard problems.isEmpty else {
            var seen = Set<String>()
            return .fail(
                "gpio",
                problems.joined(separator: "; "),
                fix: fixes.filter { seen.insert($0).inserted }.joined(separator: "; ")
            )
        }
        return .ok(
            "gpio",
            "\(lines.count) lines found" + (held > 0 ? ", \(held) held by the service" : ", all free")
                + "; \(environment.gpioLibrary()); \(release.advice)"
        )
    }

    /// The chip a spec names, as `gpiod_chip_open_lookup` finds it: a number, a path, a name or a label.
    static func chip(_ spec: String, in chips: [GPIOChipInfo]) -> GPIOChipInfo? {
        if let number = Int(spec) { return chips.first { $0.name == "gpiochip\(number)" } }
        let name = spec.hasPrefix("/dev/") ? String(spec.dropFirst(5)) : spec
        return chips.first { $0.name == name } ?? chips.first { $0.label == spec }
    }

    // MARK: - Clock

    /// `floor` is the store's ``ClockFloor``: a clock below it (less the tolerance) was stepped back,
    /// and the gateway refuses time-based grants whatever the kernel says.
    public func checkClock(floor: Double? = nil) -> DoctorCheck {
        if let floor, case let behind = floor - environment.now(), behind > ClockTrust.defaultFloorTolerance {
            return .fail(
                "clock",
                "the clock is \(Int(behind)) s behind the newest time it trusted (\(Int(floor))): it was stepped back",
                fix: "find what set it back (an NTP server on the LAN, the RTC) and set it right (`timedatectl`); "
                    + "until then every time-based grant is refused clock_untrusted, and each step back is in the audit log"
            )
        }
        guard environment.clockSynchronised() else {
            return .fail(
                "clock",
                "the kernel does not report the clock synchronised",
                fix: "enable systemd-timesyncd or chrony (`timedatectl set-ntp true`), check `timedatectl`; "
                    + "until then every time-based grant is refused clock_untrusted"
            )
        }
        return .ok("clock", "the kernel reports the clock synchronised")
    }

    // MARK: - HQ

    /// One cheap signed request: the snapshot, conditional on the one held, so HQ answers 304.
    public func checkHQ(_ config: GatewayConfig, _ store: GatewayStore) async -> DoctorCheck {
        let enrolment: EnrolmentRecord
        do {
            guard let stored = try EnrolmentRecord.load(from: store) else {
                return .warn(
                    "hq",
                    "not enrolled with HQ: this gateway decides on imported snapshots only",
                    fix: "\(Self.ctl(config))provision --hq URL --code CODE"
                )
            }
            enrolment = stored
        } catch {
            return .fail("hq", "\(error)", fix: "see the database check")
        }
        let reprovision = "ask HQ for a new code, then `\(Self.ctl(config))provision --hq \(enrolment.hq) --code CODE`"
        if (try? store.stateValues(["hq_revoked"]))?["hq_revoked"] == "1" {
            return .fail("hq", "HQ revoked this gateway (\(enrolment.gatewayID)); it decides offline", fix: reprovision)
        }
        do throws(HQSyncError) {
            let identity = try DeviceIdentity.load(path: config.deviceKey, create: false)
            let client = HQClient(location: enrolment.hq, identity: identity, timeout: .seconds(10))
            let token = try identity.token(
                subject: enrolment.gatewayID,
                audience: enrolment.issuer,
                now: environment.now()
            )
            let seq: Int64?
            let etag: String?
            do {
                seq = try store.snapshotInfo()?.seq
                etag = try store.stateValues(["snapshot_etag"])["snapshot_etag"]
            } catch { throw HQSyncError.store("\(error)") }
            let reply = try await client.snapshot(token: token, since: seq, etag: seq == nil ? nil : etag)
            let news = reply == .unchanged ? "snapshot unchanged" : "a newer snapshot is waiting for the next sync"
            return .ok("hq", "\(enrolment.hq) answered as \(enrolment.gatewayID): \(news)")
        } catch {
            let fix: String
            switch error {
            case .deviceKey:
                fix =
                    "check gateway.device_key (\(config.deviceKey)): mode 0600, owned by the service; or " + reprovision
            case .unreachable:
                fix = "check the network, DNS and firewall towards \(enrolment.hq) (`curl -sI \(enrolment.hq)`)"
            case .tls:
                fix = "check the board's clock, its CA certificates (`ca-certificates`) and the HQ URL's host name"
            case .unauthorised, .revoked: fix = "HQ no longer accepts this gateway's key: " + reprovision
            default: fix = "`\(Self.ctl(config))sync now` shows the whole exchange"
            }
            return .fail("hq", "\(error)", fix: fix)
        }
    }

    // MARK: - Snapshot

    public func checkSnapshot(_ config: GatewayConfig, _ store: GatewayStore) -> DoctorCheck {
        let info: SnapshotInfo?
        do { info = try store.snapshotInfo() } catch {
            return .fail("snapshot", "\(error)", fix: "see the database check")
        }
        guard let info else {
            return .fail(
                "snapshot",
                "no snapshot: every pass is refused",
                fix: "provision, or `\(Self.ctl(config))snapshot import FILE`"
            )
        }
        // A refused document leaves the board on an older seq than HQ's: never quietly.
        if let refused = try? store.stateValues(["snapshot_refused"])["snapshot_refused"], !refused.isEmpty {
            return .fail(
                "snapshot",
                "HQ's last snapshot document was refused (at \(refused)); this board stays on seq \(info.seq)",
                fix: "fix what the refusal names (docs/hq-protocol.md, Limits), then `\(Self.ctl(config))sync now`"
            )
        }
        let now = environment.now()
        let summary =
            "seq \(info.seq) from \(info.issuer), \(Self.age(info.age(now: now))) old "
            + "(max age \(Self.age(Double(info.maxAge)))), \(info.doors) doors, \(info.members) members"
        let bound = Self.offlineBound(info, now: now, policy: config.stalePolicy)
        guard info.isStale(now: now) else { return .ok("snapshot", "\(summary); \(bound)") }
        // Past max_age the doors follow on_stale: deny refuses everyone, grant keeps going.
        return DoctorCheck(
            name: "snapshot",
            status: config.stalePolicy == .deny ? .fail : .warn,
            detail: "stale: \(summary); \(bound)",
            fix: "check the hq check, then `\(Self.ctl(config))sync now`"
        )
    }

    /// How long until the offline bound (the snapshot's `max_age`) is reached, or since when it
    /// has been, and what `on_stale` then does: for `doctor` and the daemon's status line.
    static func offlineBound(_ info: SnapshotInfo, now: Double, policy: StaleSnapshotPolicy) -> String {
        let left = Double(info.maxAge) - info.age(now: now)
        if left >= 0 { return "offline bound in \(age(left))" }
        let then = policy == .deny ? "passes denied snapshot_stale" : "on_stale = grant keeps granting"
        return "offline bound reached \(age(-left)) ago: \(then)"
    }

    static func age(_ seconds: Double) -> String {
        switch seconds {
        case ..<120: return "\(Int(seconds)) s"
        case ..<7200: return "\(Int(seconds / 60)) min"
        case ..<172_800: return "\(Int(seconds / 3600)) h"
        default: return "\(Int(seconds / 86400)) d"
        }
    }

    // MARK: - Disk

    /// `statvfs` on the database's directory: below 50 MB the audit log cannot grow for long.
    public func checkDisk(_ config: GatewayConfig) -> DoctorCheck {
        let directory = URL(fileURLWithPath: config.database).deletingLastPathComponent().path
        var stats = statvfs()
        guard statvfs(directory, &stats) == 0 else {
            return .fail(
                "disk",
                "cannot read \(directory): \(String(cString: strerror(errno)))",
                fix: "create \(directory), owned by the service's user"
            )
        }
        let free = Double(stats.f_bavail) * Double(stats.f_frsize)
        let total = Double(stats.f_blocks) * Double(stats.f_frsize)
        let megabytes = 1024.0 * 1024.0
        let detail =
            "\(directory): "
            + String(
                format: "%.0f MB free of %.0f MB (%.0f %%)",
                free / megabytes,
                total / megabytes,
                total > 0 ? 100 * free / total : 0
            )
        let fix = "free space on \(directory) (`du -xsh /var/* | sort -h`, `journalctl --vacuum-size=100M`)"
        if free < 50 * megabytes { return .fail("disk", detail, fix: fix) }
        if free < 200 * megabytes || free < total * 0.05 {
            return .warn("disk", detail, fix: fix)
        }
        return .ok("disk", detail)
    }

    // MARK: - Database

    /// SQLite's own integrity check, then the audit chain, event by event.
    public func checkDatabase(_ store: GatewayStore) -> DoctorCheck {
        do {
            let integrity = try store.integrityCheck()
            guard integrity == "ok" else {
                let problems = integrity.split(separator: "\n").prefix(3).joined(separator: "; ")
                return .fail(
                    "database",
                    "\(store.path): integrity_check: \(problems)",
                    fix: "stop the service, copy the file aside, then `sqlite3 \(store.path) .recover`, "
                        + "or restore a backup"
                )
            }
            switch try store.verifyAuditChain() {
            case .intact(let events):
                return .ok("database", "\(store.path): integrity ok, audit chain intact (\(events) events)")
            case .broken(let seq, let why):
                return .fail(
                    "database",
                    "\(store.path): the audit chain breaks at seq \(seq): \(why)",
                    fix: "the log was changed outside the gateway: keep the file for investigation "
                        + "(`gatewayctl --db \(store.path) log verify`, scripts/audit_verify.py)"
                )
            }
        } catch {
            return .fail(
                "database",
                "\(store.path): \(error)",
                fix: "check the file's owner and mode; the service must be able to write it"
            )
        }
    }

    // MARK: - The service

    /// `GET /healthz` on the service's listen address: 200 when healthy, 503 with the failing checks.
    public func checkService(_ config: GatewayConfig) -> DoctorCheck {
        let logs = "systemctl status access-gateway; journalctl -u access-gateway"
        guard config.listen.port != 0 else {
            return .warn(
                "service",
                "gateway.listen is port 0: the health endpoint cannot be found",
                fix: "give gateway.listen a fixed port, like \"127.0.0.1:9464\""
            )
        }
        // A wildcard address is reached on loopback.
        let host =
            config.listen.host == "0.0.0.0" ? "127.0.0.1" : config.listen.host == "::" ? "::1" : config.listen.host
        let address = ListenAddress(host: host, port: config.listen.port)
        let reply: HTTPReply
        do throws(ProbeError) { reply = try environment.httpGet(host, config.listen.port, "/healthz") } catch {
            switch error {
            case .refused:
                return .fail("service", "the service is not running: nothing answers on \(address)", fix: logs)
            case .failed(let why):
                return .fail("service", "no answer from http://\(address)/healthz: \(why)", fix: logs)
            }
        }
        let object = (try? JSONSerialization.jsonObject(with: Data(reply.body))) as? [String: Any]
        let checks = object?["checks"] as? [[String: Any]] ?? []
        switch reply.status {
        case 200:
            return .ok("service", "running and healthy on \(address) (\(checks.count) checks)")
        case 503:
            let failing = checks.filter { $0["ok"] as? Bool == false }.map {
                "\($0["name"] as? String ?? "?"): \($0["detail"] as? String ?? "")"
            }
            return .fail(
                "service",
                "running but unhealthy: " + (failing.isEmpty ? "no check named" : failing.joined(separator: "; ")),
                fix: logs
            )
        default:
            return .fail(
                "service",
                "http://\(address)/healthz answered HTTP \(reply.status): is another program on that port?",
                fix: "check gateway.listen; `ss -ltnp` shows who listens where"
            )
        }
    }

    /// A minimal HTTP/1.1 GET over a blocking socket with a 2 s timeout: enough for a loopback probe.
    public static func plainGet(
        host: String,
        port: Int,
        path: String,
        timeout: Double = 2
    ) throws(ProbeError) -> HTTPReply {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let address = list else {
            throw .failed("cannot resolve \(host)")
        }
        defer { freeaddrinfo(list) }
        let fd = socket(address.pointee.ai_family, address.pointee.ai_socktype, address.pointee.ai_protocol)
        guard fd >= 0 else { throw .failed("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var limit = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
        // Linux applies the send timeout to connect(2) too.
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        guard connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 else {
            if errno == ECONNREFUSED { throw .refused }
            throw .failed("connect: \(String(cString: strerror(errno)))")
        }
        let hostHeader = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        let request = Array("GET \(path) HTTP/1.1\r\nHost: \(hostHeader)\r\nConnection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count
        else {
            throw .failed("send: \(String(cString: strerror(errno)))")
        }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while response.count < 1 << 20 {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count == 0 { break }
            guard count > 0 else { throw .failed("no complete answer: \(String(cString: strerror(errno)))") }
            response += buffer[..<count]
        }
        return try parseResponse(response)
    }

    /// Splits an HTTP/1.x response into its status and body, undoing chunked encoding.
    static func parseResponse(_ bytes: [UInt8]) throws(ProbeError) -> HTTPReply {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let end = bytes.indices.first(where: { bytes[$0...].starts(with: separator) }) else {
            throw .failed("not an HTTP answer")
        }
        let head = String(decoding: bytes[..<end], as: UTF8.self).lowercased()
        let statusLine = head.split(separator: "\r\n").first ?? ""
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("http/1."), let status = Int(parts[1]) else {
            throw .failed("not an HTTP status line: \(statusLine.prefix(40))")
        }
        var body = Array(bytes[(end + separator.count)...])
        if head.contains("transfer-encoding: chunked") {
            var decoded: [UInt8] = []
            var rest = body[...]
            while let lineEnd = rest.indices.first(where: { rest[$0...].starts(with: [13, 10]) }),
                let size = Int(String(decoding: rest[..<lineEnd], as: UTF8.self).prefix { $0 != ";" }, radix: 16),
                size > 0, rest.count >= lineEnd - rest.startIndex + 2 + size
            {
                let start = lineEnd + 2
                decoded += rest[start..<start + size]
                rest = rest[min(rest.endIndex, start + size + 2)...]
            }
            body = decoded
        }
        return HTTPReply(status: status, body: body)
    }
}
