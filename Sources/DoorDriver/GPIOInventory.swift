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
    /// Walks `/dev/gpiochip*` in number order; a board without GPIO gives an empty list.
    public static func scan() -> [GPIOChipInfo] {
        var numbers = [UInt32](repeating: 0, count: 256)
        let count = max(0, min(256, Int(ag_gpio_chip_numbers(&numbers, 256))))
        var chips: [GPIOChipInfo] = []
        for number in numbers.prefix(count) {
            // A chip that vanished or refuses opening is not listed, as libgpiod's iterator did.
            guard let chip = ag_gpio_chip_open("/dev/gpiochip\(number)") else { continue }
            defer { ag_gpio_chip_close(chip) }
            var lines: [GPIOLineInfo] = []
            for offset in 0..<ag_gpio_chip_num_lines(chip) {
                var info = ag_gpio_line_info()
                guard ag_gpio_chip_line_info(chip, offset, &info) == 0 else { continue }
                lines.append(
                    GPIOLineInfo(
                        offset: Int(offset),
                        name: info.has_name ? cString(info.name) : nil,
                        consumer: info.has_consumer ? cString(info.consumer) : nil,
                        used: info.used,
                        output: info.output,
                        activeLow: info.active_low
                    )
                )
            }
            chips.append(
                GPIOChipInfo(
                    name: String(cString: ag_gpio_chip_name(chip)),
                    label: String(cString: ag_gpio_chip_label(chip)),
                    lines: lines
                )
            )
        }
        return chips
    }

    /// The libgpiod version loaded, e.g. "1.6.3" or "2.2.1".
    public static var libgpiodVersion: String { LibGPIOD.version }
}
