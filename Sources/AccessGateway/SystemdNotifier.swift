import Foundation
import Glibc

/// The systemd notification protocol (`sd_notify(3)`), without libsystemd: one datagram per
/// message to the `AF_UNIX` socket in `$NOTIFY_SOCKET`. Does nothing when the variable is unset
/// (the daemon was not started by systemd with `Type=notify`).
public struct SystemdNotifier: Sendable {
    /// The socket path; a leading `@` names an abstract socket.
    public let socketPath: String?
    /// How often systemd wants `WATCHDOG=1`: half of `$WATCHDOG_USEC`, when it is meant for us.
    public let watchdogInterval: Duration?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        socketPath = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        let forUs = environment["WATCHDOG_PID"].map { Int32($0) == getpid() } ?? true
        if forUs, let usec = environment["WATCHDOG_USEC"].flatMap(UInt64.init), usec > 0 {
            watchdogInterval = .microseconds(Int64(usec / 2))
        } else {
            watchdogInterval = nil
        }
    }

    /// `READY=1`, with a status line.
    public func ready(status: String) { send("READY=1\nSTATUS=\(status)") }
    /// `STATUS=`: the line `systemctl status` shows.
    public func status(_ text: String) { send("STATUS=\(text)") }
    /// `WATCHDOG=1`: the service is alive; systemd restarts it when these stop.
    public func watchdog() { send("WATCHDOG=1") }
    /// `STOPPING=1`, with a status line.
    public func stopping(status: String) { send("STOPPING=1\nSTATUS=\(status)") }

    /// Sends one message; failures are ignored, as `sd_notify` callers do (there is no one to tell).
    public func send(_ message: String) {
        guard let socketPath else { return }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var path = Array(socketPath.utf8)
        // An abstract socket's name starts with a NUL byte instead of the '@'.
        if path.first == UInt8(ascii: "@") { path[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.count < capacity else { return }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path)
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count + (path.first == 0 ? 0 : 1))
        let bytes = Array(message.utf8)
        _ = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bytes.withUnsafeBytes { body in
                    sendto(fd, body.baseAddress, body.count, Int32(MSG_NOSIGNAL), socketAddress, length)
                }
            }
        }
    }
}
