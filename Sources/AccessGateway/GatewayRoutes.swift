import Foundation
import HQSync
import Hummingbird
import KeyCache
import Logging
import ServiceLifecycle

/// The daemon's HTTP server: `GET /metrics` (Prometheus text) and `GET /healthz` (200 or 503,
/// JSON), on the configured `listen` address.
struct GatewayRoutes: Sendable {
    let listen: ListenAddress
    let store: GatewayStore
    let metrics: GatewayMetrics
    let health: GatewayHealth
    let clock: ClockTrust
    let logger: Logger
    /// Told the port once the server listens: `listen` may ask for any free one (port 0).
    let bound: @Sendable (_ port: Int) -> Void

    /// The server, as a service of the daemon's group.
    func server() -> some Service {
        let router = Router()
        let (metrics, health, store, clock) = (self.metrics, self.health, self.store, self.clock)
        router.get("metrics") { _, _ -> Response in
            // The gauges are read when scraped, so they are never older than the scrape; each is
            // a kept value (the header, head less cursor), never a count over a table.
            let info = try? store.snapshotHeader()
            metrics.snapshotAge(info.map { Date().timeIntervalSince1970 - Double($0.generatedAt) })
            metrics.backlog((try? store.uploadBacklog()) ?? 0)
            metrics.clockTrusted(clock.status.trusted)
            for (door, total) in health.watchedFrameCounts() { metrics.framesDelivered(door: door, total: total) }
            let refusals = (try? store.stateValues([.snapshotRefusals, .snapshotRefused])) ?? [:]
            metrics.snapshotRefusals(
                total: refusals[.snapshotRefusals].flatMap(Int.init) ?? 0,
                refusedNow: !(refusals[.snapshotRefused] ?? "").isEmpty
            )
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.exposition()))
            )
        }
        router.get("healthz") { _, _ -> Response in
            let checks = health.checks()
            return Response(
                status: checks.allSatisfy(\.ok) ? .ok : .serviceUnavailable,
                headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(data: GatewayHealth.json(checks)))
            )
        }
        var httpLogger = logger
        httpLogger.logLevel = .warning
        let (logger, listen, bound) = (logger, listen, self.bound)
        return Application(
            router: router,
            configuration: ApplicationConfiguration(
                address: .hostname(listen.host, port: listen.port),
                serverName: "access-gateway"
            ),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? listen.port
                bound(port)
                logger.notice("metrics and health", metadata: ["url": "http://\(ListenAddress(host: listen.host, port: port))/healthz"])
            },
            logger: httpLogger
        )
    }
}
