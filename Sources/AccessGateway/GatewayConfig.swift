import AccessPolicy
import DoorDriver
import Foundation
import KeyCache
import QRCodec
import TOMLKit

/// A configuration problem: the key, the value found, and what is allowed. The daemon prints it
/// and exits 78 (EX_CONFIG), so systemd does not restart it in a loop.
public struct GatewayConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var key: String
    public var value: String
    public var allowed: String

    public init(key: String, value: String, allowed: String) {
        self.key = key
        self.value = value
        self.allowed = allowed
    }

    public var description: String { "\(key) = \(value); allowed: \(allowed)" }

    /// The exit status for a bad configuration (sysexits.h EX_CONFIG).
    public static let exitStatus: Int32 = 78
}

/// `/etc/access-gateway/gateway.toml`, read whole and checked at start: an unknown key is an
/// error (a typo must not silently leave a door unconfigured), and so is every value out of range.
///
/// ```toml
/// [gateway]
/// db = "/var/lib/access-gateway/gateway.sqlite"
/// device_key = "/var/lib/access-gateway/device-key.pem"
/// on_stale = "deny"                 # deny (default) | grant, past the snapshot's max_age
/// listen = "127.0.0.1:9464"         # /metrics and /healthz
/// door_io = "gpio"                  # gpio | memory (the demo and tests: no door is driven)
/// idle_gate = true                  # decode unchanged camera frames only twice a second
///
/// [doors.front]
/// id = "JKT1/FRONT"
/// relay = { chip = "gpiochip0", line = 17 }
/// camera = { device = "/dev/door-camera-front", size = "640x480", fps = 30, format = "YUYV" }
/// ```
public struct GatewayConfig: Sendable {
    public var database: String
    public var deviceKey: String
    public var stalePolicy: StaleSnapshotPolicy
    public var board: BoardConfig
    /// Where the metrics and health HTTP server listens.
    public var listen: ListenAddress
    /// What drives the doors: the board's GPIO lines, or in-memory doors that only log.
    public var doorIO: DoorIOKind
    /// Each door's camera, by door id (doors whose frames come from a folder are in ``frameFolders``).
    public var cameras: [String: CameraSettings]
    /// Doors whose frames come from a folder of PGM files instead of a camera, by door id.
    public var frameFolders: [String: FrameFolder]
    /// Each door's holder-bound policy, by door id (`holder_bound`; "optional" by default).
    public var holderBound: [String: HolderBoundPolicy] = [:]
    /// How far an AG2 proof's time may be from the gateway's trusted clock, in seconds.
    public var proofWindow: Double = 30
    /// Whether each camera's frames pass the ``FrameGate`` before the full decode (`idle_gate`;
    /// on by default): unchanged frames of an empty doorway are decoded only twice a second.
    public var idleGate = true

    /// What drives the doors.
    public enum DoorIOKind: String, Sendable, CaseIterable {
        /// The board's GPIO lines, through libgpiod: the product.
        case gpio
        /// In-memory doors that log what a relay would do: `make demo` and the daemon's tests.
        case memory
    }

    /// A folder of PGM frames played at a frame rate, once: `make demo` and the daemon's tests.
    public struct FrameFolder: Sendable, Equatable {
        public var path: String
        public var fps: Double

        public init(path: String, fps: Double) {
            self.path = path
            self.fps = fps
        }
    }

    static let gatewayKeys: Set<String> = [
        "db", "device_key", "on_stale", "listen", "door_io", "proof_window_s", "idle_gate",
    ]
    static let doorKeys: Set<String> = [
        "id", "relay", "dps", "rex", "tamper", "green", "red", "buzzer", "pulse_s", "max_energised_s", "held_open_s",
        "rex_unlocks", "camera", "holder_bound",
    ]
    static let cameraKeys: Set<String> = ["device", "size", "fps", "format", "controls", "frames"]

    /// Parses and checks the whole file.
    public static func parse(_ text: String) throws(GatewayConfigError) -> GatewayConfig {
        let root: TOMLTable
        do { root = try TOMLTable(string: text) } catch {
            throw GatewayConfigError(key: "(file)", value: "not TOML", allowed: "TOML 1.0: \(error)")
        }
        try unknownKeys(root, allowed: ["gateway", "doors", "fire_alarm"], under: "")
        let gateway = root["gateway"]?.table ?? TOMLTable()
        try unknownKeys(gateway, allowed: gatewayKeys, under: "gateway.")
        let database = try string(gateway, "db", under: "gateway.") ?? GatewayStore.defaultPath
        let deviceKey = try string(gateway, "device_key", under: "gateway.") ?? "/var/lib/access-gateway/device-key.pem"
        let staleText = try string(gateway, "on_stale", under: "gateway.") ?? StaleSnapshotPolicy.deny.rawValue
        guard let stalePolicy = StaleSnapshotPolicy(rawValue: staleText) else {
            throw GatewayConfigError(
                key: "gateway.on_stale",
                value: "\"\(staleText)\"",
                allowed: "\"grant\" or \"deny\""
            )
        }
        let listenText = try string(gateway, "listen", under: "gateway.") ?? "127.0.0.1:9464"
        guard let listen = ListenAddress(listenText) else {
            throw GatewayConfigError(
                key: "gateway.listen",
                value: "\"\(listenText)\"",
                allowed: "\"HOST:PORT\", like \"127.0.0.1:9464\" or \"[::1]:9464\" (port 0: any free port)"
            )
        }
        let ioText = try string(gateway, "door_io", under: "gateway.") ?? DoorIOKind.gpio.rawValue
        guard let doorIO = DoorIOKind(rawValue: ioText) else {
            throw GatewayConfigError(key: "gateway.door_io", value: "\"\(ioText)\"", allowed: "\"gpio\" or \"memory\"")
        }
        guard let doors = root["doors"]?.table, !doors.isEmpty else {
            throw GatewayConfigError(key: "doors", value: "(none)", allowed: "one [doors.NAME] section or more")
        }
        var cameras: [String: CameraSettings] = [:]
        var frameFolders: [String: FrameFolder] = [:]
        var holderBound: [String: HolderBoundPolicy] = [:]
        for name in doors.keys.sorted() {
            guard let door = doors[name]?.table else {
                throw GatewayConfigError(
                    key: "doors.\(name)",
                    value: "(not a table)",
                    allowed: "a [doors.\(name)] section"
                )
            }
            try unknownKeys(door, allowed: doorKeys, under: "doors.\(name).")
            guard let camera = door["camera"]?.table else {
                throw GatewayConfigError(
                    key: "doors.\(name).camera",
                    value: "(missing)",
                    allowed:
                        "{ device = \"/dev/door-camera-\(name)\", size = \"640x480\", fps = 30, format = \"YUYV\" }"
                )
            }
            let id = try string(door, "id", under: "doors.\(name).") ?? name
            if let text = try string(door, "holder_bound", under: "doors.\(name).") {
                guard let policy = HolderBoundPolicy(rawValue: text) else {
                    throw GatewayConfigError(
                        key: "doors.\(name).holder_bound",
                        value: "\"\(text)\"",
                        allowed: "\"optional\" or \"required\""
                    )
                }
                holderBound[id] = policy
            }
            if camera["frames"] != nil {
                frameFolders[id] = try frameFolder(camera, under: "doors.\(name).camera.")
            } else {
                cameras[id] = try cameraSettings(camera, under: "doors.\(name).camera.")
            }
        }
        var proofWindow = 30.0
        if let value = gateway["proof_window_s"] {
            guard let seconds = value.int.map(Double.init) ?? value.double, (5...300).contains(seconds) else {
                throw GatewayConfigError(key: "gateway.proof_window_s", value: "\(value)", allowed: "5–300")
            }
            proofWindow = seconds
        }
        var idleGate = true
        if let value = gateway["idle_gate"] {
            guard let on = value.bool else {
                throw GatewayConfigError(key: "gateway.idle_gate", value: "\(value)", allowed: "true or false")
            }
            idleGate = on
        }
        // The door hardware is DoorDriver's to read and check, with its own messages.
        let board: BoardConfig
        do { board = try TOMLDecoder().decode(BoardConfig.self, from: text) } catch {
            throw GatewayConfigError(key: "doors", value: "(unreadable)", allowed: "\(error)")
        }
        do { try board.validate() } catch {
            throw GatewayConfigError(key: "doors", value: "(invalid)", allowed: "\(error)")
        }
        var config = GatewayConfig(
            database: database,
            deviceKey: deviceKey,
            stalePolicy: stalePolicy,
            board: board,
            listen: listen,
            doorIO: doorIO,
            cameras: cameras,
            frameFolders: frameFolders
        )
        config.holderBound = holderBound
        config.proofWindow = proofWindow
        config.idleGate = idleGate
        return config
    }

    static func frameFolder(_ table: TOMLTable, under prefix: String) throws(GatewayConfigError) -> FrameFolder {
        try unknownKeys(table, allowed: ["frames", "fps"], under: prefix)
        let path = try string(table, "frames", under: prefix) ?? ""
        var fps = 10.0
        if let value = table["fps"] {
            guard let rate = value.int.map(Double.init) ?? value.double, (1...120).contains(rate) else {
                throw GatewayConfigError(key: prefix + "fps", value: "\(value)", allowed: "1–120")
            }
            fps = rate
        }
        return FrameFolder(path: path, fps: fps)
    }

    static func cameraSettings(_ table: TOMLTable, under prefix: String) throws(GatewayConfigError) -> CameraSettings {
        try unknownKeys(table, allowed: cameraKeys, under: prefix)
        var settings = CameraSettings()
        guard let device = try string(table, "device", under: prefix), device.hasPrefix("/dev/") else {
            throw GatewayConfigError(
                key: prefix + "device",
                value: "\(table["device"]?.string.map { "\"\($0)\"" } ?? "(missing)")",
                allowed: "a device path, like \"/dev/door-camera-front\" (udev/70-access-gateway.rules)"
            )
        }
        settings.device = device
        if let size = try string(table, "size", under: prefix) {
            let parts = size.lowercased().split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2, (160...4096).contains(parts[0]), (120...4096).contains(parts[1]) else {
                throw GatewayConfigError(
                    key: prefix + "size",
                    value: "\"\(size)\"",
                    allowed: "\"WIDTHxHEIGHT\", 160x120 to 4096x4096"
                )
            }
            (settings.width, settings.height) = (parts[0], parts[1])
        }
        if let value = table["fps"] {
            guard let fps = value.int.map(Double.init) ?? value.double, (1...120).contains(fps) else {
                throw GatewayConfigError(key: prefix + "fps", value: "\(value)", allowed: "1–120")
            }
            settings.fps = fps
        }
        if let format = try string(table, "format", under: prefix) {
            guard let parsed = CameraPixelFormat(rawValue: format.uppercased()) else {
                throw GatewayConfigError(
                    key: prefix + "format",
                    value: "\"\(format)\"",
                    allowed: "\"GREY\", \"YUYV\" or \"MJPG\""
                )
            }
            settings.format = parsed
        }
        if let controls = table["controls"] {
            guard let controlTable = controls.table else {
                throw GatewayConfigError(
                    key: prefix + "controls",
                    value: "\(controls)",
                    allowed: "a table of NAME = integer"
                )
            }
            for name in controlTable.keys {
                guard let value = controlTable[name]?.int else {
                    throw GatewayConfigError(
                        key: prefix + "controls.\(name)",
                        value: "\(controlTable[name].map { "\($0)" } ?? "")",
                        allowed: "an integer"
                    )
                }
                settings.controls[name] = value
            }
        }
        return settings
    }

    static func unknownKeys(_ table: TOMLTable, allowed: Set<String>, under prefix: String) throws(GatewayConfigError) {
        if let unknown = table.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw GatewayConfigError(
                key: prefix + unknown,
                value: "\(table[unknown].map { "\($0)" } ?? "")",
                allowed: "one of \(allowed.sorted().joined(separator: ", "))"
            )
        }
    }

    static func string(_ table: TOMLTable, _ key: String, under prefix: String) throws(GatewayConfigError) -> String? {
        guard let value = table[key] else { return nil }
        guard let text = value.string, !text.isEmpty else {
            throw GatewayConfigError(key: prefix + key, value: "\(value)", allowed: "a non-empty string")
        }
        return text
    }
}

/// A TCP listening address, `HOST:PORT`; IPv6 hosts are bracketed.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, !host.contains(" ") else { return nil }
        self.init(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
