/// Errors from door hardware and its configuration.
public enum DoorDriverError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The configuration names something impossible; the text names the key.
    case badConfig(String)
    /// No GPIO chip matches the name, path, label or number.
    case chipNotFound(String)
    /// The chip has no line with this offset or name.
    case lineNotFound(chip: String, line: String)
    /// Another process holds the line (`consumer` is its label, when the kernel knows it).
    case lineBusy(chip: String, line: String, consumer: String?)
    /// An input's line stopped answering (its chip was removed).
    case lineGone(String)
    /// A libgpiod or system call failed; `function` names it and `errno` is what it set.
    case system(function: String, errno: Int32)

    public var description: String {
        switch self {
        case .badConfig(let why): return "invalid door configuration: \(why)"
        case .chipNotFound(let chip): return "no GPIO chip \"\(chip)\" (see `gatewayctl door info`)"
        case .lineNotFound(let chip, let line): return "\(chip) has no line \(line)"
        case .lineBusy(let chip, let line, let consumer):
            return "\(chip) line \(line) is held by \(consumer.map { "\"\($0)\"" } ?? "another process")"
        case .lineGone(let line): return "the GPIO line for \(line) is gone (was the device removed?)"
        case .system(let function, let errno):
            return "\(function) failed: \(String(cString: strerror(errno))) (errno \(errno))"
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
