import DoorDriver

extension Doctor {
    /// The consumer label the service's lines carry (`GPIODoorIO`'s default).
    static let serviceConsumer = "access-gateway"

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
}
