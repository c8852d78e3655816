import Foundation
import Glibc

extension Doctor {
    /// `GET /healthz` on the service's listen address: 200 when healthy, 503 with the failing checks.
    public func checkService(_ config: GatewayConfig) -> DoctorCheck {
        let logs = "systemctl status access-gateway; journalctl -u access-gateway"
        guard config.listen.port != 0 else {
            return .warn(
                "service",
                "gateway.listen is port 0: the health endpoint cannot be found",
                fix: "give gateway.listen a fixed port, like \"127.0.0.1:9464\""
            )
        }
        // A wildcard address is reached on loopback.
        let host =
            config.listen.host == "0.0.0.0" ? "127.0.0.1" : config.listen.host == "::" ? "::1" : config.listen.host
        let address = ListenAddress(host: host, port: config.listen.port)
        let reply: HTTPReply
        do throws(ProbeError) { reply = try environment.httpGet(host, config.listen.port, "/healthz") } catch {
            switch error {
            case .refused:
                return .fail("service", "the service is not running: nothing answers on \(address)", fix: logs)
            case .failed(let why):
                return .fail("service", "no answer from http://\(address)/healthz: \(why)", fix: logs)
            }
        }
        let object = (try? JSONSerialization.jsonObject(with: Data(reply.body))) as? [String: Any]
        let checks = object?["checks"] as? [[String: Any]] ?? []
        switch reply.status {
        case 200:
            return .ok("service", "running and healthy on \(address) (\(checks.count) checks)")
        case 503:
            let failing = checks.filter { $0["ok"] as? Bool == false }.map {
                "\($0["name"] as? String ?? "?"): \($0["detail"] as? String ?? "")"
            }
            return .fail(
                "service",
                "running but unhealthy: " + (failing.isEmpty ? "no check named" : failing.joined(separator: "; ")),
                fix: logs
            )
        default:
            return .fail(
                "service",
                "http://\(address)/healthz answered HTTP \(reply.status): is another program on that port?",
                fix: "check gateway.listen; `ss -ltnp` shows who listens where"
            )
        }
    }

    /// A minimal HTTP/1.1 GET over a blocking socket with a 2 s timeout: enough for a loopback probe.
    public static func plainGet(
        host: String,
        port: Int,
        path: String,
        timeout: Double = 2
    ) throws(ProbeError) -> HTTPReply {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let address = list else {
            throw .failed("cannot resolve \(host)")
        }
        defer { freeaddrinfo(list) }
        let fd = socket(address.pointee.ai_family, address.pointee.ai_socktype, address.pointee.ai_protocol)
        guard fd >= 0 else { throw .failed("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var limit = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
        // Linux applies the send timeout to connect(2) too.
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        guard connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 else {
            if errno == ECONNREFUSED { throw .refused }
            throw .failed("connect: \(String(cString: strerror(errno)))")
        }
        let hostHeader = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        let request = Array("GET \(path) HTTP/1.1\r\nHost: \(hostHeader)\r\nConnection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count
        else {
            throw .failed("send: \(String(cString: strerror(errno)))")
        }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while response.count < 1 << 20 {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count == 0 { break }
            guard count > 0 else { throw .failed("no complete answer: \(String(cString: strerror(errno)))") }
            response += buffer[..<count]
        }
        return try parseResponse(response)
    }

    /// Splits an HTTP/1.x response into its status and body, undoing chunked encoding.
    static func parseResponse(_ bytes: [UInt8]) throws(ProbeError) -> HTTPReply {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let end = bytes.indices.first(where: { bytes[$0...].starts(with: separator) }) else {
            throw .failed("not an HTTP answer")
        }
        let head = String(decoding: bytes[..<end], as: UTF8.self).lowercased()
        let statusLine = head.split(separator: "\r\n").first ?? ""
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("http/1."), let status = Int(parts[1]) else {
            throw .failed("not an HTTP status line: \(statusLine.prefix(40))")
        }
        var body = Array(bytes[(end + separator.count)...])
        if head.contains("transfer-encoding: chunked") {
            var decoded: [UInt8] = []
            var rest = body[...]
            while let lineEnd = rest.indices.first(where: { rest[$0...].starts(with: [13, 10]) }),
                let size = Int(String(decoding: rest[..<lineEnd], as: UTF8.self).prefix { $0 != ";" }, radix: 16),
                size > 0, rest.count >= lineEnd - rest.startIndex + 2 + size
            {
                let start = lineEnd + 2
                decoded += rest[start..<start + size]
                rest = rest[min(rest.endIndex, start + size + 2)...]
            }
            body = decoded
        }
        return HTTPReply(status: status, body: body)
    }
}
