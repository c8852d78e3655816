import AccessToken
import Foundation
import Glibc
import HQProtocol
import HQSync
import KeyCache
import Synchronization
import TestSupport
import Testing

/// A wall clock the test sets: a board without a real-time clock, booting in 1970 or jumping.
final class SettableClock: Sendable {
    private let value: Mutex<Double>
    init(_ start: Double) { value = Mutex(start) }
    var now: Double { value.withLock { $0 } }
    func set(_ time: Double) { value.withLock { $0 = time } }
    var read: @Sendable () -> Double { { self.now } }
}

/// A site signed with the test's own key: a snapshot, and passes valid now, expired an hour ago,
/// valid only from tomorrow, signed by an unknown key, and signed by the wrong key under the right
/// kid.
struct ClockSite {
    static let issuer = "hq.clock.example"
    static let door = "JKT1/FRONT"
    static let kid = "clock-1"
    let key = SigningKey.generate(.es256)
    let stranger = SigningKey.generate(.es256)
    /// The real time now, whole seconds: what HQ's clock says.
    let now = Date().timeIntervalSince1970.rounded(.down)

    var snapshotJSON: Data {
        let snapshot: [String: Any] = [
            "format": "ag-snapshot/1", "issuer": Self.issuer, "seq": 1, "generated_at": Int(now) - 60,
            "max_age": 7 * 86400, "keys": ["keys": [key.publicJWK(kid: Self.kid)]],
            "doors": [["id": Self.door, "name": "Front", "mode": "normal", "tz": "UTC"]],
            "members": [["id": "m-1", "blocked": false]], "bookings": [], "revoked": [],
        ]
        return try! JSONSerialization.data(withJSONObject: snapshot, options: [.sortedKeys])
    }

    /// A store in a fresh folder with the snapshot applied.
    func store() throws -> GatewayStore {
        let store = try GatewayStore(path: try TestPaths.temporaryDirectory().appendingPathComponent("gw.sqlite").path)
        try store.apply(try SnapshotDocument.parse(snapshotJSON), now: now)
        return store
    }

    func pass(_ serial: UInt8, from: Double, until: Double, key: SigningKey? = nil, kid: String = kid) throws -> String
    {
        try PassIssuer(key: key ?? self.key, kid: kid).issue(
            PassClaims(
                issuer: Self.issuer,
                member: "m-1",
                audience: [Self.door],
                expiresAt: until,
                notBefore: from,
                issuedAt: from,
                passID: [UInt8](repeating: 0xC1, count: 15) + [serial]
            )
        )
    }

    var valid: String { get throws { try pass(1, from: now - 3600, until: now + 3600) } }
    var expired: String { get throws { try pass(2, from: now - 7200, until: now - 3600) } }
    var future: String { get throws { try pass(3, from: now + 86400, until: now + 2 * 86400) } }
    var unknownKey: String {
        get throws { try pass(4, from: now - 3600, until: now + 3600, key: stranger, kid: "other") }
    }
    var badSignature: String { get throws { try pass(5, from: now - 3600, until: now + 3600, key: stranger) } }
}

/// `clock_untrusted` as docs/hq-protocol.md "Time" specifies it: the clock is trusted only while
/// the kernel reports it synchronised, or while it agrees within 5 s with the `Date` of an HQ
/// response from the last 6 hours; otherwise every time-based decision is `clock_untrusted`, and
/// the signature checks still say what they found.
@Suite struct ClockAttackTests {
    let site = ClockSite()

    /// Decides `text` at the board's wall-clock time, as the daemon's Entrance does.
    func decide(
        _ text: String,
        _ store: GatewayStore,
        _ wall: SettableClock,
        _ clock: ClockTrust
    ) throws -> AccessReason {
        try AccessDecider(store: store).decide(
            text,
            door: ClockSite.door,
            now: wall.now,
            clockTrusted: clock.status.trusted
        ).reason
    }

    @Test func aBoardThatBootsIn1970DecidesNothingOnTimeButStillChecksSignatures() throws {
        let store = try site.store()
        let wall = SettableClock(37)  // 37 s after the epoch: no RTC, no NTP yet
        let clock = ClockTrust(kernelSynchronised: { false }, wallClock: wall.read)
        #expect(!clock.status.trusted && clock.trustedNow(wall.now) == nil)
        #expect(clock.status.detail.contains("no recent HQ time"), "\(clock.status.detail)")
        for text in [try site.valid, try site.expired, try site.future] {
            #expect(try decide(text, store, wall, clock) == .clockUntrusted)
        }
        #expect(try decide(try site.badSignature, store, wall, clock) == .badSignature)
        #expect(try decide(try site.unknownKey, store, wall, clock) == .unknownKey)
        #expect(try decide("AG1:NOT-A-PASS", store, wall, clock) == .malformed)
        // HQ's Date arrives: it is 56 years off, so nothing changes.
        clock.observeHQ(date: site.now, now: wall.now)
        #expect(!clock.status.trusted)
        #expect(clock.status.detail.contains("off HQ's clock"), "\(clock.status.detail)")
        #expect(try decide(try site.valid, store, wall, clock) == .clockUntrusted)
        // Every one of them was recorded, at the time the board believed.
        let decisions = try store.auditEvents(.init()).filter { $0.kind == "decision" }
        #expect(
            decisions.map(\.reason) == [
                "clock_untrusted", "clock_untrusted", "clock_untrusted", "bad_signature", "unknown_key", "malformed",
                "clock_untrusted",
            ]
        )
        #expect(decisions.allSatisfy { $0.tsMs == 37_000 && !$0.granted })
        #expect(try store.verifyAuditChain() == .intact(events: try store.auditEvents(.init()).count))
    }

    @Test func agreeingWithHQWithin5sIsTrustedAndTheTimeChecksApply() throws {
        let store = try site.store()
        let wall = SettableClock(site.now)
        let clock = ClockTrust(kernelSynchronised: { false }, wallClock: wall.read)
        for (offset, trusted) in [(0.0, true), (4.9, true), (-5.0, true), (5.0, true), (5.5, false), (-6.0, false)] {
            // HQ's Date shows the board `offset` s ahead (negative: behind).
            clock.observeHQ(date: site.now - offset, now: wall.now)
            #expect(clock.status.trusted == trusted, "\(offset) s off HQ: \(clock.status)")
        }
        clock.observeHQ(date: site.now - 2, now: wall.now)
        #expect(clock.status.trusted && clock.status.source == .hq)
        #expect(clock.trustedNow(wall.now) == wall.now)
        #expect(try decide(try site.valid, store, wall, clock) == .granted)
        #expect(try decide(try site.expired, store, wall, clock) == .expired)
        #expect(try decide(try site.future, store, wall, clock) == .notYetValid)
    }

    /// The brief's (c) and (d): the clock jumps an hour forward, then two days back; the next HQ
    /// response shows it, and trust returns only with a fresh agreement.
    @Test func aJumpForwardOrBackIsDistrustedAtTheNextHQResponse() throws {
        let store = try site.store()
        let wall = SettableClock(site.now)
        let clock = ClockTrust(kernelSynchronised: { false }, wallClock: wall.read)
        clock.observeHQ(date: site.now, now: wall.now)
        #expect(try decide(try site.valid, store, wall, clock) == .granted)

        wall.set(site.now + 3600)
        clock.observeHQ(date: site.now + 1, now: wall.now)
        #expect(!clock.status.trusted)
        #expect(clock.status.detail.contains("3599 s off HQ's clock"), "\(clock.status.detail)")
        #expect(try decide(try site.valid, store, wall, clock) == .clockUntrusted)

        wall.set(site.now - 2 * 86400)
        clock.observeHQ(date: site.now + 2, now: wall.now)
        #expect(!clock.status.trusted)
        #expect(try decide(try site.valid, store, wall, clock) == .clockUntrusted)

        // Set right again (NTP, or an operator): the next agreement restores trust.
        wall.set(site.now + 3)
        clock.observeHQ(date: site.now + 3, now: wall.now)
        #expect(clock.status.trusted)
        #expect(try decide(try site.valid, store, wall, clock) == .granted)
    }

    /// A jump while HQ stays silent (unreachable, or the cable pulled on purpose): the clock is
    /// no longer trusted at once, not hours later. Otherwise setting the clock back revives an
    /// expired pass, and setting it forward admits a pass meant for tomorrow.
    @Test func aJumpWhileHQIsSilentIsDistrustedAtOnce() throws {
        let store = try site.store()
        let wall = SettableClock(site.now)
        let clock = ClockTrust(kernelSynchronised: { false }, wallClock: wall.read)
        clock.observeHQ(date: site.now, now: wall.now)
        #expect(clock.status.trusted)
        #expect(try decide(try site.expired, store, wall, clock) == .expired)

        // Back 90 minutes: inside the expired pass's validity.
        wall.set(site.now - 5400)
        #expect(!clock.status.trusted, "\(clock.status)")
        #expect(clock.status.detail.contains("stepped"), "\(clock.status.detail)")
        #expect(try decide(try site.expired, store, wall, clock) == .clockUntrusted)

        // Forward a day and an hour: inside tomorrow's pass.
        wall.set(site.now + 90000)
        #expect(!clock.status.trusted)
        #expect(try decide(try site.future, store, wall, clock) == .clockUntrusted)

        // Seven seconds is a jump; two, within the agreement's 5 s, is not.
        wall.set(site.now + 7)
        #expect(!clock.status.trusted)
        wall.set(site.now + 2)
        #expect(clock.status.trusted)
        #expect(try decide(try site.valid, store, wall, clock) == .granted)
    }

    /// The brief's (e): HQ's Date far off, or the board's clock far off while HQ is right. Either
    /// way the clock is not trusted, so neither an expired pass nor tomorrow's is let in, and a
    /// rogue answer also ends an earlier agreement (the newest HQ time counts).
    @Test func aFarOffClockOrAFarOffHQDateIsNotBelieved() throws {
        let store = try site.store()
        let wall = SettableClock(site.now)
        let clock = ClockTrust(kernelSynchronised: { false }, wallClock: wall.read)
        clock.observeHQ(date: site.now, now: wall.now)
        #expect(clock.status.trusted)
        for rogue in [site.now + 86400, site.now - 86400, 0, site.now + 10 * 365 * 86400] {
            clock.observeHQ(date: rogue, now: wall.now)
            #expect(!clock.status.trusted, "HQ said \(rogue)")
            #expect(try decide(try site.valid, store, wall, clock) == .clockUntrusted)
            clock.observeHQ(date: site.now, now: wall.now)
            #expect(clock.status.trusted)
        }
        // The board's clock in the past, where the expired pass was valid; HQ's Date is right.
        wall.set(site.now - 5400)
        clock.observeHQ(date: site.now, now: wall.now)
        #expect(try decide(try site.expired, store, wall, clock) == .clockUntrusted)
        // In the future, where tomorrow's pass is valid.
        wall.set(site.now + 90000)
        clock.observeHQ(date: site.now, now: wall.now)
        #expect(try decide(try site.future, store, wall, clock) == .clockUntrusted)
        let granted = try store.auditEvents(.init()).filter { $0.kind == "decision" && $0.granted }
        #expect(granted.isEmpty)
    }

    /// The brief's (f): an agreement lasts `validity` on the monotonic clock, then a fresh one is
    /// needed.
    @Test func anAgreementExpiresAfterItsValidity() async throws {
        let store = try site.store()
        let clock = ClockTrust(validity: .seconds(3), kernelSynchronised: { false })
        let wall = SettableClock(Date().timeIntervalSince1970)
        clock.observeHQ(date: Date().timeIntervalSince1970.rounded(.down), now: Date().timeIntervalSince1970)
        let observed = ContinuousClock.now
        #expect(clock.status.trusted)
        try await Task.sleep(for: .milliseconds(500))
        wall.set(Date().timeIntervalSince1970)
        let reason = try decide(try site.valid, store, wall, clock)
        // (A test process busy elsewhere may sleep longer than asked: only judged well inside.)
        if ContinuousClock.now - observed < .seconds(2) {
            #expect(reason == .granted)
        }
        try await Task.sleep(until: observed + .seconds(3) + .milliseconds(100))
        #expect(!clock.status.trusted)
        wall.set(Date().timeIntervalSince1970)
        #expect(try decide(try site.valid, store, wall, clock) == .clockUntrusted)
        clock.observeHQ(date: Date().timeIntervalSince1970.rounded(.down), now: Date().timeIntervalSince1970)
        #expect(clock.status.trusted)
    }

    /// Plain NTP is unauthenticated, so the kernel's word is cross-checked against HQ's `Date`
    /// whenever HQ answers: a far-off HQ time is distrusted even while the kernel reports sync.
    @Test func aSynchronisedKernelIsStillCrossCheckedWithHQ() {
        let clock = ClockTrust(kernelSynchronised: { true })
        #expect(clock.status.trusted && clock.status.source == .kernel)
        clock.observeHQ(date: 0, now: Date().timeIntervalSince1970)
        #expect(!clock.status.trusted)
        #expect(clock.status.detail.contains("though the kernel reports it synchronised"), "\(clock.status.detail)")
        clock.observeHQ(date: Date().timeIntervalSince1970.rounded(.down), now: Date().timeIntervalSince1970)
        #expect(clock.status.trusted && clock.status.source == .kernel)
    }

    /// Issue 16's attack: the kernel reports sync (a forged NTP answer steered it), the clock is
    /// stepped back a day, and a pass valid only yesterday is refused `clock_untrusted`, audited
    /// once, also after a restart; trust returns when HQ's time agrees again. Both ways: trusted
    /// before the step by the kernel, or (kernel unsynchronised) by HQ's `Date`.
    @Test(arguments: [true, false])
    func aClockSteppedBackADayIsUntrustedWhateverTheKernelSays(kernelSynchronised: Bool) throws {
        let store = try site.store()
        let wall = SettableClock(site.now)
        let kernel: @Sendable () -> Bool = { kernelSynchronised }
        let clock = ClockTrust(floor: ClockFloor(store: store), kernelSynchronised: kernel, wallClock: wall.read)
        if !kernelSynchronised { clock.observeHQ(date: site.now, now: wall.now) }
        #expect(try decide(try site.valid, store, wall, clock) == .granted)
        #expect(ClockFloor.stored(in: store) == site.now)

        if kernelSynchronised {
            // Half a minute's NTP correction back is within the floor's tolerance.
            wall.set(site.now - 30)
            #expect(clock.status.trusted, "\(clock.status)")
        }

        let yesterday = site.now - 86400
        let onlyYesterday = try site.pass(6, from: yesterday - 3600, until: yesterday + 3600)
        // The same store after a restart: no HQ answer yet, the kernel reporting sync.
        let restarted = ClockTrust(floor: ClockFloor(store: store), kernelSynchronised: { true }, wallClock: wall.read)
        wall.set(yesterday)
        for judge in [clock, restarted] {
            #expect(!judge.status.trusted)
            #expect(judge.status.detail.contains("behind the newest time it trusted"), "\(judge.status.detail)")
            #expect(try decide(onlyYesterday, store, wall, judge) == .clockUntrusted)
        }
        let stepBacks = try store.auditEvents(.init()).filter { $0.kind == "clock" }
        // Once per clock (the first and the restarted one), not once per reading.
        #expect(stepBacks.count == 2, "\(stepBacks)")
        #expect(stepBacks.allSatisfy { $0.reason == "clock_untrusted" && !$0.granted })
        #expect(stepBacks.allSatisfy { $0.detail.contains(String(Int(site.now))) }, "\(stepBacks)")
        #expect(try store.verifyAuditChain() == .intact(events: try store.auditEvents(.init()).count))

        // Set right again, HQ's time agrees: trusted, and yesterday's pass is expired.
        wall.set(site.now + 5)
        restarted.observeHQ(date: site.now + 5, now: wall.now)
        #expect(restarted.status.trusted)
        #expect(try decide(onlyYesterday, store, wall, restarted) == .expired)
    }

    /// The floor holds across restarts even with no HQ time at all (an unenrolled board, or HQ
    /// cut off): only the kernel's word and the floor remain, and the floor wins.
    @Test func aStoredFloorOutlivesARestartWithHQSilent() throws {
        let store = try site.store()
        try store.setStateValues([ClockFloor.stateKey: String(Int(site.now))])
        let wall = SettableClock(site.now - 86400)
        let clock = ClockTrust(floor: ClockFloor(store: store), kernelSynchronised: { true }, wallClock: wall.read)
        #expect(!clock.status.trusted)
        wall.set(site.now + 10)
        #expect(clock.status.trusted)
        #expect((ClockFloor(store: store).value ?? 0) >= site.now)
    }

    // MARK: - Through the real daemon

    /// The daemon on this machine, unenrolled (a local snapshot, no HQ time): it trusts its clock
    /// only if the kernel says it is synchronised. When it is not, a valid pass is
    /// `clock_untrusted` in the log and the audit log, and the relay stays off. The kernel's
    /// answer is the test override, so both ways run on any host.
    @Test(arguments: [true, false])
    func theDaemonWithoutHQTimeTrustsItsClockOnlyWhenTheKernelReportsSync(kernelSynchronised: Bool) async throws {
        try await offThePool {
            let rig = try GatewayBinaryRig(door: ClockSite.door)
            let store = try GatewayStore(path: rig.database)
            try store.apply(try SnapshotDocument.parse(site.snapshotJSON), now: site.now)
            try store.close()
            let pass = try site.valid
            let config = try await offPool {
                let frames = try rig.frames(
                    "clock",
                    [nil, nil, nil, pass, pass, pass] + Array(repeating: nil, count: 150),
                    fps: 10
                )
                return try rig.config("clock", frames: frames, fps: 10)
            }
            let daemon = try rig.start(config: config, log: "clock", environment: kernel(synchronised: kernelSynchronised))
            defer { daemon.kill() }
            #expect(await daemon.untilLog("reason="), "\(daemon.log)")
            #expect(daemon.log.contains("test override"), "\(daemon.log)")
            let line = try #require(daemon.log.split(separator: "\n").first { $0.contains(" seq=") })
            if kernelSynchronised {
                #expect(line.contains("reason=granted"), "\(line)")
            } else {
                #expect(line.contains("denied") && line.contains("reason=clock_untrusted"), "\(line)")
                #expect(!daemon.log.contains("relay on"), "\(daemon.log)")
            }
            #expect(await daemon.stop() == 0, "\(daemon.log)")
            let reopened = try GatewayStore(path: rig.database, create: false)
            let decided = try reopened.auditEvents(.init()).filter { $0.kind == "decision" }
            #expect(decided.count == 1)
            #expect(line.contains("reason=\(decided.first?.reason ?? "?")"))
        }
    }

    /// The daemon whose store holds a floor a day ahead of the clock (its clock was stepped back a
    /// day since it last trusted it): with the kernel reporting sync, a valid pass is refused
    /// `clock_untrusted`, and the step back is in the audit log.
    @Test func theDaemonRefusesAClockBelowItsStoredFloorThoughTheKernelReportsSync() async throws {
        try await offThePool {
            let rig = try GatewayBinaryRig(door: ClockSite.door)
            let store = try GatewayStore(path: rig.database)
            try store.apply(try SnapshotDocument.parse(site.snapshotJSON), now: site.now)
            try store.setStateValues([ClockFloor.stateKey: String(Int(site.now + 86400))])
            try store.close()
            let pass = try site.valid
            let config = try await offPool {
                let frames = try rig.frames("floor", [nil, nil, nil, pass, pass, pass] + Array(repeating: nil, count: 150), fps: 10)
                return try rig.config("floor", frames: frames, fps: 10)
            }
            let daemon = try rig.start(config: config, log: "floor", environment: kernel(synchronised: true))
            defer { daemon.kill() }
            #expect(await daemon.untilLog("reason="), "\(daemon.log)")
            let line = try #require(daemon.log.split(separator: "\n").first { $0.contains(" seq=") })
            #expect(line.contains("reason=clock_untrusted"), "\(line)")
            #expect(!daemon.log.contains("relay on"), "\(daemon.log)")
            #expect(await daemon.stop() == 0, "\(daemon.log)")
            let reopened = try GatewayStore(path: rig.database, create: false)
            #expect(try reopened.auditEvents(.init()).contains { $0.kind == "clock" && $0.reason == "clock_untrusted" })
        }
    }

    /// Enrolled: the daemon's first sync brings HQ's Date, which agrees, so the pass is granted;
    /// the same gateway behind a proxy whose Date is a day ahead refuses it `clock_untrusted`,
    /// whether or not the kernel reports the clock synchronised (HQ's time is cross-checked
    /// either way).
    @Test(arguments: [true, false])
    func theEnrolledDaemonTrustsHQsTimeButNotADayOff(kernelSynchronised: Bool) async throws {
        try await offThePool {
            let hq = try await offPool { try ReferenceHQ(seed: siteSeed) }
            let rig = try GatewayBinaryRig(door: "JKT1/FRONT")
            let config = try await offPool {
                _ = try rig.provision(hq)
                let pass = try hq.admin("pass", "--member", "m-1", "--door", "JKT1/FRONT")
                let frames = try rig.frames(
                    "hq",
                    [nil, nil, nil, pass, pass, pass] + Array(repeating: nil, count: 150),
                    fps: 10
                )
                return try rig.config("hq", frames: frames, fps: 10)
            }
            let environment = kernel(synchronised: kernelSynchronised)

            let honest = try rig.start(config: config, log: "honest", environment: environment)
            #expect(await honest.untilLog("reason="), "\(honest.log)")
            #expect(honest.log.contains("reason=granted"), "\(honest.log)")
            #expect(await honest.stop() == 0, "\(honest.log)")

            let proxy = try await offPool { try BadHQ("clock", [hq.url, "86400"]) }
            let store = try GatewayStore(path: rig.database, create: false)
            try store.setStateValues([.hqURL: "http://127.0.0.1:\(proxy.port)"])
            try store.close()
            let skewed = try rig.start(config: config, log: "skewed", environment: environment)
            defer { skewed.kill() }
            #expect(await skewed.untilLog("reason="), "\(skewed.log)")
            let line = try #require(skewed.log.split(separator: "\n").first { $0.contains(" seq=") })
            #expect(line.contains("reason=clock_untrusted"), "\(line)")
            #expect(await skewed.stop() == 0, "\(skewed.log)")
            #expect(!proxy.requests.isEmpty, "the daemon never asked the proxy")
        }
    }

    func kernel(synchronised: Bool) -> [String: String] {
        [ClockTrust.kernelSyncOverrideVariable: synchronised ? "1" : "0"]
    }
}
