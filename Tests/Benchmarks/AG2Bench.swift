import AccessGateway
import AccessToken
import Foundation
import Glibc
import KeyCache
import QRCodec
import TestSupport

// AG2 (holder-bound, two signatures) against AG1 (one), for docs/BENCHMARKS.md: the token checks
// alone, the gateway's whole decision on a real store file, and decode plus decision per 640×480
// frame. The passes come from DemoSite: AG2 v2 codes as the reference member page draws them.

/// `iterations` passes of each kind through the token checks and the decision, and `frames`
/// frames of each through decode and decision. Also returns one pass of each kind and its QR
/// version, which scripts/ag2_corpus.py renders into the decode-rate corpus.
func ag2Benchmark(directory: String, iterations: Int, frames: Int) throws -> [String: Any] {
    let site = DemoSite()
    let now = site.now
    let warmUp = 100
    let count = iterations + warmUp
    // Distinct passes, so that no AG2 decision meets a proof it has seen.
    let ag1 = try (0..<count).map { try site.pass(serial: UInt64($0 + 1)) }
    let ag2 = (0..<count).map { site.holderBoundPass(serial: UInt64($0 + 1), shownAt: now) }

    let jwks = try JSONSerialization.data(withJSONObject: ["keys": [site.key.publicJWK(kid: DemoSite.kid)]])
    let verifier = PassVerifier(keys: try PassKeySet(jwks: jwks), issuer: DemoSite.issuer)
    let clock = ContinuousClock()
    func us(_ d: Duration) -> Double { Double(d.components.seconds) * 1e6 + Double(d.components.attoseconds) / 1e12 }
    func summary(_ samples: [Double]) -> [String: Double] {
        let sorted = samples.sorted()
        return ["median": percentile(sorted, 0.5), "p95": percentile(sorted, 0.95), "p99": percentile(sorted, 0.99)]
    }

    // What AccessDecider does before its store lookups: parse, the credential's AG1 checks, and for
    // AG2 the proof under the credential's cnf key.
    func tokenCheck(_ text: String) -> Bool {
        guard text.hasPrefix(HolderBoundPass.prefix) else {
            return verifier.verify(text, door: site.door, now: now).granted
        }
        guard let bound = try? AG2Code.parse(text) else { return false }
        let verdict = verifier.verify(credential: bound.credential, door: site.door, now: now)
        guard verdict.granted, let key = verdict.claims?.holderKey, let proof = try? bound.verifyProof(holderKey: key)
        else { return false }
        return abs(now - proof.issuedAt) <= 30
    }
    func timeTokens(_ texts: [String]) -> [String: Double] {
        var samples: [Double] = []
        for (i, text) in texts.enumerated() {
            let start = clock.now
            let ok = tokenCheck(text)
            let elapsed = clock.now - start
            precondition(ok, "benchmark pass failed its token checks: \(text.prefix(12))…")
            if i >= warmUp { samples.append(us(elapsed)) }
        }
        return summary(samples)
    }
    let tokenAG1 = timeTokens(ag1)
    let tokenAG2 = timeTokens(ag2)

    // The whole decision, as the daemon makes it: audit event appended durably (synchronous=FULL),
    // and for AG2 the proof remembered against replay, in a real store file.
    let path = "\(directory)/ag2-bench-\(getpid()).sqlite"
    defer { for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) } }
    let store = try GatewayStore(path: path, durability: .powerLoss)
    try site.install(in: store)
    let decider = AccessDecider(store: store)
    func timeDecisions(_ texts: [String]) throws -> [String: Double] {
        var samples: [Double] = []
        for (i, text) in texts.enumerated() {
            let start = clock.now
            let decision = try decider.decide(text, door: site.door, now: now)
            let elapsed = clock.now - start
            precondition(decision.granted, "benchmark pass was denied: \(decision.reason) \(decision.detail)")
            if i >= warmUp { samples.append(us(elapsed) / 1000) }
        }
        return summary(samples)
    }
    let decideAG1 = try timeDecisions(ag1)
    let decideAG2 = try timeDecisions(ag2)

    // Decode and decision per frame: each code at 4 px per module, somewhere on the textured
    // scene, read with the still decoder chain the CLI uses (zxing-cpp, zbar, sharpened zxing).
    let scanner = try QRScanner()
    let scene = DoorwayStream.doorway(seed: 3)
    func timeFrames(_ texts: [String]) throws -> [String: Any] {
        var decode: [Double] = []
        var decide: [Double] = []
        var total: [Double] = []
        var missed = 0
        for i in 0..<frames {
            let text = texts[i]
            let code = try QRMatrix.encode(text: text).image(moduleSize: 4)
            var frame = scene
            frame.paste(code, x: (i * 37) % (640 - code.width), y: (i * 53) % (480 - code.height))
            let start = clock.now
            let symbols = scanner.scanStill(frame, decoders: .auto)
            let decoded = clock.now
            guard let read = symbols.first?.text, read == text else {
                missed += 1
                continue
            }
            let decision = try decider.decide(read, door: site.door, now: now)
            let decided = clock.now
            precondition(decision.granted, "benchmark frame was denied: \(decision.reason) \(decision.detail)")
            decode.append(us(decoded - start) / 1000)
            decide.append(us(decided - decoded) / 1000)
            total.append(us(decided - start) / 1000)
        }
        return [
            "frames": frames, "missed": missed, "decode_ms": summary(decode), "decide_ms": summary(decide),
            "total_ms": summary(total), "code_px": try QRMatrix.encode(text: texts[0]).image(moduleSize: 4).width,
        ]
    }
    // Fresh serials: the first `count` passes were decided above.
    let framesAG1 = try timeFrames(try (0..<frames).map { try site.pass(serial: UInt64(count + 1 + $0)) })
    let framesAG2 = try timeFrames(
        (0..<frames).map { site.holderBoundPass(serial: UInt64(count + 1 + $0), shownAt: now) }
    )

    func describe(_ text: String) throws -> [String: Any] {
        ["chars": text.count, "qr_version": try QRMatrix.encode(text: text).version, "text": text]
    }
    return [
        "iterations": iterations,
        "ag1": ["pass": try describe(ag1[0]), "token_us": tokenAG1, "decision_ms": decideAG1, "frame": framesAG1],
        "ag2": ["pass": try describe(ag2[0]), "token_us": tokenAG2, "decision_ms": decideAG2, "frame": framesAG2],
    ]
}
