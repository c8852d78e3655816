import CGPIOD
import Glibc

/// Reads `errno` right after a failed C call and maps it; EBUSY on a request names the holder.
///
/// `function` is the libgpiod or libc function that failed.
func gpioFailure(
    _ function: String,
    chip: String = "",
    line: String = "",
    holder: OpaquePointer? = nil
)
    -> DoorDriverError
{
    let code = errno
    if code == EBUSY, let holder {
        return .lineBusy(chip: chip, line: line, consumer: gpiod_line_consumer(holder).map { String(cString: $0) })
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

/// The libgpiod (v1 API) backend: owns the chip and line handles of a whole board and frees them in
/// `deinit`, after driving every relay to locked.
///
/// Outputs are requested with their locked value first, so a process that takes a relay never
/// energises it by taking it. When the process dies, the kernel releases the lines: wire the lock so
/// that a released line is locked (docs/install.md).
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
            let fd = gpiod_line_event_get_fd(inputLines[input]!.handle)
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
            for (_, line) in lines { _ = gpiod_line_set_value(line.handle, 0) }
        }
        for line in outputs.values.flatMap(\.values) + inputLines.values { gpiod_line_release(line.handle) }
        outputs = [:]
        inputLines = [:]
        for chip in chips.values { gpiod_chip_close(chip) }
        chips = [:]
    }

    private func chip(_ spec: String) throws(DoorDriverError) -> OpaquePointer {
        if let open = chips[spec] { return open }
        guard let handle = gpiod_chip_open_lookup(spec) else {
            if errno == ENOENT || errno == ENODEV || errno == ENOTTY { throw .chipNotFound(spec) }
            throw gpioFailure("gpiod_chip_open_lookup")
        }
        chips[spec] = handle
        return handle
    }

    private func request(_ config: LineConfig, consumer: String, output: Bool) throws(DoorDriverError) -> Line {
        let chip = try chip(config.chip)
        let found: OpaquePointer?
        if let offset = UInt32(config.line) {
            found = gpiod_chip_get_line(chip, offset)
        } else {
            found = gpiod_chip_find_line(chip, config.line)
        }
        guard let handle = found else { throw .lineNotFound(chip: config.chip, line: config.line) }
        var flags = config.activeLow ? Int32(GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW) : 0
        switch config.bias {
        case "pull-up": flags |= Int32(GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP)
        case "pull-down": flags |= Int32(GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_DOWN)
        case "disable": flags |= Int32(GPIOD_LINE_REQUEST_FLAG_BIAS_DISABLE)
        default: break
        }
        let result =
            output
            ? gpiod_line_request_output_flags(handle, consumer, flags, 0)
            : gpiod_line_request_both_edges_events_flags(handle, consumer, flags)
        guard result == 0 else {
            throw gpioFailure(
                output ? "gpiod_line_request_output_flags" : "gpiod_line_request_both_edges_events_flags",
                chip: config.chip,
                line: config.line,
                holder: handle
            )
        }
        return Line(handle: handle, chip: config.chip, name: config.line)
    }

    public func has(_ output: DoorOutput, of door: String) -> Bool {
        outputs[door]?[output] != nil
    }

    /// `gpiod_line_set_value`.
    public func set(_ output: DoorOutput, of door: String, on: Bool) throws(DoorDriverError) {
        guard let line = outputs[door]?[output] else { return }
        guard gpiod_line_set_value(line.handle, on ? 1 : 0) == 0 else { throw gpioFailure("gpiod_line_set_value") }
    }

    /// `gpiod_line_get_value`, logical (active-low already applied by the kernel).
    public func level(_ input: InputID) throws(DoorDriverError) -> Bool {
        guard let line = inputLines[input] else { return false }
        let value = gpiod_line_get_value(line.handle)
        guard value >= 0 else { throw gpioFailure("gpiod_line_get_value") }
        return value == 1
    }

    /// `poll` on the lines' event descriptors and the waker; drains the events it finds with
    /// `gpiod_line_event_read_multiple`. Retries on EINTR.
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
        // A chip that went away reports POLLERR or POLLHUP for ever: stop rather than spin.
        if let (index, _) = pollFDs.enumerated().first(where: {
            $0.element.revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0
        }) {
            let line = index < fds.count ? fds[index].input.description : "the waker"
            throw .lineGone(line)
        }
        for (index, entry) in fds.enumerated() where pollFDs[index].revents & Int16(POLLIN) != 0 {
            var events = [gpiod_line_event](repeating: gpiod_line_event(), count: 16)
            guard gpiod_line_event_read_multiple(inputLines[entry.input]!.handle, &events, 16) >= 0 else {
                throw gpioFailure("gpiod_line_event_read_multiple")
            }
            edges.insert(entry.input)
        }
        if pollFDs.last!.revents & Int16(POLLIN) != 0 { eventWaker.drain() }
        return edges
    }
}
