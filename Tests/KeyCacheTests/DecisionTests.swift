import AccessPolicy
import AccessToken
import Foundation
import HQProtocol
import KeyCache
import TestSupport
import Testing

/// A small world: one key, a location with two doors, members and bookings, built per test.
struct World {
    static let issuer = "hq.test"
    static let t0: Double = 1_800_000_000
    let key = SigningKey.generate(.es256)
    let store: GatewayStore
    let decider: AccessDecider

    init(
        doors: [[String: Any]] = [["id": "L1/front", "mode": "normal", "tz": "UTC"]],
        members: [[String: Any]] = [["id": "m-1", "blocked": false], ["id": "m-blocked", "blocked": true]],
        bookings: [[String: Any]] = [],
        revoked: [[String: Any]] = [],
        generatedAt: Double = t0 - 3600,
        maxAge: Int = 86400
    ) throws {
        store = try makeStore()
        decider = AccessDecider(store: store)
        let snapshot: [String: Any] = [
            "format": "ag-snapshot/1", "issuer": Self.issuer, "seq": 1, "generated_at": Int(generatedAt),
            "max_age": maxAge, "keys": ["keys": [key.publicJWK(kid: "k1")]], "doors": doors, "members": members,
            "bookings": bookings, "revoked": revoked,
        ]
        try store.apply(try SnapshotDocument.parse(JSONSerialization.data(withJSONObject: snapshot)))
    }

    func pass(
        member: String = "m-1",
        aud: String = "L1",
        booking: String? = nil,
        uses: UInt64? = nil,
        iat: Double? = t0 - 60,
        id: UInt8 = 1
    ) throws -> String {
        try PassIssuer(key: key, kid: "k1").issue(
            PassClaims(
                issuer: Self.issuer,
                member: member,
                audience: [aud],
                expiresAt: Self.t0 + 86400 * 3,
                notBefore: Self.t0 - 86400,
                issuedAt: iat,
                passID: Array(repeating: id, count: 16),
                bookingID: booking,
                maxUses: uses
            )
        )
    }

    func decide(_ text: String, door: String = "L1/front", at: Double = t0) throws -> AccessDecision {
        try decider.decide(text, door: door, now: at)
    }
}

@Suite struct DecisionTests {
    @Test func grantsAValidPassAndRecordsIt() throws {
        let world = try World()
        let decision = try world.decide(try world.pass())
        #expect(decision.reason == .granted)
        #expect(decision.member == "m-1" && decision.pass == String(repeating: "01", count: 16))
        let events = try world.store.auditEvents(.init())
        #expect(events.count == 1 && events[0].seq == decision.seq && events[0].granted)
    }

    @Test func recordsDenialsWithTheirReason() throws {
        let world = try World()
        let decision = try world.decide("AG1:garbage")
        #expect(decision.reason == .malformed)
        let events = try world.store.auditEvents(.init())
        #expect(events.map(\.reason) == ["malformed"])
        #expect(events[0].detail.contains("why"))
    }

    @Test func revokedIsCheckedBeforeBlocked() throws {
        let world = try World(revoked: [["pass": String(repeating: "07", count: 16), "until": Int(World.t0) + 10]])
        #expect(try world.decide(try world.pass(member: "m-blocked", id: 7)).reason == .revoked)
        // After the revocation's end the pass is judged on its own again.
        #expect(try world.decide(try world.pass(id: 7), at: World.t0 + 20).reason == .granted)
    }

    @Test func blockedMemberIsDenied() throws {
        let world = try World()
        #expect(try world.decide(try world.pass(member: "m-blocked")).reason == .memberBlocked)
    }

    @Test func unknownMemberIsNotDeniedForThatAlone() throws {
        let world = try World()
        #expect(try world.decide(try world.pass(member: "m-new")).reason == .granted)
    }

    /// (name, booking members over a current confirmed booking of m-1 for L1, expected reason)
    static let bookingCases: [(String, Data, AccessReason)] = [
        ("confirmed", json([:]), .granted),
        ("cancelled", json(["status": "cancelled"]), .bookingInactive),
        ("other member", json(["member": "m-2"]), .bookingInactive),
        ("other door", json(["doors": ["L1/back"]]), .bookingInactive),
        ("this door", json(["doors": ["L1/front"]]), .granted),
        ("ended", json(["end": Int(World.t0) - 61]), .bookingInactive),
        ("ended within skew", json(["end": Int(World.t0) - 30]), .granted),
        ("not started", json(["start": Int(World.t0) + 600]), .bookingInactive),
    ]

    @Test(arguments: bookingCases)
    func checksTheBooking(name: String, change: Data, reason: AccessReason) throws {
        var record: [String: Any] = [
            "id": "b-1", "member": "m-1", "doors": ["L1"], "status": "confirmed", "start": Int(World.t0) - 600,
            "end": Int(World.t0) + 3600,
        ]
        record.merge(try JSONSerialization.jsonObject(with: change) as! [String: Any]) { _, new in new }
        let world = try World(
            doors: [
                ["id": "L1/front", "mode": "normal", "tz": "UTC"], ["id": "L1/back", "mode": "normal", "tz": "UTC"],
            ],
            bookings: [record]
        )
        #expect(try world.decide(try world.pass(booking: "b-1")).reason == reason, "\(name)")
    }

    @Test func missingBookingIsDeniedWhenTheSnapshotIsNewerThanThePass() throws {
        let world = try World(generatedAt: World.t0 - 30)
        #expect(try world.decide(try world.pass(booking: "b-new", iat: World.t0 - 60)).reason == .bookingInactive)
        #expect(try world.decide(try world.pass(booking: "b-new", iat: nil)).reason == .bookingInactive)
    }

    @Test func missingBookingIsAllowedWhenThePassIsNewerThanTheSnapshot() throws {
        let world = try World(generatedAt: World.t0 - 3600)
        #expect(try world.decide(try world.pass(booking: "b-new", iat: World.t0 - 60)).reason == .granted)
    }

    @Test func lockdownRefusesGrants() throws {
        let world = try World(doors: [["id": "L1/front", "mode": "lockdown", "tz": "UTC"]])
        #expect(try world.decide(try world.pass()).reason == .lockdown)
    }

    @Test func unlockedDoorStillDecides() throws {
        let world = try World(doors: [["id": "L1/front", "mode": "unlocked", "tz": "UTC"]])
        #expect(try world.decide(try world.pass(member: "m-blocked")).reason == .memberBlocked)
        #expect(try world.store.auditEvents(.init()).count == 1)
    }

    @Test func scheduleIsReadInTheDoorsTimeZone() throws {
        // t0 is 2027-01-15 08:00 UTC, a Friday: 15:00 in Jakarta.
        let schedule: [[String: Any]] = [["days": ["fri"], "from": "14:00", "to": "16:00"]]
        let jakarta = try World(doors: [
            ["id": "L1/front", "mode": "normal", "tz": "Asia/Jakarta", "schedule": schedule]
        ])
        #expect(try jakarta.decide(try jakarta.pass()).reason == .granted)
        let utc = try World(doors: [["id": "L1/front", "mode": "normal", "tz": "UTC", "schedule": schedule]])
        #expect(try utc.decide(try utc.pass()).reason == .outsideSchedule)
    }

    /// The decider keeps decoded schedules between decisions; a delta that changes the door's
    /// schedule or time zone is obeyed by the very next decision.
    @Test func aScheduleChangedByADeltaIsObeyedAtOnce() throws {
        // t0 is 2027-01-15 08:00 UTC, a Friday.
        let afternoons: [[String: Any]] = [["days": ["fri"], "from": "14:00", "to": "16:00"]]
        let world = try World(doors: [["id": "L1/front", "mode": "normal", "tz": "UTC", "schedule": afternoons]])
        #expect(try world.decide(try world.pass()).reason == .outsideSchedule)
        func change(seq: Int, tz: String, schedule: [[String: Any]]) throws {
            let delta: [String: Any] = [
                "format": "ag-snapshot-delta/1", "base_seq": seq - 1, "seq": seq,
                "upsert": ["doors": [["id": "L1/front", "mode": "normal", "tz": tz, "schedule": schedule]]],
            ]
            try world.store.apply(try SnapshotDocument.parse(JSONSerialization.data(withJSONObject: delta)))
        }
        try change(seq: 2, tz: "UTC", schedule: [["days": ["fri"], "from": "07:00", "to": "09:00"]])
        #expect(try world.decide(try world.pass()).reason == .granted)
        // The same text in another zone: 15:00 in Jakarta, outside 07:00–09:00.
        try change(seq: 3, tz: "Asia/Jakarta", schedule: [["days": ["fri"], "from": "07:00", "to": "09:00"]])
        #expect(try world.decide(try world.pass()).reason == .outsideSchedule)
        try change(seq: 4, tz: "Asia/Jakarta", schedule: afternoons)
        #expect(try world.decide(try world.pass()).reason == .granted)
    }

    @Test func overnightWindowsBelongToTheDayTheyStart() throws {
        // Thursday 22:00 → Friday 06:00 covers Friday 05:00, not Friday 08:00.
        let schedule: [[String: Any]] = [["days": ["thu"], "from": "22:00", "to": "06:00"]]
        let world = try World(doors: [["id": "L1/front", "mode": "normal", "tz": "UTC", "schedule": schedule]])
        #expect(try world.decide(try world.pass(), at: World.t0 - 3 * 3600).reason == .granted)
        #expect(try world.decide(try world.pass(), at: World.t0).reason == .outsideSchedule)
    }

    @Test func usesAreCountedWithADebounce() throws {
        let world = try World()
        let pass = try world.pass(uses: 2)
        #expect(try world.decide(pass).reason == .granted)
        #expect(try world.decide(pass, at: World.t0 + 3).reason == .granted)  // the same entry
        #expect(try world.decide(pass, at: World.t0 + 60).reason == .granted)  // second use
        #expect(try world.decide(pass, at: World.t0 + 120).reason == .usesExhausted)
        #expect(try world.decide(pass, at: World.t0 + 121).reason == .usesExhausted)
    }

    /// A repeat at the same door within 3 s (the scan gate's cooldown) is the same presentation;
    /// after that a single-use pass is used up.
    @Test(arguments: [
        (1.0, AccessReason.granted), (2, .granted), (3, .granted), (3.5, .usesExhausted), (4, .usesExhausted),
        (4.9, .usesExhausted),
    ])
    func aSingleUsePassOpensOncePerPresentation(after: Double, expected: AccessReason) throws {
        let world = try World()
        let pass = try world.pass(uses: 1)
        #expect(try world.decide(pass).reason == .granted)
        #expect(try world.decide(pass, at: World.t0 + after).reason == expected)
    }

    /// The same presentation is not counted again, and it does not slide: a pass held at the door
    /// is not a new use every 3 s, but no longer the same presentation after 3 s from its counted use.
    @Test func theSamePresentationWindowDoesNotSlide() throws {
        let world = try World()
        let pass = try world.pass(uses: 1)
        #expect(try world.decide(pass).reason == .granted)
        #expect(try world.decide(pass, at: World.t0 + 2).reason == .granted)
        #expect(try world.decide(pass, at: World.t0 + 4).reason == .usesExhausted)
    }

    @Test func aClockThatWentBackGivesNoFreeUse() throws {
        let world = try World()
        let pass = try world.pass(uses: 1)
        #expect(try world.decide(pass).reason == .granted)
        for back in [1.0, 10, 50] {
            #expect(try world.decide(pass, at: World.t0 - back).reason == .usesExhausted, "\(back) s back")
        }
    }

    @Test func aDoorMissingFromTheSnapshotAdmitsNobody() throws {
        let world = try World()
        let decision = try world.decide(try world.pass(aud: "L1"), door: "L1/typo")
        #expect(decision.reason == .wrongDoor)
        #expect(decision.detail.contains("not in snapshot"))
    }

    @Test(arguments: [Double.nan, .infinity, -1, 1e300])
    func refusesAnImpossibleClock(now: Double) throws {
        let world = try World()
        #expect(throws: KeyCacheError.self) { try world.decider.decide(try world.pass(), door: "L1/front", now: now) }
        #expect(try world.store.auditEvents(.init()).isEmpty)
    }

    @Test func debounceIsPerDoor() throws {
        let world = try World(
            doors: [
                ["id": "L1/front", "mode": "normal", "tz": "UTC"], ["id": "L1/back", "mode": "normal", "tz": "UTC"],
            ]
        )
        let pass = try world.pass(uses: 1)
        #expect(try world.decide(pass, door: "L1/front").reason == .granted)
        #expect(try world.decide(pass, door: "L1/back", at: World.t0 + 1).reason == .usesExhausted)
    }

    @Test func aStaleSnapshotDeniesByDefault() throws {
        let world = try World(generatedAt: World.t0 - 7200, maxAge: 3600)
        let decision = try world.decide(try world.pass())
        #expect(decision.reason == .snapshotStale)
        #expect(decision.detail.contains("max_age is 3600"), "\(decision.detail)")
        #expect(try world.store.auditEvents(.init()).last?.reason == "snapshot_stale")
    }

    @Test func aStaleSnapshotKeepsGrantingUnderTheGrantPolicyAndSaysSo() throws {
        let world = try World(generatedAt: World.t0 - 7200, maxAge: 3600)
        let lenient = AccessDecider(store: world.store, stalePolicy: .grant)
        let decision = try lenient.decide(try world.pass(), door: "L1/front", now: World.t0)
        #expect(decision.reason == .granted)
        #expect(decision.staleSnapshot?.contains("max_age is 3600") == true)
        #expect(try world.store.auditEvents(.init()).last?.detail.contains("stale_snapshot") == true)
        // Denials on a stale snapshot carry both notes.
        let denied = try lenient.decide(try world.pass(member: "m-blocked"), door: "L1/front", now: World.t0)
        #expect(denied.reason == .memberBlocked)
        let detail = try #require(try world.store.auditEvents(.init()).last?.detail)
        #expect(detail.contains("stale_snapshot") && detail.contains("is blocked"))
    }

    @Test func theOfflineBoundIsReachedExactlyAtMaxAge() throws {
        let world = try World(generatedAt: World.t0 - 3600, maxAge: 3600)
        #expect(try world.decide(try world.pass()).reason == .granted)
        #expect(try world.decide(try world.pass(id: 2), at: World.t0 + 1).reason == .snapshotStale)
    }

    @Test func aFreshSnapshotIsNotNoted() throws {
        let world = try World()
        #expect(try world.decide(try world.pass()).staleSnapshot == nil)
    }

    @Test func noSnapshotGrantsNothing() throws {
        let store = try makeStore()
        let decision = try AccessDecider(store: store).decide("AG1:anything", door: "L1/front", now: World.t0)
        #expect(decision.reason == .snapshotStale)
        #expect(try store.auditEvents(.init()).count == 1)
    }
}

@Suite struct ClockAndCommandedLockdownTests {
    @Test func anUntrustedClockRefusesWhatDependsOnTimeButNotTheSignatureChecks() throws {
        let world = try World()
        let untrusted = try world.decider.decide(try world.pass(), door: "L1/front", now: World.t0, clockTrusted: false)
        #expect(untrusted.reason == .clockUntrusted)
        #expect(
            try world.decider.decide("AG1:garbage", door: "L1/front", now: World.t0, clockTrusted: false).reason
                == .malformed
        )
        let stranger = try PassIssuer(key: SigningKey.generate(.es256), kid: "k1").issue(
            PassClaims(issuer: World.issuer, member: "m-1", audience: ["L1"], expiresAt: World.t0 + 60, passID: [9])
        )
        #expect(
            try world.decider.decide(stranger, door: "L1/front", now: World.t0, clockTrusted: false).reason
                == .badSignature
        )
        #expect(
            try world.store.auditEvents(.init()).map(\.reason) == ["clock_untrusted", "malformed", "bad_signature"]
        )
    }

    /// A stored mode this build cannot read (an import never writes one) holds the door.
    @Test func aDoorModeThatCannotBeReadIsALockdown() throws {
        let world = try World()
        _ = try runTool("sqlite3", [world.store.path, "UPDATE doors SET mode = 'closed-for-works'"])
        #expect(try world.decide(try world.pass()).reason == .lockdown)
    }

    /// A list of HQ's lockdowns that cannot be read holds every door until HQ sends one again.
    @Test func anUnreadableListOfHQsLockdownsHoldsEveryDoor() throws {
        let world = try World()
        let sql = "INSERT OR REPLACE INTO gateway_state(key, value) VALUES ('hq_lockdown', 'not a list')"
        _ = try runTool("sqlite3", [world.store.path, sql])
        #expect(try world.decide(try world.pass()).reason == .lockdown)
        try world.store.setLockdown(door: nil, on: false)
        #expect(try world.decide(try world.pass(id: 2)).reason == .granted)
    }

    @Test func anHQLockdownOverridesTheSnapshotUntilLifted() throws {
        let world = try World()
        try world.store.setLockdown(door: "L1/front", on: true)
        #expect(try world.decide(try world.pass()).reason == .lockdown)
        try world.store.setLockdown(door: "L1/front", on: false)
        #expect(try world.decide(try world.pass(id: 2)).reason == .granted)
        try world.store.setLockdown(door: nil, on: true)
        #expect(try world.decide(try world.pass(id: 3)).reason == .lockdown)
        try world.store.setLockdown(door: nil, on: false)
        #expect(try world.store.lockdowns().isEmpty)
    }
}
