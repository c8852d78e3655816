import AccessToken
import Dispatch
import Foundation
import Glibc
import HQSync
import KeyCache
import Synchronization

// The signed HQ path at a real site's size: `access-hq-dev` serves a generated site of N bookings
// (N/10 members, N/10 revocations, 1,000 doors over 50 locations) on loopback, and this process,
// the gateway, pulls it as the daemon does. bench.py pins HQ to core 1 and this process to core 0.

/// Writes `access-hq-dev site …` to `path`.
func writeSite(_ hqBinary: String, _ path: String, bookings: Int, extra: Int, now: Int64) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: hqBinary)
    process.arguments = [
        "site", "--members", "\(bookings / 10)", "--bookings", "\(bookings + extra)", "--revoked", "\(bookings / 10)",
        "--doors", "1000", "--locations", "50", "--now", "\(now)",
    ]
    _ = FileManager.default.createFile(atPath: path, contents: nil)
    process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw BenchFailure("access-hq-dev site failed") }
}

/// Decides one pass every 10 ms on a thread of its own, as a door would, timing each decision.
final class DoorPump: @unchecked Sendable {
    private let stopping = Atomic<Bool>(false)
    private let times = Mutex<[Double]>([])
    private let slow = Mutex<[[Double]]>([])
    private let done = DispatchSemaphore(value: 0)
    let started = ContinuousClock.now

    init(store: GatewayStore, pass: String, door: String) {
        let decider = AccessDecider(store: store)
        Thread { [self] in
            defer { done.signal() }
            while !stopping.load(ordering: .acquiring) {
                let start = ContinuousClock.now
                _ = try? decider.decide(pass, door: door, now: Date().timeIntervalSince1970)
                let took = ContinuousClock.now - start
                let ms = Double(took.components.seconds) * 1e3 + Double(took.components.attoseconds) / 1e15
                times.withLock { $0.append(ms) }
                if ms > 5 { slow.withLock { $0.append([seconds(since: started), ms]) } }
                usleep(10_000)
            }
        }.start()
    }

    /// Each decision over 5 ms: [seconds since the pump started, milliseconds].
    var slowDecisions: [[Double]] { slow.withLock { $0 } }

    /// Stops and returns every decision's milliseconds.
    func stop() -> [Double] {
        stopping.store(true, ordering: .releasing)
        done.wait()
        return times.withLock { $0 }
    }
}

func seconds(since start: ContinuousClock.Instant) -> Double {
    let took = ContinuousClock.now - start
    return Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18
}

/// The peak resident set since the last reset, in MB (VmHWM).
func peakResidentMB() -> Double {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
    return (Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) / 1024
}

/// Resets VmHWM to the current resident set (Linux: `5` to /proc/self/clear_refs).
func resetPeakResident() {
    try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
}

func hqPathBenchmark(directory: String, hqBinary: String, bookings: Int) async throws -> [String: Any] {
    let work = "\(directory)/hqpath-\(getpid())"
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: work) }
    let now = Int64(Date().timeIntervalSince1970)
    let site = "\(work)/site.json"
    try writeSite(hqBinary, site, bookings: bookings, extra: 0, now: now)
    let siteMB = Double((try FileManager.default.attributesOfItem(atPath: site)[.size] as? Int) ?? 0) / 1e6
    let store = try GatewayStore(path: "\(work)/gateway.sqlite")
    let hqStart = ContinuousClock.now
    let hq = try await ReferenceHQ.start(
        hqBinary: hqBinary,
        work: work,
        issuer: "hq.bench.example",
        doors: ["SITE1/DOOR1"],
        store: store,
        seedFile: site,
        core: 1
    )
    defer { hq.stop() }
    let hqReady = seconds(since: hqStart)
    let sync = hq.sync
    let admin = ["--db", "\(work)/hq.sqlite"]

    // 1. The full snapshot, published → applied, with the gateway's peak RSS.
    resetPeakResident()
    let rssBefore = residentMB()
    let fullStart = ContinuousClock.now
    guard case .applied = try await sync.pullSnapshot() else { throw BenchFailure("the full snapshot did not apply") }
    let fullSeconds = seconds(since: fullStart)
    let peak = peakResidentMB()
    let full = try need(sync.status.lastTransfer, "transfer report")
    let info = try need(try store.snapshotInfo(), "snapshot")

    // 2. A delta of 1,000 changes (1,000 new bookings) while a door decides.
    let pass = try output(hqBinary, ["pass"] + admin + ["--member", "member-1", "--door", "SITE1/DOOR1"])
    let revised = "\(work)/revised.json"
    try writeSite(hqBinary, revised, bookings: bookings, extra: 1000, now: now)
    _ = try output(hqBinary, ["snapshot"] + admin + ["--seed", revised])
    // HQ makes (and caches) the delta on first request; its time is HQ's, not the gateway's.
    let identity = try DeviceIdentity.load(path: "\(work)/key.pem", create: false)
    let token = try identity.token(
        subject: sync.enrolment.gatewayID,
        audience: sync.enrolment.issuer,
        now: Date().timeIntervalSince1970
    )
    // HQ parses both versions to make the delta: minutes on a loaded core, past the gateway's timeout.
    let patient = HQClient(location: sync.enrolment.hq, identity: identity, timeout: .seconds(600))
    let hqDeltaStart = ContinuousClock.now
    _ = try await patient.snapshot(token: token, since: info.seq, etag: nil)
    let hqDeltaSeconds = seconds(since: hqDeltaStart)
    let deltaStart = ContinuousClock.now
    guard case .applied = try await sync.pullSnapshot() else { throw BenchFailure("the delta did not apply") }
    let deltaMs = seconds(since: deltaStart) * 1000
    let deltaWasTransfer = sync.status.lastTransfer != full

    // 3. A full transfer on the same store while a door decides, cut at half and resumed.
    _ = try output(hqBinary, ["snapshot"] + admin + ["--seed", site])
    let pump = DoorPump(store: store, pass: pass, door: "SITE1/DOOR1")
    let cut = Task { try await sync.pullSnapshot(full: true) }
    while (sync.status.lastTransfer?.seq ?? 0) <= info.seq + 1
        || (sync.status.lastTransfer?.fetched ?? 0) * 2 < (sync.status.lastTransfer?.chunks ?? 1)
    {
        try await Task.sleep(for: .milliseconds(5))
    }
    cut.cancel()
    _ = try? await cut.value
    let beforeCut = try need(sync.status.lastTransfer, "transfer report")
    let resumeStart = ContinuousClock.now
    let resumeAt = seconds(since: pump.started)
    guard case .applied = try await sync.pullSnapshot(full: true) else { throw BenchFailure("the resume did not apply") }
    let resumeSeconds = seconds(since: resumeStart)
    // Stopped as the pull ends: later decisions, on an idle core, would thin out its p99.
    let decisions = pump.stop()
    let resumeEnd = seconds(since: pump.started)
    let resumed = try need(sync.status.lastTransfer, "transfer report")

    return [
        "bookings": info.bookings, "members": info.members, "revoked": info.revoked, "doors": info.doors,
        "site_json_mb": siteMB, "hq_ready_s": hqReady,
        "full_s": fullSeconds, "chunks": full.chunks, "wire_mb": Double(full.wireBytes) / 1e6,
        "raw_mb": Double(full.rawBytes) / 1e6, "rss_mb_before": rssBefore, "rss_mb_peak": peak,
        "delta_ms": deltaMs, "delta_was_transfer": deltaWasTransfer, "hq_delta_s": hqDeltaSeconds,
        "cut_at_chunk": beforeCut.fetched, "resumed_at_chunk": resumed.resumedAt,
        "resent_fraction": Double(resumed.wireBytes) / Double(max(1, resumed.totalWireBytes)),
        "resume_s": resumeSeconds,
        "decisions": decisions.count, "decision_p50_ms": percentile(decisions.sorted(), 0.5),
        "decision_p99_ms": percentile(decisions.sorted(), 0.99), "decision_max_ms": decisions.max() ?? .nan,
        "slow_decisions": pump.slowDecisions, "resume_at_s": resumeAt, "resume_end_s": resumeEnd,
    ]
}

/// `value`, or a bench failure naming `what`.
func need<T>(_ value: T?, _ what: String) throws -> T {
    guard let value else { throw BenchFailure("no \(what)") }
    return value
}
