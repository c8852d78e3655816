import CGPIOD
import Glibc

/// Reads `errno` right after a failed C call and maps it; EBUSY on a request names the holder,
/// read back from the kernel's line info.
///
/// `function` is the libgpiod or libc function that failed.
func gpioFailure(
    _ function: String,
    chip: String = "",
    line: String = "",
    holder: (chip: OpaquePointer, offset: UInt32)? = nil
)
    -> DoorDriverError
{
    let code = errno
    if code == EBUSY, let holder {
        var info = ag_gpio_line_info()
        let known = ag_gpio_chip_line_info(holder.chip, holder.offset, &info) == 0 && info.has_consumer
        let consumer = known ? cString(info.consumer) : nil
        return .lineBusy(chip: chip, line: line, consumer: consumer)
    }
    return .system(function: function, errno: code)
}

/// A self-pipe that wakes a poll() from any thread.
final class PipeWaker: DoorWaker {
    let readFD: Int32
    let writeFD: Int32

    /// `pipe(2)`, then `fcntl(2)` for non-blocking and close-on-exec ends.
    init() throws(DoorDriverError) {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw gpioFailure("pipe") }
        readFD = ends[0]
        writeFD = ends[1]
        for fd in ends {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
    }

    deinit {
        close(readFD)
        close(writeFD)
    }

    func wake() {
        var byte: UInt8 = 1
        // A full pipe already holds a wake-up; nothing is lost by dropping this one.
        _ = write(writeFD, &byte, 1)
    }

    func drain() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(readFD, &buffer, buffer.count) > 0 {}
    }
}

/// A NUL-terminated C `char` array of fixed size, as Swift imports it (a tuple), as a String.
func cString<T>(_ tuple: T) -> String {
    withUnsafeBytes(of: tuple) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
}

/// Which libgpiod this build uses: the API is chosen by the C shim from the installed headers.
public enum LibGPIOD {
    /// The API the shim was compiled against: 1 (libgpiod 1.6) or 2 (libgpiod 2.x).
    public static var api: Int { Int(ag_gpio_api()) }
    /// The version of the library loaded at run time, e.g. "1.6.3" or "2.2.1".
    public static var version: String { String(cString: ag_gpio_library_version()) }
    /// "libgpiod 2.2.1 (v2 API)", for `doctor`, `door info` and the daemon's first log line.
    public static var description: String { "libgpiod \(version) (v\(api) API)" }
}

/// One edge the kernel reported on an input line.
public struct GPIOEdge: Sendable, Equatable {
    public var input: InputID
    public var rising: Bool
    /// The kernel's timestamp, CLOCK_MONOTONIC, in nanoseconds.
    public var timestampNs: UInt64

    public init(input: InputID, rising: Bool, timestampNs: UInt64) {
        self.input = input
        self.rising = rising
        self.timestampNs = timestampNs
    }
}

/// The libgpiod backend (v1 or v2 API, through the CGPIOD shim): owns the chip and line handles of a
/// whole board and frees them in `deinit`, after driving every relay to locked.
///
/// Outputs are requested with their locked value first, so a process that takes a relay never
/// energises it by taking it. When the process dies, the kernel releases the lines: wire the lock so
/// that a released line is locked (docs/install.md). With the v2 API inputs ask the kernel to
/// debounce them (``kernelDebounce(_:)``); the v1 API has no kernel debounce.
public final class GPIODoorIO: DoorIO {
    private struct Line {
        let handle: OpaquePointer
        let chip: String
        let name: String
    }

    private var chips: [String: OpaquePointer] = [:]
    private var outputs: [String: [DoorOutput: Line]] = [:]
    private var inputLines: [InputID: Line] = [:]
    private var fds: [(fd: Int32, input: InputID)] = []
    private let eventWaker: PipeWaker

    public private(set) var inputs: [InputID] = []
    public var waker: any DoorWaker { eventWaker }
    /// The edge events the last ``wait(timeout:)`` read, oldest first per input.
    public private(set) var lastEdges: [GPIOEdge] = []

    /// Opens the board's lines. `consumer` is the label other tools see (`gpioinfo`, `door info`).
    /// With `takeOutputs` false only the inputs are requested (for `door watch`).
    public init(
        board: BoardConfig,
        consumer: String = "access-gateway",
        takeOutputs: Bool = true
    ) throws(DoorDriverError) {
        try board.validate()
        eventWaker = try PipeWaker()
        do {
            for (_, door) in board.doors.sorted(by: { $0.key < $1.key }) {
                for (role, config) in door.lines {
                    if let output = DoorOutput(rawValue: role) {
                        guard takeOutputs else { continue }
                        outputs[door.id, default: [:]][output] = try request(config, consumer: consumer, output: true)
                    } else if let kind = InputKind(rawValue: role) {
                        let id = InputID(door: door.id, kind: kind)
                        inputLines[id] = try request(config, consumer: consumer, output: false)
                        inputs.append(id)
                    }
                }
            }
            if let fire = board.fireAlarm {
                inputLines[.fireAlarm] = try request(fire, consumer: consumer, output: false)
                inputs.append(.fireAlarm)
            }
        } catch {
            releaseAll()
            throw error
        }
        for input in inputs {
            let fd = ag_gpio_line_fd(inputLines[input]!.handle)
            guard fd >= 0 else {
                releaseAll()
                throw gpioFailure("gpiod_line_event_get_fd")
            }
            fds.append((fd, input))
        }
    }

    deinit {
        releaseAll()
    }

    private func releaseAll() {
        // Locked first, then released: the kernel's release state is only the backstop.
        for (_, lines) in outputs {
            for (_, line) in lines { _ = ag_gpio_line_set(line.handle, 0) }
        }
        for line in outputs.values.flatMap(\.values) + inputLines.values { ag_gpio_line_release(line.handle) }
        outputs = [:]
        inputLines = [:]
        for chip in chips.values { ag_gpio_chip_close(chip) }
        chips = [:]
    }

    private func chip(_ spec: String) throws(DoorDriverError) -> OpaquePointer {
        if let open = chips[spec] { return open }
        guard let handle = ag_gpio_chip_lookup(spec) else {
            if errno == ENOENT || errno == ENODEV || errno == ENOTTY { throw .chipNotFound(spec) }
            throw gpioFailure("gpiod_chip_open")
        }
        chips[spec] = handle
        return handle
    }

    private func request(_ config: LineConfig, consumer: String, output: Bool) throws(DoorDriverError) -> Line {
        let chip = try chip(config.chip)
        let offset: UInt32
        if let number = UInt32(config.line) {
            guard number < ag_gpio_chip_num_lines(chip) else {
                throw .lineNotFound(chip: config.chip, line: config.line)
            }
            offset = number
        } else {
            let found = ag_gpio_chip_find_line(chip, config.line)
            guard found >= 0 else { throw .lineNotFound(chip: config.chip, line: config.line) }
            offset = UInt32(found)
        }
        var settings = ag_gpio_line_settings()
        settings.output = output
        settings.active_low = config.activeLow
        switch config.bias {
        case "pull-up": settings.bias = Int32(AG_GPIO_BIAS_PULL_UP)
        case "pull-down": settings.bias = Int32(AG_GPIO_BIAS_PULL_DOWN)
        case "disable": settings.bias = Int32(AG_GPIO_BIAS_DISABLED)
        default: settings.bias = Int32(AG_GPIO_BIAS_AS_IS)
        }
        // Outputs start locked (logical 0); inputs ask the kernel to debounce where it can.
        settings.initial_value = 0
        settings.debounce_us = output ? 0 : UInt32(config.debounceMs) * 1000
        guard let handle = ag_gpio_line_request(chip, offset, consumer, &settings) else {
            throw gpioFailure(
                output ? "gpiod_line_request_output" : "gpiod_line_request_both_edges_events",
                chip: config.chip,
                line: config.line,
                holder: (chip, offset)
            )
        }
        return Line(handle: handle, chip: config.chip, name: config.line)
    }

    public func has(_ output: DoorOutput, of door: String) -> Bool {
        outputs[door]?[output] != nil
    }

    /// The debounce the kernel applies to an input (v2 API); zero through the v1 API.
    public func kernelDebounce(_ input: InputID) -> Duration {
        guard let line = inputLines[input] else { return .zero }
        return .microseconds(Int64(ag_gpio_line_kernel_debounce_us(line.handle)))
    }

    /// Sets an output's logical value.
    public func set(_ output: DoorOutput, of door: String, on: Bool) throws(DoorDriverError) {
        guard let line = outputs[door]?[output] else { return }
        guard ag_gpio_line_set(line.handle, on ? 1 : 0) == 0 else { throw gpioFailure("gpiod_line_set_value") }
    }

    /// An input's logical value (active-low already applied by the kernel).
    public func level(_ input: InputID) throws(DoorDriverError) -> Bool {
        guard let line = inputLines[input] else { return false }
        let value = ag_gpio_line_get(line.handle)
        guard value >= 0 else { throw gpioFailure("gpiod_line_get_value") }
        return value == 1
    }

    /// `poll` on the lines' event descriptors and the waker; drains the edge events it finds into
    /// ``lastEdges``. Retries on EINTR.
    public func wait(timeout: Duration) throws(DoorDriverError) -> Set<InputID> {
        var pollFDs = fds.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
        pollFDs.append(pollfd(fd: eventWaker.readFD, events: Int16(POLLIN), revents: 0))
        let ms = Int32(
            clamping: max(0, timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        )
        var ready: Int32
        repeat {
            ready = poll(&pollFDs, nfds_t(pollFDs.count), ms)
        } while ready < 0 && errno == EINTR
        guard ready >= 0 else { throw gpioFailure("poll") }
        var edges = Set<InputID>()
        lastEdges = []
        // A chip that went away reports POLLERR or POLLHUP for ever: stop rather than spin.
        if let (index, _) = pollFDs.enumerated().first(where: {
            $0.element.revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0
        }) {
            let line = index < fds.count ? fds[index].input.description : "the waker"
            throw .lineGone(line)
        }
        for (index, entry) in fds.enumerated() where pollFDs[index].revents & Int16(POLLIN) != 0 {
            var events = [ag_gpio_edge](repeating: ag_gpio_edge(), count: 16)
            let count = ag_gpio_line_read_edges(inputLines[entry.input]!.handle, &events, 16)
            guard count >= 0 else { throw gpioFailure("gpiod_line_read_edge_events") }
            lastEdges += events.prefix(Int(count)).map {
                GPIOEdge(input: entry.input, rising: $0.rising, timestampNs: $0.timestamp_ns)
            }
            edges.insert(entry.input)
        }
        if pollFDs.last!.revents & Int16(POLLIN) != 0 { eventWaker.drain() }
        return edges
    }
}
