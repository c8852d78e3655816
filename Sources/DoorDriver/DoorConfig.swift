/// Where a GPIO line is, and its polarity.
public struct LineConfig: Sendable, Equatable, Decodable {
    /// A chip: its name ("gpiochip0"), path ("/dev/gpiochip0"), label ("pinctrl-bcm2711") or number.
    public var chip: String
    /// A line offset ("17") or a line name ("RELAY1").
    public var line: String
    /// True when the line's active (energised, pressed, open) state is electrically low.
    public var activeLow: Bool
    /// Input bias: "pull-up", "pull-down", "disable" or "as-is".
    public var bias: String
    /// Input debounce, in milliseconds.
    public var debounceMs: Int

    public init(chip: String, line: String, activeLow: Bool = false, bias: String = "as-is", debounceMs: Int = 20) {
        self.chip = chip
        self.line = line
        self.activeLow = activeLow
        self.bias = bias
        self.debounceMs = debounceMs
    }

    enum CodingKeys: String, CodingKey {
        case chip, line, bias
        case activeLow = "active_low"
        case debounceMs = "debounce_ms"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        chip = try c.decode(String.self, forKey: .chip)
        // TOML writes an offset as an integer and a name as a string; accept both.
        if let offset = try? c.decode(Int.self, forKey: .line) {
            line = String(offset)
        } else {
            line = try c.decode(String.self, forKey: .line)
        }
        activeLow = try c.decodeIfPresent(Bool.self, forKey: .activeLow) ?? false
        bias = try c.decodeIfPresent(String.self, forKey: .bias) ?? "as-is"
        debounceMs = try c.decodeIfPresent(Int.self, forKey: .debounceMs) ?? 20
    }

    func validate(_ key: String) throws(DoorDriverError) {
        guard ["pull-up", "pull-down", "disable", "as-is"].contains(bias) else {
            throw .badConfig("\(key).bias = \"\(bias)\"; allowed: pull-up, pull-down, disable, as-is")
        }
        guard (0...1000).contains(debounceMs) else {
            throw .badConfig("\(key).debounce_ms = \(debounceMs); allowed: 0–1000")
        }
        guard !chip.isEmpty, !line.isEmpty else { throw .badConfig("\(key) needs chip and line") }
    }
}

/// One door's hardware: the `[doors.NAME]` section of gateway.toml.
///
/// ```toml
/// [doors.front]
/// id = "JKT1/FRONT"
/// relay = { chip = "gpiochip0", line = 17 }
/// dps = { chip = "gpiochip0", line = 22, active_low = true, bias = "pull-up", debounce_ms = 30 }
/// rex = { chip = "gpiochip0", line = 23, active_low = true, bias = "pull-up" }
/// pulse_s = 5
/// ```
public struct DoorConfig: Sendable, Equatable, Decodable {
    /// The door id, "LOC/DOOR".
    public var id: String
    public var relay: LineConfig
    public var dps: LineConfig?
    public var rex: LineConfig?
    public var tamper: LineConfig?
    public var green: LineConfig?
    public var red: LineConfig?
    public var buzzer: LineConfig?
    /// Unlock pulse in seconds, 1–30.
    public var pulseSeconds: Double
    /// The longest a run of pulses may hold the relay, in seconds.
    public var maxEnergisedSeconds: Double
    /// Held-open alarm delay after a valid entry, in seconds.
    public var heldOpenSeconds: Double
    /// Whether REX unlocks, or only shunts the forced-open alarm.
    public var rexUnlocks: Bool

    public init(
        id: String,
        relay: LineConfig,
        dps: LineConfig? = nil,
        rex: LineConfig? = nil,
        tamper: LineConfig? = nil,
        green: LineConfig? = nil,
        red: LineConfig? = nil,
        buzzer: LineConfig? = nil,
        pulseSeconds: Double = 5,
        maxEnergisedSeconds: Double = 30,
        heldOpenSeconds: Double = 30,
        rexUnlocks: Bool = true
    ) {
        self.id = id
        self.relay = relay
        self.dps = dps
        self.rex = rex
        self.tamper = tamper
        self.green = green
        self.red = red
        self.buzzer = buzzer
        self.pulseSeconds = pulseSeconds
        self.maxEnergisedSeconds = maxEnergisedSeconds
        self.heldOpenSeconds = heldOpenSeconds
        self.rexUnlocks = rexUnlocks
    }

    enum CodingKeys: String, CodingKey {
        case id, relay, dps, rex, tamper, green, red, buzzer
        case pulseSeconds = "pulse_s"
        case maxEnergisedSeconds = "max_energised_s"
        case heldOpenSeconds = "held_open_s"
        case rexUnlocks = "rex_unlocks"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func seconds(_ key: CodingKeys, _ fallback: Double) throws -> Double {
            if let n = try? c.decode(Int.self, forKey: key) { return Double(n) }
            return try c.decodeIfPresent(Double.self, forKey: key) ?? fallback
        }
        self.init(
            id: try c.decode(String.self, forKey: .id),
            relay: try c.decode(LineConfig.self, forKey: .relay),
            dps: try c.decodeIfPresent(LineConfig.self, forKey: .dps),
            rex: try c.decodeIfPresent(LineConfig.self, forKey: .rex),
            tamper: try c.decodeIfPresent(LineConfig.self, forKey: .tamper),
            green: try c.decodeIfPresent(LineConfig.self, forKey: .green),
            red: try c.decodeIfPresent(LineConfig.self, forKey: .red),
            buzzer: try c.decodeIfPresent(LineConfig.self, forKey: .buzzer),
            pulseSeconds: try seconds(.pulseSeconds, 5),
            maxEnergisedSeconds: try seconds(.maxEnergisedSeconds, 30),
            heldOpenSeconds: try seconds(.heldOpenSeconds, 30),
            rexUnlocks: try c.decodeIfPresent(Bool.self, forKey: .rexUnlocks) ?? true
        )
    }

    /// Checks ranges and names; the error names the key, the value and what is allowed.
    public func validate(key: String) throws(DoorDriverError) {
        guard id.split(separator: "/", omittingEmptySubsequences: false).count == 2 else {
            throw .badConfig("\(key).id = \"\(id)\"; allowed: LOC/DOOR")
        }
        guard (1...30).contains(pulseSeconds) else {
            throw .badConfig("\(key).pulse_s = \(pulseSeconds); allowed: 1–30")
        }
        guard maxEnergisedSeconds >= pulseSeconds && maxEnergisedSeconds <= 300 else {
            throw .badConfig("\(key).max_energised_s = \(maxEnergisedSeconds); allowed: pulse_s–300")
        }
        guard (1...3600).contains(heldOpenSeconds) else {
            throw .badConfig("\(key).held_open_s = \(heldOpenSeconds); allowed: 1–3600")
        }
        try relay.validate("\(key).relay")
        for (name, line) in [
            ("dps", dps), ("rex", rex), ("tamper", tamper), ("green", green), ("red", red), ("buzzer", buzzer),
        ] {
            try line?.validate("\(key).\(name)")
        }
    }

    /// The state machine timing this configuration asks for.
    public var timing: DoorTiming {
        DoorTiming(
            pulse: .milliseconds(Int64(pulseSeconds * 1000)),
            maxEnergised: .milliseconds(Int64(maxEnergisedSeconds * 1000)),
            heldOpenAfter: .milliseconds(Int64(heldOpenSeconds * 1000)),
            rexShunt: .milliseconds(Int64(pulseSeconds * 2000))
        )
    }
}

/// The board: its doors and the shared fire-alarm input.
public struct BoardConfig: Sendable, Equatable, Decodable {
    /// Doors by their section name (`[doors.front]`).
    public var doors: [String: DoorConfig]
    public var fireAlarm: LineConfig?

    public init(doors: [String: DoorConfig], fireAlarm: LineConfig? = nil) {
        self.doors = doors
        self.fireAlarm = fireAlarm
    }

    enum CodingKeys: String, CodingKey {
        case doors
        case fireAlarm = "fire_alarm"
    }

    public func validate() throws(DoorDriverError) {
        guard !doors.isEmpty else { throw .badConfig("no [doors.NAME] section") }
        var ids = Set<String>()
        var lines = [String: String]()
        for (name, door) in doors.sorted(by: { $0.key < $1.key }) {
            try door.validate(key: "doors.\(name)")
            guard ids.insert(door.id).inserted else {
                throw .badConfig("doors.\(name).id = \"\(door.id)\" is used twice")
            }
            for (role, line) in door.lines {
                let where_ = "\(line.chip):\(line.line)"
                if let other = lines.updateValue("doors.\(name).\(role)", forKey: where_) {
                    throw .badConfig("doors.\(name).\(role) and \(other) both use \(where_)")
                }
            }
        }
        try fireAlarm?.validate("fire_alarm")
    }
}

extension DoorConfig {
    /// Every configured line with its role.
    public var lines: [(String, LineConfig)] {
        [("relay", relay)]
            + [("dps", dps), ("rex", rex), ("tamper", tamper), ("green", green), ("red", red), ("buzzer", buzzer)]
            .compactMap { name, line in line.map { (name, $0) } }
    }
}
