import AccessGateway
import DoorDriver
import Foundation
import KeyCache
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

    init(pulseSeconds: Double = 0.2, directory: String? = nil) throws {
        let folder = try directory ?? TestPaths.temporaryDirectory().path
        store = try GatewayStore(path: folder + "/g.sqlite")
        try site.install(in: store)
        let id = site.door
        let relay = relay
        door = try DoorControllerThread.start {
            let io = MemoryDoorIO(outputs: [id: [.relay, .green, .red]], inputs: [], blocking: true)
            io.onSet = { _, output, on in if output == .relay { relay.append(on) } }
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

@Suite struct DoorControllerThreadTests {
    @Test func stoppingMidPulseLocksTheRelay() throws {
        let rig = try Rig(pulseSeconds: 5)
        rig.door.inbox.send(.stimulus(.grant), to: rig.site.door)
        #expect(rig.relayChanges(atLeast: 2) == [false, true])
        rig.door.stop()
        #expect(rig.relay.all == [false, true, false])
    }
}

@Suite struct ScanRateLimiterTests {
    func t(_ seconds: Double) -> Duration { .milliseconds(Int64(seconds * 1000)) }

    @Test func aPassDeniedAgainAndAgainIsRefusedUncheckedUntilTheWindowPasses() {
        var limiter = ScanRateLimiter(deniedLimit: 3, window: .seconds(60))
        for second in 0..<3 {
            let refused1 = limiter.refuses("AG1:SHARED", at: t(Double(second)))
            #expect(!refused1)
            limiter.record("AG1:SHARED", granted: false, at: t(Double(second)))
        }
        let refused2 = limiter.refuses("AG1:SHARED", at: t(3))
        #expect(refused2)
        let refused3 = limiter.refuses("AG1:MEMBER", at: t(3))
        #expect(!refused3)
        let refused4 = limiter.refuses("AG1:SHARED", at: t(61))
        #expect(!refused4)
    }

    @Test func grantsNeverCount() {
        var limiter = ScanRateLimiter(deniedLimit: 1)
        for second in 0..<10 { limiter.record("AG1:MEMBER", granted: true, at: t(Double(second))) }
        let refused5 = limiter.refuses("AG1:MEMBER", at: t(10))
        #expect(!refused5)
    }

    @Test func aFloodOfGarbageIsLimitedWithoutTouchingPasses() {
        var limiter = ScanRateLimiter(garbageLimit: 5)
        for i in 0..<5 { limiter.record("https://example.com/\(i)", granted: false, at: t(Double(i) / 10)) }
        let refused6 = limiter.refuses("WIFI:S:cafe;;", at: t(1))
        #expect(refused6)
        let refused7 = limiter.refuses("AG1:MEMBER", at: t(1))
        #expect(!refused7)
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
