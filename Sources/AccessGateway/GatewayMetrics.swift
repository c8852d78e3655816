import CoreMetrics
import Foundation
import HQProtocol
import Prometheus
import Synchronization

/// The gateway's Prometheus metrics, through swift-metrics: scans, grants, denials by reason,
/// decode and scan→relay histograms (ms), snapshot age, upload backlog, clock trust and door
/// alarms. `GET /metrics` serves ``exposition()``.
///
/// swift-prometheus unregisters a metric when its handle is released, so the handles are kept.
public final class GatewayMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let counters = Mutex<[String: CoreMetrics.Counter]>([:])
    private let recorders = Mutex<[String: CoreMetrics.Recorder]>([:])

    /// Histogram buckets for the millisecond histograms: a decode takes 1–20 ms, scan→relay 2–50 ms.
    static let msBuckets: [Double] = [1, 2, 3, 5, 7.5, 10, 15, 20, 30, 50, 75, 100, 250, 500, 1000]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.valueHistogramBuckets = [
            "ag_decode_ms": Self.msBuckets, "ag_scan_to_relay_ms": Self.msBuckets,
        ]
        self.factory = factory
    }

    /// One scan decided at `door`.
    public func scanned(door: String, reason: String, granted: Bool, decodeMs: Double, scanToRelayMs: Double?) {
        counter("ag_scans_total", ["door": door]).increment()
        if granted {
            counter("ag_grants_total", ["door": door]).increment()
        } else {
            counter("ag_denials_total", ["door": door, "reason": reason]).increment()
        }
        histogram("ag_decode_ms", ["door": door]).record(decodeMs)
        if let scanToRelayMs { histogram("ag_scan_to_relay_ms", ["door": door]).record(scanToRelayMs) }
    }

    /// A door alarm raised or cleared: counts raises, and shows which alarms are up now.
    public func doorAlarm(door: String, alarm: String, raised: Bool) {
        if raised { counter("ag_door_alarms_total", ["door": door, "alarm": alarm]).increment() }
        gauge("ag_door_alarm_active", ["door": door, "alarm": alarm]).record(raised ? 1 : 0)
    }

    /// The frames a door's camera delivered (a counter fed from the scan loop's statistics).
    public func framesDelivered(door: String, total: Int) {
        gauge("ag_camera_frames", ["door": door]).record(Double(total))
    }

    /// Seconds since the applied snapshot was generated; nil when there is none (shown as -1).
    public func snapshotAge(_ seconds: Double?) { gauge("ag_snapshot_age_seconds", [:]).record(seconds ?? -1) }

    /// Snapshot documents refused so far, and whether the last one was (1) with none applied since.
    public func snapshotRefusals(total: Int, refusedNow: Bool) {
        gauge("ag_snapshot_refusals_total", [:]).record(Double(total))
        gauge("ag_snapshot_refused", [:]).record(refusedNow ? 1 : 0)
    }

    /// Audit events not yet acknowledged by HQ.
    public func backlog(_ events: Int) { gauge("ag_upload_backlog", [:]).record(Double(events)) }

    /// 1 when the clock is trusted, 0 when time-based grants are refused.
    public func clockTrusted(_ trusted: Bool) { gauge("ag_clock_trusted", [:]).record(trusted ? 1 : 0) }

    /// The Prometheus text exposition of every metric.
    public func exposition() -> [UInt8] { registry.emitToBuffer() }

    private func key(_ label: String, _ dimensions: [String: String]) -> (String, [(String, String)]) {
        let sorted = dimensions.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        return (label + sorted.map { "|\($0.0)=\($0.1)" }.joined(), sorted)
    }

    private func counter(_ label: String, _ dimensions: [String: String]) -> CoreMetrics.Counter {
        let (key, sorted) = key(label, dimensions)
        return counters.withLock { cache in
            if let counter = cache[key] { return counter }
            let counter = CoreMetrics.Counter(label: label, dimensions: sorted, factory: factory)
            cache[key] = counter
            return counter
        }
    }

    private func histogram(_ label: String, _ dimensions: [String: String]) -> CoreMetrics.Recorder {
        recorder(label, dimensions, aggregate: true)
    }

    private func gauge(_ label: String, _ dimensions: [String: String]) -> CoreMetrics.Recorder {
        recorder(label, dimensions, aggregate: false)
    }

    private func recorder(_ label: String, _ dimensions: [String: String], aggregate: Bool) -> CoreMetrics.Recorder {
        let (key, sorted) = key(label, dimensions)
        return recorders.withLock { cache in
            if let recorder = cache[key] { return recorder }
            let recorder = CoreMetrics.Recorder(label: label, dimensions: sorted, aggregate: aggregate, factory: factory)
            cache[key] = recorder
            return recorder
        }
    }
}
