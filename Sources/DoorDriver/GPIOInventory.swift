import CGPIOD
import Glibc

/// One GPIO line as the kernel reports it.
public struct GPIOLineInfo: Sendable, Equatable {
    public var offset: Int
    public var name: String?
    /// The label of whoever holds the line, if anyone does.
    public var consumer: String?
    public var used: Bool
    public var output: Bool
    public var activeLow: Bool

    public init(offset: Int, name: String?, consumer: String?, used: Bool, output: Bool, activeLow: Bool) {
        self.offset = offset
        self.name = name
        self.consumer = consumer
        self.used = used
        self.output = output
        self.activeLow = activeLow
    }
}

/// One GPIO chip and its lines.
public struct GPIOChipInfo: Sendable, Equatable {
    public var name: String
    public var label: String
    public var lines: [GPIOLineInfo]

    public init(name: String, label: String, lines: [GPIOLineInfo]) {
        self.name = name
        self.label = label
        self.lines = lines
    }
}

/// What `gatewayctl door info` shows: every chip, every line, and who holds it.
public enum GPIOInventory {
    /// Walks `/dev/gpiochip*` with `gpiod_chip_iter_new`; a board without GPIO gives an empty list.
    public static func scan() -> [GPIOChipInfo] {
        guard let iterator = gpiod_chip_iter_new() else { return [] }
        defer { gpiod_chip_iter_free(iterator) }
        var chips: [GPIOChipInfo] = []
        while let chip = gpiod_chip_iter_next(iterator) {
            var lines: [GPIOLineInfo] = []
            for offset in 0..<gpiod_chip_num_lines(chip) {
                guard let line = gpiod_chip_get_line(chip, offset) else { continue }
                lines.append(
                    GPIOLineInfo(
                        offset: Int(offset),
                        name: gpiod_line_name(line).map { String(cString: $0) },
                        consumer: gpiod_line_consumer(line).map { String(cString: $0) },
                        used: gpiod_line_is_used(line),
                        output: gpiod_line_direction(line) == Int32(GPIOD_LINE_DIRECTION_OUTPUT),
                        activeLow: gpiod_line_active_state(line) == Int32(GPIOD_LINE_ACTIVE_STATE_LOW)
                    )
                )
            }
            chips.append(
                GPIOChipInfo(
                    name: String(cString: gpiod_chip_name(chip)),
                    label: String(cString: gpiod_chip_label(chip)),
                    lines: lines
                )
            )
        }
        return chips
    }

    /// The libgpiod version (`gpiod_version_string`), e.g. "1.6.3".
    public static var libgpiodVersion: String { String(cString: gpiod_version_string()) }
}
