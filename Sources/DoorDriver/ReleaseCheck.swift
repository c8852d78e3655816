import Glibc

/// Whether the kernel drops an output when its process dies: the basis of fail-secure wiring.
///
/// Upstream pinctrl drivers return a released GPIO to an input. Raspberry Pi OS kernels keep a
/// released output driven unless `dtparam=strict_gpiod` is set (raspberrypi/linux pull request
/// 6117; later kernels name the switch `persist_gpio_outputs`). There a crashed daemon would leave
/// the relay energised, so `doctor` and `gatewayctl door info` run this check.
public enum ReleaseCheck {
    public enum Result: Sendable, Equatable {
        /// Not a Raspberry Pi: mainline behaviour, released lines float back.
        case notRaspberryPi
        /// A Raspberry Pi whose pinctrl driver releases outputs (`strict_gpiod` in force).
        case strict(String)
        /// A Raspberry Pi that keeps released outputs driven: a crash would leave a door open.
        case persistsOutputs(String)
        /// A Raspberry Pi where neither parameter could be read.
        case unknown(String)

        public var isSafe: Bool {
            switch self {
            case .notRaspberryPi, .strict: return true
            case .persistsOutputs, .unknown: return false
            }
        }

        public var advice: String {
            switch self {
            case .notRaspberryPi: return "released GPIO outputs return to inputs (mainline kernel)"
            case .strict(let how): return "released GPIO outputs return to inputs (\(how))"
            case .persistsOutputs(let how):
                return
                    "UNSAFE: released outputs stay driven (\(how)); add dtparam=strict_gpiod to /boot/firmware/config.txt and reboot"
            case .unknown(let why):
                return
                    "cannot tell whether released outputs are dropped (\(why)); set dtparam=strict_gpiod and check again"
            }
        }
    }

    /// Reads the board model and the pinctrl parameters under `root` (a test may pass a fake tree).
    public static func run(root: String = "") -> Result {
        let model = read(root + "/proc/device-tree/model") ?? ""
        guard model.contains("Raspberry Pi") else { return .notRaspberryPi }
        for driver in ["pinctrl_rp1", "pinctrl_bcm2835"] {
            let parameters = root + "/sys/module/\(driver)/parameters/"
            if let persist = read(parameters + "persist_gpio_outputs") {
                let on = persist.hasPrefix("Y") || persist.hasPrefix("1")
                return on
                    ? .persistsOutputs("\(driver).persist_gpio_outputs=Y") : .strict("\(driver).persist_gpio_outputs=N")
            }
            if let strict = read(parameters + "strict_gpiod") {
                let on = strict.hasPrefix("Y") || strict.hasPrefix("1")
                return on ? .strict("\(driver).strict_gpiod=Y") : .persistsOutputs("\(driver).strict_gpiod=N")
            }
        }
        return .unknown("no pinctrl_rp1 or pinctrl_bcm2835 parameters on \(model)")
    }

    private static func read(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = fread(&buffer, 1, 255, file)
        return String(decoding: buffer.prefix(count).prefix { $0 != 0 }, as: UTF8.self)
    }
}
