import Foundation
import Glibc
import HQSync
import KeyCache

// A misbehaving HQ (Tests/faults/bad_hq.py): how long HQClient's 2 s timeout takes to give up on a
// server that trickles or holds, and how long the sync loops take to end once cancelled while one
// does. MisbehavingHQTests checks only generous correctness bounds; the figures are these.

/// `bad_hq.py MODE 0` on a port it chose, killed by ``stop()``.
final class FaultyHQ {
    let process = Process()
    let port: Int

    init(script: String, mode: String, extra: [String] = []) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-u", script, mode, "0"] + extra
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        var heard = ""
        func ready() -> Bool {
            heard.split(separator: "\n", omittingEmptySubsequences: false).dropLast().contains { $0.hasPrefix("READY ") }
        }
        while process.isRunning, !ready() {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { break }
            heard += String(decoding: data, as: UTF8.self)
        }
        guard let line = heard.split(separator: "\n").first(where: { $0.hasPrefix("READY ") }),
            let port = Int(line.dropFirst("READY ".count))
        else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw BenchFailure("bad_hq.py \(mode) did not start: \(heard)")
        }
        self.port = port
        // The rest of its log is not read: send it nowhere so the pipe never fills.
        output.fileHandleForReading.readabilityHandler = { _ = $0.availableData }
    }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

func elapsedSeconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// `trials` timeouts per slow mode, and `trials` cancellations per mode of the running sync loops.
func hqFaultBenchmark(directory: String, hqBinary: String, script: String, trials: Int) async throws -> [String: Any] {
    let work = "\(directory)/hqfaults-\(getpid())"
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: work) }
    let identity = try DeviceIdentity.load(path: "\(work)/probe-key.pem", create: true)
    var timeouts: [String: [Double]] = [:]
    for mode in ["slow", "slowhead", "hold"] {
        let bad = try FaultyHQ(script: script, mode: mode)
        defer { bad.stop() }
        let client = HQClient(location: try HQLocation("http://127.0.0.1:\(bad.port)"), identity: identity, timeout: .seconds(2))
        for _ in 0..<trials {
            let token = try identity.token(subject: "gw-1", audience: "hq.bench.example", now: Date().timeIntervalSince1970)
            let start = ContinuousClock.now
            _ = try? await client.snapshot(token: token, since: nil, etag: nil)
            timeouts[mode, default: []].append(elapsedSeconds(ContinuousClock.now - start))
        }
    }

    let store = try GatewayStore(path: "\(work)/gateway.sqlite")
    let hq = try await ReferenceHQ.start(hqBinary: hqBinary, work: work, issuer: "hq.bench.example", doors: ["B/D"], store: store)
    defer { hq.stop() }
    var cancels: [String: [Double]] = [:]
    var intervals = GatewaySync.Intervals()
    intervals.upload = .milliseconds(200)
    intervals.snapshot = .milliseconds(500)
    intervals.commandWait = 1
    for mode in ["slow", "slowhead", "hold"] {
        let bad = try FaultyHQ(script: script, mode: mode)
        defer { bad.stop() }
        var record = hq.sync.enrolment
        record.hq = try HQLocation("http://127.0.0.1:\(bad.port)")
        let sync = try GatewaySync(
            store: store,
            enrolment: record,
            identity: try DeviceIdentity.load(path: "\(work)/key.pem", create: false),
            clock: ClockTrust(kernelSynchronised: { true }),
            client: HQClient(location: record.hq, identity: try DeviceIdentity.load(path: "\(work)/key.pem", create: false), timeout: .seconds(3))
        )
        for _ in 0..<trials {
            let loops = Task { await sync.run(intervals: intervals) }
            try await Task.sleep(for: .milliseconds(1500))
            let cancelled = ContinuousClock.now
            loops.cancel()
            await loops.value
            cancels[mode, default: []].append(elapsedSeconds(ContinuousClock.now - cancelled))
        }
    }
    func summary(_ values: [Double]) -> [String: Double] {
        let sorted = values.sorted()
        return ["median_s": sorted[sorted.count / 2], "max_s": sorted.last ?? 0]
    }
    return [
        "trials": trials, "client_timeout_s": 2,
        "timeout": timeouts.mapValues(summary), "cancel": cancels.mapValues(summary),
    ]
}
