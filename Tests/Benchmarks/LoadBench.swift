import AccessGateway
import AccessToken
import DoorDriver
import Foundation
import Glibc
import KeyCache
import QRCodec
import Synchronization
import TestSupport

// Sustained load: the folder camera played in a loop at RATE fps, one code per frame, into a
// whole door pipeline (scan loop, rate limiter, durable decision, door controller on its thread)
// for SECONDS, with the audit upload loop draining the backlog to access-hq-dev meanwhile.

/// What a frame of the load cycle shows.
enum LoadKind: Int, CaseIterable {
    /// A member's pass, a fresh one per frame; shown again each cycle (a rescan, granted again).
    case valid
    /// A blocked member's pass: denied `member_blocked`, then `rate_limited` once it repeats.
    case blocked
    /// An invalid pass (expired, wrong door, unknown key) shown three times a cycle, 4 s apart.
    case repeatedInvalid
    /// Codes that are not passes ("hello", URLs, Wi-Fi codes), in bursts: a flood.
    case garbage

    var name: String { ["valid", "blocked", "repeated_invalid", "garbage"][rawValue] }
}

/// One frame of the load cycle.
struct LoadFrame {
    var text: String
    var kind: LoadKind
    /// Within a garbage burst (valid passes are interleaved with it).
    var flood: Bool
}

/// The 600-frame cycle (12 s at 50 fps): two garbage bursts of 90 frames (two garbage codes, then
/// one valid pass, in turn), ten invalid passes shown three times each 200 frames apart, a blocked
/// member's pass every 20 frames, and a fresh valid pass everywhere else. Every text in a frame
/// differs from its neighbours', and none recurs within 3 s (the scan cooldown) but the invalid
/// ones, 4 s apart: each frame is one admitted scan.
func loadCycle(site: DemoSite) throws -> [LoadFrame] {
    let floods = [300..<390, 500..<590]
    let stranger = SigningKey.generate(.es256)
    func invalidPass(_ k: Int) throws -> String {
        var id = [UInt8](repeating: 0xBA, count: 8)
        withUnsafeBytes(of: UInt64(k).bigEndian) { id.append(contentsOf: $0) }
        var claims = site.claims(member: "m-demo", serial: UInt64(k))
        claims.passID = id
        switch k % 3 {
        case 0:  // expired an hour ago
            claims.expiresAt = site.now - 3600
            claims.notBefore = site.now - 86400
            claims.issuedAt = site.now - 86400
            return try PassIssuer(key: site.key, kid: DemoSite.kid).issue(claims)
        case 1:  // for another door
            claims.audience = ["DEMO/BACK"]
            return try PassIssuer(key: site.key, kid: DemoSite.kid).issue(claims)
        default:  // signed by a key the gateway does not know
            return try PassIssuer(key: stranger, kid: "stranger-1").issue(claims)
        }
    }
    let garbage = { (n: Int) -> String in
        switch n % 4 {
        case 0: return "hello \(n)"
        case 1: return "https://example.com/offer?ref=\(n)"
        case 2: return "WIFI:S:guest-\(n);T:WPA;P:letmein;;"
        default: return String(1_000_000 + n)
        }
    }
    var frames: [LoadFrame?] = Array(repeating: nil, count: 600)
    var serial: UInt64 = 0
    var junk = 0
    for window in floods {
        for slot in window {
            if (slot - window.lowerBound) % 3 == 2 {
                serial += 1
                frames[slot] = LoadFrame(text: try site.pass(serial: serial), kind: .valid, flood: true)
            } else {
                junk += 1
                frames[slot] = LoadFrame(text: garbage(junk), kind: .garbage, flood: true)
            }
        }
    }
    for k in 0..<10 {
        let text = try invalidPass(k)
        for slot in [10 + 8 * k, 210 + 8 * k, 410 + 8 * k] {
            precondition(frames[slot] == nil, "the load cycle's slots overlap")
            frames[slot] = LoadFrame(text: text, kind: .repeatedInvalid, flood: false)
        }
    }
    for slot in stride(from: 5, to: 600, by: 20) where frames[slot] == nil {
        frames[slot] = LoadFrame(
            text: try site.pass(member: "m-blocked", serial: 100_000 + UInt64(slot)),
            kind: .blocked,
            flood: false
        )
    }
    return try frames.map { frame in
        if let frame { return frame }
        serial += 1
        return LoadFrame(text: try site.pass(serial: serial), kind: .valid, flood: false)
    }
}

/// One decision, compact: 30,000 of them must not show in the RSS being measured.
struct LoadRecord {
    /// Seconds since the start, when the door was commanded.
    var at: Float = 0
    /// Frame handed to the loop → door commanded (for a grant, the relay command).
    var latencyMs: Float = 0
    /// The first cycle slot showing this text; `UInt16.max` for a text not in the cycle.
    var slot = UInt16.max
    /// Index in `AccessReason.allCases`; `UInt8.max` when nothing could be decided.
    var reason = UInt8.max
}

/// Records decisions into storage allocated and touched before the run.
final class LoadRecorder: Sendable {
    private let state: Mutex<(records: [LoadRecord], count: Int, lost: Int)>

    init(capacity: Int) { state = Mutex((Array(repeating: LoadRecord(), count: capacity), 0, 0)) }

    func append(_ record: LoadRecord) {
        state.withLock { state in
            guard state.count < state.records.count else {
                state.lost += 1
                return
            }
            state.records[state.count] = record
            state.count += 1
        }
    }

    var count: Int { state.withLock { $0.count } }
    var all: (records: [LoadRecord], lost: Int) { state.withLock { (Array($0.records[..<$0.count]), $0.lost) } }
}

/// Least-squares slope of `y` over `x`.
func slope(_ points: [(x: Double, y: Double)]) -> Double {
    guard points.count > 1 else { return 0 }
    let n = Double(points.count)
    let mx = points.map(\.x).reduce(0, +) / n
    let my = points.map(\.y).reduce(0, +) / n
    let sxx = points.map { ($0.x - mx) * ($0.x - mx) }.reduce(0, +)
    let sxy = points.map { ($0.x - mx) * ($0.y - my) }.reduce(0, +)
    return sxx > 0 ? sxy / sxx : 0
}

/// The most entries of `times` (sorted, seconds) within any `window` seconds.
func mostWithin(_ times: [Double], window: Double) -> Int {
    var most = 0
    var first = 0
    for (last, time) in times.enumerated() {
        while time - times[first] >= window { first += 1 }
        most = max(most, last - first + 1)
    }
    return most
}

/// The shortest time spanned by `count` consecutive entries of `times` (sorted); nil when fewer.
func shortestSpan(_ times: [Double], count: Int) -> Double? {
    guard count > 0, times.count >= count else { return nil }
    return (0...(times.count - count)).map { times[$0 + count - 1] - times[$0] }.min()
}

/// `seconds` of scans at `rate` fps from a looped PGM folder, against a demo site enrolled with
/// `access-hq-dev`, whose upload loop runs every 2 s.
func loadBenchmark(directory: String, hqBinary: String, seconds: Double, rate: Double) async throws -> [String: Any] {
    let work = "\(directory)/load-\(getpid())"
    try FileManager.default.createDirectory(atPath: "\(work)/frames", withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: work) }
    let site = DemoSite()
    let store = try GatewayStore(path: "\(work)/gateway.sqlite", durability: .powerLoss)
    try site.install(in: store)
    let hq = try await ReferenceHQ.start(
        hqBinary: hqBinary,
        work: work,
        issuer: DemoSite.issuer,
        doors: [site.door],
        store: store
    )
    defer { hq.stop() }

    let cycle = try loadCycle(site: site)
    var slots: [String: UInt16] = [:]
    for (slot, frame) in cycle.enumerated() {
        var image = GreyImage(width: 320, height: 240, fill: 200)
        let code = try QRMatrix.encode(text: frame.text).image(moduleSize: 2)
        // Anywhere in view, whole.
        image.paste(code, x: (slot * 37) % (320 - code.width + 1), y: (slot * 53) % (240 - code.height + 1))
        try Data(PGM.encode(image)).write(to: URL(fileURLWithPath: String(format: "\(work)/frames/%04d.pgm", slot)))
        if slots[frame.text] == nil { slots[frame.text] = UInt16(slot) }
    }
    let lookup = slots

    let id = site.door
    let door = try DoorControllerThread.start {
        let io = MemoryDoorIO(outputs: [id: [.relay, .green, .red]], inputs: [], blocking: true)
        let config = DoorConfig(id: id, relay: LineConfig(chip: "memory", line: "0"), pulseSeconds: 0.2)
        let clock = ContinuousClock()
        let origin = clock.now
        return try DoorController(io: io, doors: [config], clock: { clock.now - origin }) { _, _ in }
    }
    let recorder = LoadRecorder(capacity: Int(seconds * rate * 1.5) + 10_000)
    let reasons = AccessReason.allCases
    let origin = ContinuousClock.now
    let pipeline = DoorPipeline(
        scan: ScanSettings(),
        entrance: Entrance(
            door: site.door,
            decider: AccessDecider(store: store),
            doorInbox: door.inbox,
            report: { decision in
                recorder.append(
                    LoadRecord(
                        at: Float(ms(decision.commandedAt - origin) / 1000),
                        latencyMs: Float(ms(decision.commandedAt - decision.code.capturedAt)),
                        slot: lookup[decision.code.text] ?? .max,
                        reason: decision.decision.flatMap { d in reasons.firstIndex(of: d.reason) }.map { UInt8($0) }
                            ?? .max
                    )
                )
            }
        )
    )
    let folder = "\(work)/frames"
    let cpuStart = cpuSeconds()
    pipeline.start { try PGMFolderSource(folder: folder, fps: rate, loop: true) }
    let sync = hq.sync
    let uploader = Task { await sync.runUploadLoop(every: .seconds(2)) }

    // Every 10 s: RSS, the upload backlog, decisions and the scan loop's counts.
    var samples: [[String: Any]] = []
    var previous: (at: Double, decisions: Int) = (0, 0)
    func sample() throws {
        let at = ms(ContinuousClock.now - origin) / 1000
        let decisions = recorder.count
        let stats = pipeline.scanLoop.statistics
        var row: [String: Any] = [
            "t": at, "rss_mb": residentMB(), "backlog": try store.uploadBacklog(), "decisions": decisions,
            "decisions_per_s": at > previous.at ? Double(decisions - previous.decisions) / (at - previous.at) : 0,
            "frames": stats.frames, "decoded": stats.decoded, "dropped": stats.dropped, "admitted": stats.admitted,
        ]
        if let error = sync.status.lastError { row["upload_error"] = error }
        samples.append(row)
        previous = (at, decisions)
    }
    try sample()
    let end = origin + .seconds(seconds)
    var next = origin + .seconds(10)
    while next < end {
        try await Task.sleep(until: next, clock: .continuous)
        try sample()
        next += .seconds(10)
    }
    try await Task.sleep(until: end, clock: .continuous)
    try sample()
    let stats = pipeline.scanLoop.statistics
    let elapsed = ms(ContinuousClock.now - origin) / 1000
    let cpu = cpuSeconds() - cpuStart
    pipeline.stop()
    door.stop()
    uploader.cancel()
    await uploader.value
    // The rest, now that nothing is added: HQ must take the whole chain.
    try await sync.uploadBacklog()
    let backlogAfter = try store.uploadBacklog()

    // Figures.
    let (records, lost) = recorder.all
    func kind(_ r: LoadRecord) -> LoadKind? { r.slot == .max ? nil : cycle[Int(r.slot)].kind }
    func reasonName(_ r: LoadRecord) -> String { r.reason == .max ? "undecided" : reasons[Int(r.reason)].rawValue }
    let rateLimited = UInt8(reasons.firstIndex(of: .rateLimited)!)
    let granted = UInt8(reasons.firstIndex(of: .granted)!)
    var totals: [String: Int] = [:]
    var byKind: [String: [String: Int]] = [:]
    for r in records {
        totals[reasonName(r), default: 0] += 1
        byKind[kind(r)?.name ?? "unknown", default: [:]][reasonName(r), default: 0] += 1
    }
    let minutes = max(1, Int(seconds / 60))
    let valid = records.filter { kind($0) == .valid }
    var perMinute: [[String: Any]] = []
    for minute in 0..<minutes {
        let inMinute = records.filter { min(minutes - 1, Int($0.at / 60)) == minute }
        let latencies = inMinute.filter { kind($0) == .valid }.map { Double($0.latencyMs) }.sorted()
        perMinute.append([
            "minute": minute + 1, "decisions": inMinute.count, "valid": latencies.count,
            "valid_p50_ms": percentile(latencies, 0.5), "valid_p99_ms": percentile(latencies, 0.99),
            "valid_max_ms": latencies.last ?? 0,
        ])
    }
    func latencyFigures(_ subset: [LoadRecord]) -> [String: Any] {
        let sorted = subset.map { Double($0.latencyMs) }.sorted()
        return [
            "count": sorted.count, "p50_ms": percentile(sorted, 0.5), "p99_ms": percentile(sorted, 0.99),
            "max_ms": sorted.last ?? 0,
        ]
    }
    // Repeat denials: every text shown again and again must reach rate_limited, and be decided
    // (denied) at most the limiter's 3 times in 60 s. Times here are when the door was commanded;
    // the limiter reads its clock as the decision starts, a few ms earlier.
    let limits = ScanRateLimiter()
    var repeats: [String: Any] = [:]
    for repeated in [LoadKind.blocked, .repeatedInvalid] {
        let shown = records.filter { kind($0) == repeated }
        let texts = Dictionary(grouping: shown, by: \.slot)
        let limited = texts.values.filter { $0.contains { $0.reason == rateLimited } }.count
        let denials = texts.values.map { group in
            group.filter { $0.reason != rateLimited }.map { Double($0.at) }.sorted()
        }
        var figures: [String: Any] = [
            "texts": texts.count, "texts_rate_limited": limited, "limit": limits.deniedLimit,
            "most_denials_in_60s": denials.map { mostWithin($0, window: 60) }.max() ?? 0,
        ]
        // How soon the denial past the limit came after the first of them.
        if let span = denials.compactMap({ shortestSpan($0, count: limits.deniedLimit + 1) }).min() {
            figures["shortest_span_over_limit_s"] = span
        }
        repeats[repeated.name] = figures
    }
    let garbage = records.filter { kind($0) == .garbage }
    let garbageDecided = garbage.filter { $0.reason != rateLimited }.map { Double($0.at) }.sorted()
    var garbageFigures: [String: Any] = [
        "count": garbage.count, "rate_limited": garbage.count - garbageDecided.count, "limit": limits.garbageLimit,
        "decided": garbageDecided.count, "most_decided_in_60s": mostWithin(garbageDecided, window: 60),
    ]
    if let span = shortestSpan(garbageDecided, count: limits.garbageLimit + 1) {
        garbageFigures["shortest_span_over_limit_s"] = span
    }
    let rss = samples.map { $0["rss_mb"] as! Double }
    let backlogs = samples.map { $0["backlog"] as! Int }
    let warm = samples.filter { ($0["t"] as! Double) >= 60 }
    let rssSlope = slope(warm.map { (x: ($0["t"] as! Double) / 60, y: $0["rss_mb"] as! Double) })
    let decode = stats.recentDecodeMs.sorted()
    #if DEBUG
    let build = "debug"
    #else
    let build = "release"
    #endif
    return [
        "build": build,
        "seconds": elapsed, "rate_fps": rate, "cycle_frames": cycle.count, "cycle_seconds": Double(cycle.count) / rate,
        "cycle": Dictionary(grouping: cycle, by: \.kind.name).mapValues(\.count),
        "decisions": records.count, "records_lost": lost, "scans_per_s": Double(records.count) / elapsed,
        "frames": stats.frames, "frames_per_s": Double(stats.frames) / elapsed, "decoded": stats.decoded,
        "dropped": stats.dropped, "admitted": stats.admitted, "decode_ms_p50": percentile(decode, 0.5),
        "decode_ms_p99": percentile(decode, 0.99), "cpu_percent_of_one_core": cpu / elapsed * 100,
        "totals": totals, "by_kind": byKind, "per_minute": perMinute,
        "valid": latencyFigures(valid), "valid_in_flood": latencyFigures(valid.filter { cycle[Int($0.slot)].flood }),
        "valid_outside_flood": latencyFigures(valid.filter { !cycle[Int($0.slot)].flood }),
        "valid_never_rate_limited": !valid.contains { $0.reason == rateLimited },
        "valid_not_granted": valid.filter { $0.reason != granted }.count,
        "repeats": repeats,
        "garbage": garbageFigures,
        "rss_mb_first": rss.first ?? 0, "rss_mb_last": rss.last ?? 0, "rss_mb_max": rss.max() ?? 0,
        "rss_mb_per_min_after_1min": rssSlope, "backlog_max": backlogs.max() ?? 0, "backlog_last": backlogs.last ?? 0,
        "backlog_after_final_upload": backlogAfter, "upload_interval_s": 2, "samples": samples,
    ]
}
