import AccessToken
import Foundation
import QRCodec
import TestSupport

// ag-bench: figures for docs/BENCHMARKS.md, one JSON object per run; scripts/bench.py writes the file.
//   ag-bench verify [N]                  full AG1 pass verification, N passes per algorithm
//   ag-bench keycache DIR [SCALE]        the store: SCALE × (1 M bookings, 100 k members, 100 k revoked)
//   ag-bench pipeline DIR [TRIALS]       scan → relay latency, in-memory door, store file in DIR;
//                                        each chain with the frame gate, the first one without
//   ag-bench idle [SECONDS]              CPU of the scan loop on 30 fps doorway streams with no code
//                                        (still, noisy, flicker, walk-past), frame gate on and off
//   ag-bench drain DIR HQ_BINARY [N]     upload of an N-event backlog to access-hq-dev on loopback
//   ag-bench ag2 DIR [N] [FRAMES]        AG2 against AG1: token checks and decisions (N each), decode
//                                        and decision per 640×480 frame (FRAMES each)
//   ag-bench hqfaults DIR HQ_BINARY BAD_HQ_SCRIPT [TRIALS]   HQClient's 2 s timeout against a
//                                        trickling or silent HQ, and the sync loops' end after cancel
//   ag-bench load DIR HQ_BINARY [SECONDS] [RATE]   sustained scans (default 600 s at 50 fps) from a
//                                        looped PGM folder, the upload loop draining to access-hq-dev

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "keycache" {
    let scale = arguments.count > 2 ? Double(arguments[2]) ?? 1 : 1
    let result = try keyCacheBenchmark(
        directory: arguments.count > 1 ? arguments[1] : NSTemporaryDirectory(),
        members: Int(100_000 * scale),
        bookings: Int(1_000_000 * scale),
        revoked: Int(100_000 * scale)
    )
    print(String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
    exit(0)
}
func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
}

func printJSON(_ object: Any) throws {
    print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
}

if arguments.first == "pipeline" {
    let trials = arguments.count > 2 ? Int(arguments[2]) ?? 150 : 150
    let directory = arguments.count > 1 ? arguments[1] : NSTemporaryDirectory()
    var runs: [[String: Any]] = []
    // The daemon's default (the frame gate on) for each chain, then the first chain without the gate.
    let chains = QRScanner.zxingAvailable ? [QRDecoders.auto, .zbar] : [.zbar]
    for decoders in chains {
        runs.append(try pipelineBenchmark(directory: directory, trials: trials, decoders: decoders))
    }
    runs.append(try pipelineBenchmark(directory: directory, trials: trials, decoders: chains[0], gate: false))
    try printJSON(["pipeline": runs])
    exit(0)
}
if arguments.first == "drain", arguments.count > 2 {
    let events = arguments.count > 3 ? Int(arguments[3]) ?? 1_000_000 : 1_000_000
    try printJSON(["drain": try await drainBenchmark(directory: arguments[1], hqBinary: arguments[2], events: events)])
    exit(0)
}
if arguments.first == "hqfaults", arguments.count > 3 {
    let trials = arguments.count > 4 ? Int(arguments[4]) ?? 5 : 5
    try printJSON([
        "hqfaults": try await hqFaultBenchmark(
            directory: arguments[1],
            hqBinary: arguments[2],
            script: arguments[3],
            trials: trials
        )
    ])
    exit(0)
}
if arguments.first == "hqpath", arguments.count > 2 {
    let bookings = arguments.count > 3 ? Int(arguments[3]) ?? 1_000_000 : 1_000_000
    try printJSON(
        ["hqpath": try await hqPathBenchmark(directory: arguments[1], hqBinary: arguments[2], bookings: bookings)]
    )
    exit(0)
}
if arguments.first == "load", arguments.count > 2 {
    let seconds = arguments.count > 3 ? Double(arguments[3]) ?? 600 : 600
    let rate = arguments.count > 4 ? Double(arguments[4]) ?? 50 : 50
    try printJSON(
        ["load": try await loadBenchmark(directory: arguments[1], hqBinary: arguments[2], seconds: seconds, rate: rate)]
    )
    exit(0)
}
if arguments.first == "ag2" {
    try printJSON([
        "ag2": try ag2Benchmark(
            directory: arguments.count > 1 ? arguments[1] : NSTemporaryDirectory(),
            iterations: arguments.count > 2 ? Int(arguments[2]) ?? 3000 : 3000,
            frames: arguments.count > 3 ? Int(arguments[3]) ?? 200 : 200
        )
    ])
    exit(0)
}
if arguments.first == "idle" {
    let seconds = arguments.count > 1 ? Double(arguments[1]) ?? 10 : 10
    // Each scene with the frame gate and without; the zbar-only chain on the still scene.
    let chains = QRScanner.zxingAvailable ? [QRDecoders.auto, .zbar] : [.zbar]
    var runs: [[String: Any]] = []
    for scene in DoorwayStream.Kind.allCases {
        for gate in [true, false] {
            runs.append(idleBenchmark(seconds: seconds, decoders: chains[0], scene: scene, gate: gate))
        }
    }
    if chains.count > 1 {
        for gate in [true, false] {
            runs.append(idleBenchmark(seconds: seconds, decoders: .zbar, scene: .still, gate: gate))
        }
    }
    try printJSON(["idle": runs])
    exit(0)
}
let iterations = arguments.dropFirst().first.flatMap(Int.init) ?? 3000

func measure(_ alg: COSEAlgorithm) throws -> [String: Double] {
    let key = SigningKey.generate(alg)
    let now = Date().timeIntervalSince1970.rounded(.down)
    let claims = PassClaims(
        issuer: "hq.bench.example",
        member: "m-bench-000001",
        audience: ["LOC1/D1"],
        expiresAt: now + 3600,
        notBefore: now - 60,
        issuedAt: now - 60,
        passID: Array(repeating: 7, count: 16),
        bookingID: "b-bench-1"
    )
    let text = try PassIssuer(key: key, kid: "bench-1").issue(claims)
    let jwks = try JSONSerialization.data(withJSONObject: ["keys": [key.publicJWK(kid: "bench-1")]])
    let verifier = PassVerifier(keys: try PassKeySet(jwks: jwks), issuer: "hq.bench.example")
    let clock = ContinuousClock()
    var samples: [Double] = []
    samples.reserveCapacity(iterations)
    for i in 0..<(iterations + 100) {
        let start = clock.now
        let verdict = verifier.verify(text, door: "LOC1/D1", now: now)
        let elapsed = clock.now - start
        precondition(verdict.granted, "benchmark pass was not granted: \(verdict.detail)")
        // The first 100 runs warm caches and are not counted.
        if i >= 100 {
            samples.append(Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6)
        }
    }
    samples.sort()
    return ["median_us": percentile(samples, 0.5), "p95_us": percentile(samples, 0.95), "chars": Double(text.count)]
}

let results: [String: Any] = [
    "iterations": iterations,
    "ES256": try measure(.es256),
    "Ed25519": try measure(.edDSA),
]
let data = try JSONSerialization.data(withJSONObject: results, options: [.sortedKeys])
print(String(decoding: data, as: UTF8.self))
