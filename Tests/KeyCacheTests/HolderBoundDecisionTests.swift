import AccessPolicy
import AccessToken
import Crypto
import Foundation
import KeyCache
import QRCodec
import TestSupport
import Testing

/// AG2 at the door: the credential gets every AG1 check, then its proof must verify under the
/// credential's `cnf` key, be fresh on the gateway's clock, and be new at this gateway. Each
/// behaviour holds for both profiles: v1 (a COSE proof) and v2 (the compact one, a compact credential).
@Suite struct HolderBoundDecisionTests {
    enum Profile: CaseIterable, Sendable { case v1, v2 }

    static let t0 = World.t0
    let world: World
    let device = P256.Signing.PrivateKey()
    let credential: [UInt8]

    init() throws {
        world = try World(doors: [
            ["id": "L1/front", "mode": "normal", "tz": "UTC"], ["id": "L1/back", "mode": "normal", "tz": "UTC"],
        ])
        credential = PassIssuer(key: world.key, kid: "k1").issueCredential(Self.claims(holder: device.publicKey))
    }

    static func claims(holder: P256.Signing.PublicKey?, member: String = "m-1") -> PassClaims {
        PassClaims(
            issuer: World.issuer,
            member: member,
            audience: ["L1"],
            expiresAt: t0 + 86400,
            notBefore: t0 - 86400,
            issuedAt: t0 - 60,
            passID: Array(repeating: 0xA2, count: 16),
            holderKey: holder
        )
    }

    /// The credential HQ issues for `profile`: v2's has no `iss`, and its `cnf` point compressed.
    func issued(_ claims: PassClaims, _ profile: Profile) -> [UInt8] {
        let issuer = PassIssuer(key: world.key, kid: "k1")
        return profile == .v1 ? issuer.issueCredential(claims) : issuer.issueCompactCredential(claims)
    }

    /// The AG2 text a member's phone shows at `at`, its proof signed by `key` (the device's by
    /// default), over `credential` (this suite's, issued for `profile`, by default).
    func shown(
        _ profile: Profile = .v1,
        at: Double = t0,
        by key: P256.Signing.PrivateKey? = nil,
        credential: [UInt8]? = nil
    ) -> String {
        let credential = credential ?? issued(Self.claims(holder: device.publicKey), profile)
        switch profile {
        case .v1:
            let proof = HolderProof.make(credential: credential, key: key ?? device, now: at)
            return HolderBoundPass(credential: credential, proof: proof).text
        case .v2:
            return CompactHolderBoundPass.make(credential: credential, key: key ?? device, now: at).text
        }
    }

    func decide(
        _ text: String,
        door: String = "L1/front",
        at: Double = t0,
        policy: HolderBoundPolicy = .optional,
        trusted: Bool = true
    ) throws -> AccessDecision {
        try world.decider.decide(text, door: door, now: at, clockTrusted: trusted, holderBound: policy)
    }

    @Test(arguments: [HolderBoundPolicy.optional, .required], Profile.allCases)
    func aLiveProofFromTheBoundDeviceIsGranted(policy: HolderBoundPolicy, profile: Profile) throws {
        let decision = try decide(shown(profile), policy: policy)
        #expect(decision.reason == .granted, "\(decision.detail)")
        #expect(decision.member == "m-1" && decision.pass == String(repeating: "a2", count: 16))
    }

    @Test(arguments: Profile.allCases)
    func theSameProofAgainIsReplayedEvenAtAnotherDoor(profile: Profile) throws {
        let text = shown(profile)
        #expect(try decide(text).reason == .granted)
        #expect(try decide(text, at: Self.t0 + 1).reason == .replayed)
        #expect(try decide(text, door: "L1/back", at: Self.t0 + 2).reason == .replayed)
    }

    /// One credential, one second: whichever profile's proof comes second is the replay.
    @Test func aV1AndAV2ProofOfTheSameSecondCountOnce() throws {
        #expect(try decide(shown(.v2, credential: credential)).reason == .granted)
        #expect(try decide(shown(.v1, credential: credential), at: Self.t0 + 1).reason == .replayed)
    }

    @Test(arguments: [-31.0, 31, 40, 3600], Profile.allCases)
    func aProofOutsideTheWindowIsStale(age: Double, profile: Profile) throws {
        let decision = try decide(shown(profile, at: Self.t0 - age))
        #expect(decision.reason == .proofStale, "\(decision.detail)")
    }

    @Test(arguments: [-30.0, 0, 29], Profile.allCases)
    func aProofInsideTheWindowIsFresh(age: Double, profile: Profile) throws {
        #expect(try decide(shown(profile, at: Self.t0 - age)).reason == .granted)
    }

    @Test(arguments: Profile.allCases)
    func aProofFromAnotherDeviceIsInvalid(profile: Profile) throws {
        let decision = try decide(shown(profile, by: P256.Signing.PrivateKey()))
        #expect(decision.reason == .proofInvalid, "\(decision.detail)")
    }

    @Test(arguments: Profile.allCases)
    func aProofMadeForAnotherCredentialIsInvalid(profile: Profile) throws {
        let mine = issued(Self.claims(holder: device.publicKey), profile)
        let other = issued(Self.claims(holder: device.publicKey, member: "m-2"), profile)
        let moved: String
        switch profile {
        case .v1:
            let proof = HolderProof.make(credential: other, key: device, now: Self.t0)
            moved = HolderBoundPass(credential: mine, proof: proof).text
        case .v2:
            var pass = CompactHolderBoundPass.make(credential: other, key: device, now: Self.t0)
            pass.credential = mine
            moved = pass.text
        }
        let decision = try decide(moved)
        #expect(decision.reason == .proofInvalid, "\(decision.detail)")
    }

    /// The v2 proof binds any bound credential, and v1's any: the profiles differ in the proof alone.
    @Test(arguments: Profile.allCases)
    func aProofOverTheOtherProfilesCredentialIsGranted(profile: Profile) throws {
        let other = issued(Self.claims(holder: device.publicKey), profile == .v1 ? .v2 : .v1)
        #expect(try decide(shown(profile, credential: other)).reason == .granted)
    }

    /// Shown as a static AG1 pass, a bound credential opens nothing, and the log names whose it is
    /// (a v2 credential, which has no `iss`, too).
    @Test(arguments: [HolderBoundPolicy.optional, .required], Profile.allCases)
    func aBoundCredentialShownWithoutItsProofIsInvalid(policy: HolderBoundPolicy, profile: Profile) throws {
        let staticText = AG1.prefix + Base45.encode(issued(Self.claims(holder: device.publicKey), profile))
        let decision = try decide(staticText, policy: policy)
        #expect(decision.reason == .proofInvalid, "\(decision.detail)")
        #expect(decision.member == "m-1" && decision.pass == String(repeating: "a2", count: 16))
    }

    @Test func aRequiredDoorRefusesAStaticPass() throws {
        let pass = try world.pass()
        #expect(try decide(pass, policy: .required).reason == .proofInvalid)
        #expect(try decide(pass, at: Self.t0 + 10, policy: .optional).reason == .granted)
    }

    @Test(arguments: Profile.allCases)
    func anAG2WhoseCredentialHasNoHolderKeyIsInvalid(profile: Profile) throws {
        let unbound = PassIssuer(key: world.key, kid: "k1").issueCredential(Self.claims(holder: nil))
        let decision = try decide(shown(profile, credential: unbound))
        #expect(decision.reason == .proofInvalid, "\(decision.detail)")
    }

    @Test(arguments: Profile.allCases)
    func anUntrustedClockDecidesNoProof(profile: Profile) throws {
        #expect(try decide(shown(profile), trusted: false).reason == .clockUntrusted)
    }

    @Test(arguments: Profile.allCases)
    func theCredentialStillGetsEveryAG1Check(profile: Profile) throws {
        let stranger = PassIssuer(key: SigningKey.generate(.es256), kid: "k1")
        let claims = Self.claims(holder: device.publicKey)
        // Signed by a key the snapshot does not hold.
        let foreign = profile == .v1 ? stranger.issueCredential(claims) : stranger.issueCompactCredential(claims)
        #expect(try decide(shown(profile, credential: foreign)).reason == .badSignature)
        #expect(try decide(shown(profile, at: Self.t0 + 90_000), at: Self.t0 + 90_000).reason == .expired)
        // A credential that names another issuer is that issuer's, whichever profile carries it.
        var elsewhere = claims
        elsewhere.issuer = "hq.elsewhere.example"
        elsewhere.compressesHolderKey = profile == .v2
        let named = PassIssuer(key: world.key, kid: "k1").issueCredential(elsewhere)
        #expect(try decide(shown(profile, credential: named)).reason == .wrongIssuer)
        #expect(try decide("AG2:NOT-BASE45!").reason == .malformed)
    }

    @Test(arguments: Profile.allCases)
    func everyAG2DecisionIsRecorded(profile: Profile) throws {
        let text = shown(profile)
        _ = try decide(text)
        _ = try decide(text, at: Self.t0 + 1)
        let events = try world.store.auditEvents(.init())
        #expect(events.map(\.reason) == ["granted", "replayed"])
        #expect(events.allSatisfy { $0.pass == String(repeating: "a2", count: 16) })
    }
}
