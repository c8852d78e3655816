import AccessPolicy
import AccessToken
import Foundation
import HQProtocol
import TestSupport
import Testing

/// What a store would hold, in memory, and which questions the policy asked of it.
final class SiteRecords: DecisionRecords {
    var modes: [String: DoorMode] = [:]
    var schedules: [String: DoorSchedule] = [:]
    var lockdowns: Set<String> = []
    var revoked: [String: Int64] = [:]
    var blocked: [String: Bool] = [:]
    var bookings: [String: BookingFacts] = [:]
    var usages: [String: PassUsage] = [:]
    var proofsSeen: Set<String> = []
    private(set) var asked: [String] = []

    init(door: String) {
        modes[door] = .normal
    }

    func doorMode(_ id: String) throws -> DoorMode? {
        asked.append("door")
        return modes[id]
    }

    func doorSchedule(_ id: String) throws -> DoorSchedule {
        asked.append("schedule")
        return schedules[id] ?? DoorSchedule(windows: [], timeZone: TimeZone(identifier: "UTC")!)
    }

    func commandedLockdowns() throws -> Set<String> {
        asked.append("lockdowns")
        return lockdowns
    }

    func revokedUntil(pass: String) throws -> Int64? {
        asked.append("revoked")
        return revoked[pass]
    }

    func memberBlocked(_ id: String) throws -> Bool? {
        asked.append("member")
        return blocked[id]
    }

    func booking(_ id: String, door: String, location: String) throws -> BookingFacts? {
        asked.append("booking")
        return bookings[id]
    }

    func usage(pass: String) throws -> PassUsage? {
        asked.append("usage")
        return usages[pass]
    }

    func proofSeen(_ key: String, nowMs: Int64) throws -> Bool {
        asked.append("proof")
        return proofsSeen.contains(key)
    }
}

/// ``AccessPolicy`` alone: no SQLite, no clock, no door; every input is in the test.
@Suite struct AccessPolicyTests {
    static let site = DemoSite(now: 1_800_000_000)
    let policy = AccessPolicy()
    let holder = AccessPolicy.HolderCheck(policy: .optional, window: 30)

    static var snapshot: AccessPolicy.Snapshot {
        let jwks = ["keys": [site.key.publicJWK(kid: DemoSite.kid)]]
        // A literal of strings always serialises, and the site's key is a valid JWK.
        let keys = try! PassKeySet(jwks: JSONSerialization.data(withJSONObject: jwks))
        return AccessPolicy.Snapshot(
            verifier: PassVerifier(keys: keys, issuer: DemoSite.issuer),
            state: SnapshotState(seq: 7, generatedAt: Int64(site.now) - 60, maxAge: 86400)
        )
    }

    /// A static pass for the site's door, with at most `maxUses` uses.
    static func pass(maxUses: UInt64? = nil) throws -> (text: String, id: String) {
        var claims = site.claims(member: "m-demo", serial: 0xAB)
        claims.maxUses = maxUses
        return (try PassIssuer(key: site.key, kid: DemoSite.kid).issue(claims), claims.passIDHex)
    }

    func decide(
        _ text: String,
        _ records: SiteRecords,
        at now: Double = site.now,
        snapshot: AccessPolicy.Snapshot? = snapshot,
        policy: AccessPolicy? = nil
    ) throws -> AccessPolicy.Outcome {
        try (policy ?? self.policy).decide(
            ScannedPass(text: text),
            door: Self.site.door,
            now: now,
            clockTrusted: true,
            holder: holder,
            snapshot: snapshot,
            records: records
        )
    }

    @Test func aValidPassIsGrantedAndAsksForNoWrite() throws {
        let outcome = try decide(try Self.pass().text, SiteRecords(door: Self.site.door))
        #expect(outcome.decision.reason == .granted, "\(outcome.decision.detail)")
        #expect(outcome.decision.member == "m-demo")
        #expect(outcome.writes.isEmpty)
    }

    @Test func withoutASnapshotEveryPassIsSnapshotStale() throws {
        let outcome = try decide(try Self.pass().text, SiteRecords(door: Self.site.door), snapshot: nil)
        #expect(outcome.decision.reason == .snapshotStale)
    }

    /// Each row sets the checks that fail; the first of them in the documented order decides.
    @Test(
        arguments: [
            (["revoked", "blocked", "lockdown", "commanded", "closed"], AccessReason.revoked),
            (["blocked", "lockdown", "commanded", "closed"], .memberBlocked),
            (["lockdown", "commanded", "closed"], .lockdown),
            (["commanded", "closed"], .lockdown),
            (["closed"], .outsideSchedule),
            ([], .granted),
        ] as [([String], AccessReason)]
    )
    func theFirstFailingCheckInTheDocumentedOrderDecides(failing: [String], reason: AccessReason) throws {
        let (text, id) = try Self.pass()
        let records = SiteRecords(door: Self.site.door)
        let utc = TimeZone(identifier: "UTC")!
        if failing.contains("revoked") { records.revoked[id] = Int64(Self.site.now) + 60 }
        if failing.contains("blocked") { records.blocked["m-demo"] = true }
        let closed = [ScheduleWindow(days: ["sun"], from: "00:00", to: "00:01")]
        records.modes[Self.site.door] = failing.contains("lockdown") ? .lockdown : .normal
        if failing.contains("closed") {
            records.schedules[Self.site.door] = DoorSchedule(windows: closed, timeZone: utc)
        }
        if failing.contains("commanded") { records.lockdowns = ["*"] }
        #expect(try decide(text, records).decision.reason == reason)
    }

    @Test func aDoorNotInTheSnapshotIsWrongDoorAndNothingElseIsRead() throws {
        let records = SiteRecords(door: "ELSEWHERE/DOOR")
        let outcome = try decide(try Self.pass().text, records)
        #expect(outcome.decision.reason == .wrongDoor)
        #expect(records.asked == ["door"])
    }

    @Test func theScheduleIsReadOnlyWhenTheChecksBeforeItPass() throws {
        let (text, id) = try Self.pass()
        let records = SiteRecords(door: Self.site.door)
        records.revoked[id] = Int64(Self.site.now) + 60
        #expect(try decide(text, records).decision.reason == .revoked)
        #expect(!records.asked.contains("schedule"))
    }

    @Test func aVerifiedProofIsRememberedEvenWhenTheDecisionIsDenied() throws {
        let text = Self.site.holderBoundPass(shownAt: Self.site.now)
        let records = SiteRecords(door: Self.site.door)
        records.blocked["m-demo"] = true
        let outcome = try decide(text, records)
        #expect(outcome.decision.reason == .memberBlocked)
        guard case .rememberProof(let key, let untilMs)? = outcome.writes.first else {
            Issue.record("no proof to remember: \(outcome.writes)")
            return
        }
        #expect(key.hasSuffix(":\(Int64(Self.site.now))"))
        #expect(untilMs == Int64((Self.site.now + 31) * 1000))
    }

    @Test func aProofSeenBeforeIsReplayedAndAsksForNoWrite() throws {
        let text = Self.site.holderBoundPass(shownAt: Self.site.now)
        let records = SiteRecords(door: Self.site.door)
        let first = try decide(text, records)
        guard case .rememberProof(let key, _)? = first.writes.first else {
            Issue.record("no proof to remember: \(first.writes)")
            return
        }
        records.proofsSeen.insert(key)
        let again = try decide(text, records)
        #expect(again.decision.reason == .replayed)
        #expect(again.writes.isEmpty)
    }

    @Test func aMaxUsesPassAsksToCountOneUse() throws {
        let (text, id) = try Self.pass(maxUses: 2)
        let outcome = try decide(text, SiteRecords(door: Self.site.door))
        #expect(outcome.decision.reason == .granted)
        #expect(outcome.writes == [.countUse(pass: id, door: Self.site.door, atMs: Int64(Self.site.now * 1000))])
    }

    @Test func aMaxUsesPassUsedUpIsUsesExhausted() throws {
        let (text, id) = try Self.pass(maxUses: 2)
        let records = SiteRecords(door: Self.site.door)
        records.usages[id] = PassUsage(uses: 2, lastDoor: "DEMO/BACK", lastMs: 0)
        let outcome = try decide(text, records)
        #expect(outcome.decision.reason == .usesExhausted)
        #expect(outcome.writes.isEmpty)
    }

    @Test func aRescanAtTheSameDoorWithinTheDebounceIsOneEntry() throws {
        let (text, id) = try Self.pass(maxUses: 1)
        let records = SiteRecords(door: Self.site.door)
        records.usages[id] = PassUsage(uses: 1, lastDoor: Self.site.door, lastMs: Int64(Self.site.now * 1000) - 2000)
        let outcome = try decide(text, records)
        #expect(outcome.decision.reason == .granted)
        #expect(outcome.writes.isEmpty)
    }

    @Test(arguments: StaleSnapshotPolicy.allCases)
    func aStaleSnapshotIsDeniedOrNotedAsThePolicySays(stale: StaleSnapshotPolicy) throws {
        // The pass is still valid then (it expires a day after the site's now); the snapshot, made
        // a minute before that now with a day's max_age, is 30 s past it.
        let at = Self.site.now + 86400 - 30
        let (text, _) = try Self.pass()
        let outcome = try decide(text, SiteRecords(door: Self.site.door), at: at, policy: AccessPolicy(stalePolicy: stale))
        switch stale {
        case .deny: #expect(outcome.decision.reason == .snapshotStale)
        case .grant:
            #expect(outcome.decision.reason == .granted)
            #expect(outcome.decision.staleSnapshot?.contains("max_age is 86400") == true)
        }
    }
}
