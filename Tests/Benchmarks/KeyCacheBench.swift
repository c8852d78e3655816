import AccessToken
import Foundation
import HQProtocol
import KeyCache

/// KeyCache figures for docs/BENCHMARKS.md: a generated snapshot of `bookings` bookings,
/// `members` members and `revoked` revoked passes, in a fresh database under `directory`.
func keyCacheBenchmark(directory: String, members: Int, bookings: Int, revoked: Int) throws -> [String: Any] {
    let now = Date().timeIntervalSince1970.rounded(.down)
    let t = Int64(now)
    let key = SigningKey.generate(.es256)
    let jwk = try JSONSerialization.data(withJSONObject: key.publicJWK(kid: "bench-1"))
    func snapshot(seq: Int64) throws -> Data {
        // Built as text: the encoder would dominate the generation time otherwise.
        var out = "{\"format\":\"ag-snapshot/1\",\"issuer\":\"hq.bench\",\"seq\":\(seq),\"generated_at\":\(t - 600),"
        out += "\"max_age\":604800,\"keys\":{\"keys\":[\(String(decoding: jwk, as: UTF8.self))]},"
        out += "\"doors\":[{\"id\":\"L1/D1\",\"name\":\"Front\",\"mode\":\"normal\",\"tz\":\"Asia/Jakarta\"}],"
        out += "\"members\":["
        out += (0..<members).map { "{\"id\":\"m-\($0)\",\"blocked\":\($0 % 97 == 0)}" }.joined(separator: ",")
        out += "],\"bookings\":["
        out += (0..<bookings).map {
            "{\"id\":\"b-\($0)\",\"member\":\"m-\($0 % members)\",\"doors\":[\"L1\"],\"start\":\(t - 3600),"
                + "\"end\":\(t + 86400),\"status\":\"\($0 % 10 == 9 ? "cancelled" : "confirmed")\"}"
        }.joined(separator: ",")
        out += "],\"revoked\":["
        out += (0..<revoked).map {
            String(format: "{\"pass\":\"%032x\",\"until\":%lld}", $0 + 1_000_000_000, t + 86400)
        }
        .joined(separator: ",")
        out += "]}"
        return Data(out.utf8)
    }
    let clock = ContinuousClock()
    func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15 }
    func percentile(_ values: [Double], _ p: Double) -> Double {
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
    }

    let path = directory + "/bench.sqlite"
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    let store = try GatewayStore(path: path)
    let data = try snapshot(seq: 1)

    var start = clock.now
    let document = try SnapshotDocument.parse(data)
    let parseMs = ms(clock.now - start)
    start = clock.now
    try store.apply(document, now: now)
    let applyMs = ms(clock.now - start)

    // Passes of members with confirmed bookings, so every decision walks every check.
    let issuer = PassIssuer(key: key, kid: "bench-1")
    let passes = try (0..<2000).map { i -> String in
        let booking = (i * 7919) % bookings / 10 * 10
        return try issuer.issue(
            PassClaims(
                issuer: "hq.bench",
                member: "m-\(booking % members)",
                audience: ["L1"],
                expiresAt: now + 3600,
                notBefore: now - 60,
                issuedAt: now - 60,
                passID: Array(String(format: "%016d", i).utf8),
                bookingID: "b-\(booking)"
            )
        )
    }
    let decider = AccessDecider(store: store)
    var latencies: [Double] = []
    for pass in passes {
        start = clock.now
        let decision = try decider.decide(pass, door: "L1/D1", now: now)
        latencies.append(ms(clock.now - start))
        precondition(decision.granted || decision.reason == .memberBlocked, "\(decision.reason): \(decision.detail)")
    }

    // A delta of 1 000 changes.
    let delta: [String: Any] = [
        "format": "ag-snapshot-delta/1", "base_seq": 1, "seq": 2,
        "upsert": [
            "bookings": (0..<500).map {
                [
                    "id": "b-new-\($0)", "member": "m-\($0)", "doors": ["L1"], "start": t, "end": t + 3600,
                    "status": "confirmed",
                ]
            }
        ],
        "delete": ["bookings": (0..<500).map { "b-\($0 * 3)" }],
    ]
    let deltaDocument = try SnapshotDocument.parse(JSONSerialization.data(withJSONObject: delta))
    start = clock.now
    try store.apply(deltaDocument, now: now)
    let deltaMs = ms(clock.now - start)

    // Decisions while a full snapshot applies on another thread.
    let next = try SnapshotDocument.parse(try snapshot(seq: 3))
    let applying = DispatchSemaphore(value: 0)
    let done = ManagedAtomicFlag()
    Thread.detachNewThread {
        applying.signal()
        _ = try? store.apply(next, now: now)
        done.set()
    }
    applying.wait()
    var during: [Double] = []
    var i = 0
    while !done.isSet {
        start = clock.now
        _ = try decider.decide(passes[i % passes.count], door: "L1/D1", now: now)
        during.append(ms(clock.now - start))
        i += 1
    }

    // Durable appends, alone, with each durability setting.
    var appendMs: [String: Double] = [:]
    for durability in [GatewayStore.Durability.powerLoss, .processCrash] {
        let appendPath = directory + "/append-\(durability.rawValue).sqlite"
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: appendPath + suffix) }
        let appendStore = try GatewayStore(path: appendPath, durability: durability)
        var samples: [Double] = []
        for n in 0..<1000 {
            start = clock.now
            try appendStore.appendAudit(
                AuditEntry(
                    tsMs: Int64(n),
                    door: "L1/D1",
                    kind: "decision",
                    granted: true,
                    reason: "granted",
                    member: "m-1"
                )
            )
            samples.append(ms(clock.now - start))
        }
        appendMs[durability.rawValue] = percentile(samples, 0.5)
    }

    let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.doubleValue ?? 0
    return [
        "members": members, "bookings": bookings, "revoked": revoked, "snapshot_mb": Double(data.count) / 1e6,
        "parse_ms": parseMs, "apply_ms": applyMs, "decision_p50_ms": percentile(latencies, 0.5),
        "decision_p99_ms": percentile(latencies, 0.99), "delta_1k_ms": deltaMs,
        "decisions_during_apply": during.count, "during_apply_p99_ms": during.isEmpty ? 0 : percentile(during, 0.99),
        "during_apply_max_ms": during.max() ?? 0, "append_full_ms": appendMs["powerLoss"]!,
        "append_normal_ms": appendMs["processCrash"]!, "db_mb": size / 1e6,
    ]
}

/// A flag set once from another thread.
final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
