import AsyncHTTPClient
import Foundation
import HQSync
import NIOCore
import NIOPosix

extension Doctor {
    /// `GET /healthz` on the service's listen address: 200 when healthy, 503 with the failing checks.
    public func checkService(_ config: GatewayConfig) async -> DoctorCheck {
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
        do throws(ProbeError) { reply = try await environment.httpGet(host, config.listen.port, "/healthz") } catch {
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

    /// A GET of `path` at `host:port` over plain HTTP, the answer's head and body within `timeout`
    /// seconds: enough for a loopback probe. It goes through ``HQClient/sharedHTTP``, which fails a
    /// connection that cannot be made at once instead of retrying it until the deadline.
    public static func plainGet(
        host: String,
        port: Int,
        path: String,
        timeout: Double = 2
    ) async throws(ProbeError) -> HTTPReply {
        let request = HTTPClientRequest(url: "http://\(ListenAddress(host: host, port: port))\(path)")
        let limit = TimeAmount.nanoseconds(Int64(timeout * 1e9))
        do {
            return try await HQClient.bounded(by: limit) {
                let response = try await HQClient.sharedHTTP.execute(request, timeout: limit)
                let body = try await response.body.collect(upTo: 1 << 20)
                return HTTPReply(status: Int(response.status.code), body: Array(buffer: body))
            }
        } catch {
            throw isRefused(error) ? .refused : .failed("\(error)")
        }
    }

    /// Whether nothing listens there, by the error's type and code: the connection to the address,
    /// or to every address a name gave, was refused (`ECONNREFUSED`).
    static func isRefused(_ error: any Error) -> Bool {
        if let error = error as? NIOConnectionError {
            return !error.connectionErrors.isEmpty && error.connectionErrors.allSatisfy { isRefused($0.error) }
        }
        return (error as? IOError)?.errnoCode == ECONNREFUSED
    }
}
