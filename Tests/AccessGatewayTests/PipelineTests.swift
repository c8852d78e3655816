import AccessPolicy
@testable import AccessGateway
import AccessToken
import Crypto
import DoorDriver
import Foundation
import KeyCache
import Logging
import QRCodec
import Synchronization
import TestSupport
import Testing

/// A list appended to from other threads.
final class Recorded<Element: Sendable>: Sendable {
    private let items = Mutex<[Element]>([])
    func append(_ item: Element) { items.withLock { $0.append(item) } }
    var all: [Element] { items.withLock { $0 } }
}

/// A demo site in a real store file, a door controller on its thread over the in-memory board,
/// and the whole scan path from a folder of frames.
final class Rig: Sendable {
    let site = DemoSite()
    let store: GatewayStore
    let door: DoorControllerThread
    /// Every relay change, in order.
    let relay = Recorded<Bool>()
    let decisions = Recorded<EntranceDecision>()

    /// `relayDelay`: how long the board takes to set the relay line on.
    init(pulseSeconds: Double = 0.2, relayDelay: Duration = .zero, directory: String? = nil) throws {
        let folder = try directory ?? TestPaths.temporaryDirectory().path
        store = try GatewayStore(path: folder + "/g.sqlite")
        try site.install(in: store)
        let id = site.door
        let relay = relay
        door = try DoorControllerThread.start {
            let io = MemoryDoorIO(outputs: [id: [.relay, .green, .red]], inputs: [], blocking: true)
            io.onSet = { _, output, on in
                guard output == .relay else { return }
                if on { usleep(UInt32(relayDelay / .microseconds(1))) }
                relay.append(on)
            }
            let config = DoorConfig(id: id, relay: LineConfig(chip: "mem", line: "0"), pulseSeconds: pulseSeconds)
            let clock = ContinuousClock()
            let origin = clock.now
            return try DoorController(io: io, doors: [config], clock: { clock.now - origin }) { _, _ in }
        }
    }

    deinit { door.stop() }

    /// Writes `frames` (each a pass text or nil for an empty view) as a PGM folder.
    func folder(_ frames: [String?]) throws -> String {
        let dir = try TestPaths.temporaryDirectory()
        for (i, text) in frames.enumerated() {
            var image = GreyImage(width: 320, height: 240, fill: 200)
            if let text { image.paste(try QRMatrix.encode(text: text).image(moduleSize: 2), x: 40, y: 20) }
            try Data(PGM.encode(image)).write(to: dir.appendingPathComponent(String(format: "%04d.pgm", i)))
        }
        return dir.path
    }

    /// Runs the pipeline over the folder at `fps` until it ends and every decision is made.
    func run(
        _ folder: String,
        fps: Double = 60,
        settings: ScanSettings = ScanSettings(),
        holderBound: HolderBoundPolicy = .optional
    ) {
        let decisions = decisions
        let entrance = Entrance(
            door: site.door,
            decider: AccessDecider(store: store),
            doorInbox: door.inbox,
            wallClock: { [now = site.now] in now },
            holderBound: holderBound,
            report: { decision in decisions.append(decision) }
        )
        let pipeline = DoorPipeline(scan: settings, entrance: entrance)
        pipeline.start { try PGMFolderSource(folder: folder, fps: fps) }
        pipeline.wait()
    }

    /// Waits up to two seconds for the relay to have changed `count` times.
    func relayChanges(atLeast count: Int) -> [Bool] {
        for _ in 0..<200 where relay.all.count < count { usleep(10_000) }
        return relay.all
    }
}

@Suite struct PipelineTests {
    @Test func aValidPassOpensTheDoorOnceAndIsRecordedFirst() throws {
        let rig = try Rig()
        let pass = try rig.site.pass()
        rig.run(try rig.folder([nil, pass, pass, pass, pass, nil]))
        let decisions = rig.decisions.all
        #expect(decisions.count == 1)
        #expect(decisions.first?.decision?.reason == .granted)
        // Locked at takeover, energised, then relocked when the 0.2 s pulse ends.
        #expect(rig.relayChanges(atLeast: 3) == [false, true, false])
        let events = try rig.store.auditEvents(.init())
        #expect(events.map(\.reason) == ["granted"])
        #expect(events.first?.seq == decisions.first?.decision?.seq)
    }

    /// An AG2 code is single-use: held in view past the usual 3 s cooldown, the daemon's scan
    /// settings still decide it once, instead of a grant followed by `replayed`.
    @Test func aHolderBoundPassHeldInViewIsDecidedOnce() throws {
        let rig = try Rig()
        let pass = rig.site.holderBoundPass(shownAt: rig.site.now)
        let frames = [nil] + Array(repeating: pass, count: 40)
        let settings = ScanSettings(prefixCooldowns: ["AG2:": .seconds(65)])
        rig.run(try rig.folder(frames), fps: 10, settings: settings, holderBound: .required)
        #expect(rig.decisions.all.map { $0.decision?.reason } == [.granted])
    }

    @Test func withoutTheLongerCooldownTheSameAG2IsReplayed() throws {
        let rig = try Rig()
        let pass = rig.site.holderBoundPass(shownAt: rig.site.now)
        rig.run(try rig.folder([nil] + Array(repeating: pass, count: 40)), fps: 10)
        #expect(rig.decisions.all.map { $0.decision?.reason } == [.granted, .replayed])
    }

    @Test func aDeniedPassLeavesTheRelayLockedButIsRecorded() throws {
        let rig = try Rig()
        let blocked = try rig.site.pass(member: "m-blocked")
        rig.run(try rig.folder([blocked, blocked, nil, "AG1:NOT-A-PASS"]))
        #expect(rig.decisions.all.map { $0.decision?.reason.rawValue } == ["member_blocked", "malformed"])
        usleep(300_000)
        #expect(rig.relay.all == [false])
        #expect(try rig.store.auditEvents(.init()).map(\.reason) == ["member_blocked", "malformed"])
    }

    @Test func aStoreThatCannotRecordRefusesTheDoor() throws {
        let rig = try Rig()
        let pass = try rig.site.pass()
        let decisions = Recorded<EntranceDecision>()
        let reporting = Entrance(
            door: rig.site.door,
            decider: AccessDecider(store: rig.store),
            doorInbox: rig.door.inbox,
            wallClock: { .nan },
            report: { decision in decisions.append(decision) }
        )
        // A clock that gives no time: the store refuses to decide, so nothing is recorded or opened.
        reporting.decide(
            ScannedCode(
                symbol: QRSymbol(bytes: Array(pass.utf8), polarity: .normal),
                capturedAt: .now,
                decodeTime: .zero
            )
        )
        let outcome = try #require(decisions.all.first)
        #expect(outcome.decision == nil && outcome.failure != nil && !outcome.granted)
        usleep(200_000)
        #expect(rig.relay.all == [false])
    }
}

@Suite struct UntrustedClockTests {
    @Test func aValidPassOnAnUntrustedClockIsRefusedAndTheDoorStaysShut() throws {
        let rig = try Rig()
        let decisions = Recorded<EntranceDecision>()
        let entrance = Entrance(
            door: rig.site.door,
            decider: AccessDecider(store: rig.store),
            doorInbox: rig.door.inbox,
            wallClock: { [now = rig.site.now] in now },
            clockTrusted: { false },
            report: { decisions.append($0) }
        )
        let pass = try rig.site.pass()
        entrance.decide(
            ScannedCode(
                symbol: QRSymbol(bytes: Array(pass.utf8), polarity: .normal),
                capturedAt: .now,
                decodeTime: .zero
            )
        )
        #expect(decisions.all.first?.decision?.reason == .clockUntrusted)
        usleep(200_000)
        #expect(rig.relay.all == [false])
        #expect(try rig.store.auditEvents(.init()).map(\.reason) == ["clock_untrusted"])
    }
}

/// Log lines kept in memory, to read what the daemon writes.
final class LoggedLines: Sendable {
    struct Line: Sendable {
        var message: String
        var metadata: [String: String]
    }

    struct Handler: LogHandler {
        let lines: LoggedLines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            lines.kept.withLock { $0.append(Line(message: "\(event.message)", metadata: merged.mapValues { "\($0)" })) }
        }
    }

    fileprivate let kept = Mutex<[Line]>([])
    var all: [Line] { kept.withLock { $0 } }
    var logger: Logger { Logger(label: "test") { _ in Handler(lines: self) } }
}

/// `scan_to_relay_ms` runs from the frame's capture to the relay line being set for the grant.
@Suite struct ScanToRelayTests {
    /// The rig's door decides `text`, captured now, and reports it as the daemon does.
    static func decide(_ text: String, on rig: Rig) throws -> (EntranceDecision, LoggedLines.Line, String) {
        let (lines, metrics, outcomes) = (LoggedLines(), GatewayMetrics(), Recorded<EntranceDecision>())
        let reporter = DecisionReporter(metrics: metrics, logger: lines.logger)
        let entrance = Entrance(
            door: rig.site.door,
            decider: AccessDecider(store: rig.store),
            doorInbox: rig.door.inbox,
            wallClock: { [now = rig.site.now] in now },
            report: { outcome in
                outcomes.append(outcome)
                reporter.report(outcome)
            }
        )
        entrance.decide(
            ScannedCode(symbol: QRSymbol(bytes: Array(text.utf8), polarity: .normal), capturedAt: .now, decodeTime: .zero)
        )
        let outcome = try #require(outcomes.all.first)
        let line = try #require(lines.all.first { $0.message == "granted" || $0.message == "denied" })
        return (outcome, line, String(decoding: metrics.exposition(), as: UTF8.self))
    }

    /// A board that takes 80 ms to set the relay line: the figure counts them, though the door
    /// was commanded long before the line was set.
    @Test func aSlowRelayLineCountsInTheFigure() throws {
        let rig = try Rig(relayDelay: .milliseconds(80))
        let (outcome, line, exposition) = try Self.decide(try rig.site.pass(), on: rig)
        #expect(outcome.granted)
        let setAt = try #require(outcome.relaySetAt)
        #expect(outcome.commandedAt < setAt)
        #expect(try #require(outcome.scanToRelay) >= .milliseconds(80))
        let logged = try #require(line.metadata["scan_to_relay_ms"].flatMap(Double.init))
        #expect(logged >= 80, "\(line)")
        let door = "door=\"\(rig.site.door)\""
        #expect(exposition.contains("ag_scan_to_relay_ms_bucket{\(door),le=\"75.0\"} 0"), "\(exposition)")
        #expect(exposition.contains("ag_scan_to_relay_ms_count{\(door)} 1"), "\(exposition)")
    }

    @Test func aDeniedScanHasNone() throws {
        let rig = try Rig(relayDelay: .milliseconds(80))
        let (outcome, line, exposition) = try Self.decide(try rig.site.pass(member: "m-blocked"), on: rig)
        #expect(outcome.relaySetAt == nil && outcome.scanToRelay == nil)
        #expect(line.message == "denied" && line.metadata["scan_to_relay_ms"] == nil)
        #expect(!exposition.contains("ag_scan_to_relay_ms_count"), "\(exposition)")
    }
}

@Suite struct DoorControllerThreadTests {
    @Test func stoppingMidPulseLocksTheRelay() throws {
        let rig = try Rig(pulseSeconds: 5)
        rig.door.inbox.send(.stimulus(.grant), to: rig.site.door)
        #expect(rig.relayChanges(atLeast: 2) == [false, true])
        rig.door.stop()
        #expect(rig.relay.all == [false, true, false])
    }
}

/// Claims for a pass at the demo site's door, valid for an hour around its time, with an 8-byte id.
func siteClaims(
    _ site: DemoSite,
    member: String,
    id: UInt8,
    maxUses: UInt64? = nil,
    holder: P256.Signing.PublicKey? = nil
) -> PassClaims {
    PassClaims(
        issuer: DemoSite.issuer,
        member: member,
        audience: [site.door],
        expiresAt: site.now + 3600,
        issuedAt: site.now - 60,
        passID: [id, 0, 0, 0, 0, 0, 0, 1],
        maxUses: maxUses,
        holderKey: holder
    )
}

@Suite struct ScanRateLimiterTests {
    func t(_ seconds: Double) -> Duration { .milliseconds(Int64(seconds * 1000)) }
    static let site = DemoSite()
    static let shared = try! site.pass(member: "m-blocked", serial: 7)
    static let member = try! site.pass(serial: 8)

    /// The same signed pass in another text: an unsigned header label added, as anyone can.
    static func reencoded(_ text: String, _ variant: UInt64) -> String {
        var message = try! AG1Pass(text: text).message
        message.unprotected.append(CBORMapEntry(.unsigned(99), .unsigned(variant)))
        return AG1.prefix + Base45.encode(message.encoded())
    }

    /// An AG2 pass on one credential, its proof made at `shownAt`.
    static func holderBound(_ credential: [UInt8], _ device: P256.Signing.PrivateKey, shownAt: Double) -> String {
        HolderBoundPass(credential: credential, proof: HolderProof.make(credential: credential, key: device, now: shownAt)).text
    }

    @Test func aPassDeniedAgainAndAgainIsRefusedUncheckedUntilTheWindowPasses() {
        var limiter = ScanRateLimiter(deniedLimit: 3, window: .seconds(60))
        for second in 0..<3 {
            let refused1 = limiter.refuses(ScannedPass(text: Self.shared), at: t(Double(second)))
            #expect(!refused1)
            limiter.record(ScannedPass(text: Self.shared), reason: .memberBlocked, at: t(Double(second)))
        }
        let refused2 = limiter.refuses(ScannedPass(text: Self.shared), at: t(3))
        #expect(refused2)
        let refused3 = limiter.refuses(ScannedPass(text: Self.member), at: t(3))
        #expect(!refused3)
        let refused4 = limiter.refuses(ScannedPass(text: Self.shared), at: t(61))
        #expect(!refused4)
    }

    /// The COSE unprotected header and the CBOR encoding are not signed: re-encoding a denied
    /// pass into new texts does not escape the limit, which is keyed by the signed payload.
    @Test func aDeniedPassReencodedIsStillTheSamePass() {
        var limiter = ScanRateLimiter(deniedLimit: 3)
        for variant in 0..<3 {
            let text = Self.reencoded(Self.shared, UInt64(variant))
            #expect(text != Self.shared)
            limiter.record(ScannedPass(text: text), reason: .memberBlocked, at: t(Double(variant)))
        }
        let refused = limiter.refuses(ScannedPass(text: Self.reencoded(Self.shared, 3)), at: t(3))
        #expect(refused)
        let original = limiter.refuses(ScannedPass(text: Self.shared), at: t(3))
        #expect(original)
    }

    /// An AG2 proof changes every few seconds: the key is the credential's payload, whichever
    /// profile (v1, or the compact v2) carried the earlier denials.
    @Test(arguments: [false, true])
    func anAG2CredentialWithFreshProofsIsOnePass(deniedAsV2: Bool) {
        let device = P256.Signing.PrivateKey()
        let claims = siteClaims(Self.site, member: "m-blocked", id: 0xD1, holder: device.publicKey)
        let credential = PassIssuer(key: Self.site.key, kid: DemoSite.kid).issueCredential(claims)
        var limiter = ScanRateLimiter(deniedLimit: 3)
        for second in 0..<3 {
            let shownAt = Self.site.now + Double(second * 10)
            let text =
                deniedAsV2
                ? CompactHolderBoundPass.make(credential: credential, key: device, now: shownAt).text
                : Self.holderBound(credential, device, shownAt: shownAt)
            limiter.record(ScannedPass(text: text), reason: .memberBlocked, at: t(Double(second)))
        }
        let later = ScannedPass(text: Self.holderBound(credential, device, shownAt: Self.site.now + 30))
        let refused = limiter.refuses(later, at: t(3))
        #expect(refused)
    }

    /// A valid pass denied for a reason that passes (the clock, a lockdown, the schedule, a stale
    /// snapshot) is the member's own pass: it never counts, as a grant never does.
    @Test(arguments: [AccessReason.granted, .clockUntrusted, .lockdown, .outsideSchedule, .snapshotStale])
    func passingReasonsNeverCount(reason: AccessReason) {
        var limiter = ScanRateLimiter(deniedLimit: 1)
        for second in 0..<10 { limiter.record(ScannedPass(text: Self.member), reason: reason, at: t(Double(second))) }
        let refused = limiter.refuses(ScannedPass(text: Self.member), at: t(10))
        #expect(!refused)
    }

    /// A flood of codes that are not passes is refused unchecked, without touching real passes. A
    /// text with a pass prefix that does not parse has no signed payload: it is garbage too, so
    /// distinct texts of that kind cannot each be decided in full.
    @Test(arguments: [("https://example.com/", "WIFI:S:cafe;;"), ("AG1:NOTBASE45", "AG1:OTHER")])
    func aFloodOfGarbageIsLimitedWithoutTouchingPasses(flood: String, probe: String) {
        var limiter = ScanRateLimiter(garbageLimit: 5)
        for i in 0..<5 { limiter.record(ScannedPass(text: "\(flood)\(i)"), reason: .malformed, at: t(Double(i) / 10)) }
        let refused = limiter.refuses(ScannedPass(text: probe), at: t(1))
        #expect(refused)
        let member = limiter.refuses(ScannedPass(text: Self.member), at: t(1))
        #expect(!member)
    }

    @Test func theEntranceRecordsRateLimitedScansAndStillLetsAMemberIn() throws {
        let rig = try Rig()
        let decisions = Recorded<EntranceDecision>()
        let entrance = Entrance(
            door: rig.site.door,
            decider: AccessDecider(store: rig.store),
            doorInbox: rig.door.inbox,
            wallClock: { [now = rig.site.now] in now },
            rateLimiter: ScanRateLimiter(deniedLimit: 2),
            report: { decisions.append($0) }
        )
        func scan(_ text: String) {
            entrance.decide(
                ScannedCode(
                    symbol: QRSymbol(bytes: Array(text.utf8), polarity: .normal),
                    capturedAt: .now,
                    decodeTime: .zero
                )
            )
        }
        let blocked = try rig.site.pass(member: "m-blocked")
        for _ in 0..<4 { scan(blocked) }
        scan(try rig.site.pass())
        #expect(
            decisions.all.map { $0.decision?.reason.rawValue } == [
                "member_blocked", "member_blocked", "rate_limited", "rate_limited", "granted",
            ]
        )
        // Every scan is in the log, the refused ones too.
        #expect(try rig.store.auditEvents(.init()).count == 5)
    }
}

@Suite struct EntranceUseCountTests {
    /// Through the daemon's path (an Entrance over the store): a single-use pass shown again 2 s
    /// later is the same presentation, and 4 s later it is used up.
    @Test func aSingleUsePassOpensTheDoorOnce() throws {
        let rig = try Rig()
        let clock = Mutex(rig.site.now)
        let decisions = Recorded<EntranceDecision>()
        let entrance = Entrance(
            door: rig.site.door,
            decider: AccessDecider(store: rig.store),
            doorInbox: rig.door.inbox,
            wallClock: { clock.withLock { $0 } },
            report: { decisions.append($0) }
        )
        let pass = try PassIssuer(key: rig.site.key, kid: DemoSite.kid).issue(
            siteClaims(rig.site, member: "m-demo", id: 0x51, maxUses: 1)
        )
        for offset in [0.0, 2, 4] {
            clock.withLock { $0 = rig.site.now + offset }
            entrance.decide(
                ScannedCode(symbol: QRSymbol(bytes: Array(pass.utf8), polarity: .normal), capturedAt: .now, decodeTime: .zero)
            )
        }
        #expect(decisions.all.map { $0.decision?.reason } == [.granted, .granted, .usesExhausted])
    }
}
