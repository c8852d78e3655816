import Foundation
import Glibc
import HQSync
import KeyCache

// The audit drain: a backlog of N events uploaded to the reference HQ on loopback, in batches of
// 1,000, as the gateway's uploader does after a long outage.

/// Builds the backlog, starts `access-hq-dev`, enrols, and times `uploadBacklog`.
func drainBenchmark(directory: String, hqBinary: String, events: Int) async throws -> [String: Any] {
    let work = "\(directory)/drain-\(getpid())"
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: work) }
    let store = try GatewayStore(path: "\(work)/gateway.sqlite")
    let hq = try await ReferenceHQ.start(
        hqBinary: hqBinary,
        work: work,
        issuer: "hq.bench.example",
        doors: ["B/D"],
        store: store
    )
    defer { hq.stop() }
    let sync = hq.sync
    let fill = ContinuousClock.now
    var written = 0
    while written < events {
        let count = min(10_000, events - written)
        try store.appendAudit(
            batch: (0..<count).map { i in
                AuditEntry(
                    tsMs: 1_800_000_000_000 + Int64(written + i),
                    door: "B/D",
                    kind: "decision",
                    granted: i % 3 != 0,
                    reason: i % 3 != 0 ? "granted" : "member_blocked",
                    member: "m-\(i % 5000)",
                    pass: String(format: "%032x", written + i),
                    detail: ["why": "bench"]
                )
            }
        )
        written += count
    }
    let filled = ContinuousClock.now - fill
    let rssBefore = residentMB()
    let start = ContinuousClock.now
    let uploaded = try await sync.uploadBacklog()
    let took = ContinuousClock.now - start
    let seconds = Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18
    return [
        "events": uploaded, "seconds": seconds, "events_per_s": Double(uploaded) / seconds,
        "fill_seconds": Double(filled.components.seconds), "rss_mb_before": rssBefore, "rss_mb_after": residentMB(),
    ]
}

/// `access-hq-dev` on a loopback port the system chose, publishing a seed with `doors`, and the
/// gateway's `store` enrolled with it: `sync` talks to it. Its files go to `work` (`hq.log`).
final class ReferenceHQ {
    let server: Process
    let sync: GatewaySync

    private init(server: Process, sync: GatewaySync) {
        self.server = server
        self.sync = sync
    }

    static func start(
        hqBinary: String,
        work: String,
        issuer: String,
        doors: [String],
        store: GatewayStore,
        seedFile: String? = nil,
        core: Int? = nil
    ) async throws -> ReferenceHQ {
        let seed: [String: Any] = [
            "issuer": issuer, "members": [], "bookings": [], "revoked": [],
            "doors": doors.map {
                ["id": $0, "name": String($0.split(separator: "/").last ?? ""), "mode": "normal", "tz": "UTC"]
            },
        ]
        if seedFile == nil {
            try JSONSerialization.data(withJSONObject: seed).write(to: URL(fileURLWithPath: "\(work)/seed.json"))
        }
        let server = Process()
        let serve = [
            "serve", "--db", "\(work)/hq.sqlite", "--listen", "127.0.0.1:0", "--seed", seedFile ?? "\(work)/seed.json",
            "--issuer", issuer,
        ]
        // Pinned to a core of its own when asked, so that HQ and the gateway do not share one.
        if let core {
            server.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
            server.arguments = ["-c", String(core), hqBinary] + serve
        } else {
            server.executableURL = URL(fileURLWithPath: hqBinary)
            server.arguments = serve
        }
        let announcements = Pipe()
        server.standardOutput = announcements
        _ = FileManager.default.createFile(atPath: "\(work)/hq.log", contents: nil)
        server.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(work)/hq.log"))
        try server.run()
        func fail(_ why: String) -> BenchFailure {
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
            let log = (try? String(contentsOfFile: "\(work)/hq.log", encoding: .utf8)) ?? ""
            return BenchFailure("\(why): \(log.suffix(500))")
        }
        // The server creates its database; an admin command run before that would create it first.
        var heard = ""
        func announced() -> String? {
            heard.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
                .first { $0.hasPrefix("listening on ") }.map { String($0.dropFirst("listening on ".count)) }
        }
        while announced() == nil, server.isRunning {
            heard += String(decoding: announcements.fileHandleForReading.availableData, as: UTF8.self)
        }
        guard let base = announced() else { throw fail("access-hq-dev did not start") }
        let code = try output(hqBinary, ["code", "--db", "\(work)/hq.sqlite", "--doors", doors.joined(separator: ",")])
        let clock = ClockTrust()
        var enrolled: (EnrolmentRecord, DeviceIdentity)?
        for _ in 0..<100 where enrolled == nil && server.isRunning {
            enrolled = try? await GatewaySync.provision(
                store: store,
                keyPath: "\(work)/key.pem",
                hq: try HQLocation(base),
                code: code,
                name: "bench",
                clock: clock
            )
            if enrolled == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        guard let (record, identity) = enrolled else {
            throw fail("could not enrol with access-hq-dev (running: \(server.isRunning))")
        }
        return ReferenceHQ(
            server: server,
            sync: try GatewaySync(store: store, enrolment: record, identity: identity, clock: clock)
        )
    }

    func stop() {
        kill(server.processIdentifier, SIGKILL)
        server.waitUntilExit()
    }
}

struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func output(_ binary: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}

/// This process's resident set, from /proc/self/status.
func residentMB() -> Double {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
    return (Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) / 1024
}
