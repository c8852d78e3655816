import AccessToken
import Foundation
import HQProtocol
import KeyCache
import TestSupport
import Testing

/// Pass-signing keys come with the snapshot: rotating or withdrawing one is a new snapshot.
@Suite struct KeyRotationTests {
    /// Publishes snapshot `seq` with `keys` into the world's store.
    func publish(_ world: World, seq: Int, keys: [(SigningKey, String)]) throws {
        let snapshot: [String: Any] = [
            "format": "ag-snapshot/1", "issuer": World.issuer, "seq": seq, "generated_at": Int(World.t0) - 60,
            "max_age": 86400, "keys": ["keys": keys.map { $0.0.publicJWK(kid: $0.1) }],
            "doors": [["id": "L1/front", "mode": "normal", "tz": "UTC"]],
            "members": [["id": "m-1", "blocked": false]], "bookings": [], "revoked": [],
        ]
        try world.store.apply(try SnapshotDocument.parse(JSONSerialization.data(withJSONObject: snapshot)))
    }

    @Test func aWithdrawnKeyOpensNothingFromTheNextSnapshotOn() throws {
        let world = try World()
        let compromised = try world.pass()
        #expect(try world.decide(compromised).reason == .granted)
        let successor = SigningKey.generate(.es256)
        try publish(world, seq: 2, keys: [(successor, "k2")])
        #expect(try world.decide(compromised, at: World.t0 + 10).reason == .unknownKey)
        let fresh = try PassIssuer(key: successor, kid: "k2").issue(
            PassClaims(
                issuer: World.issuer,
                member: "m-1",
                audience: ["L1"],
                expiresAt: World.t0 + 3600,
                issuedAt: World.t0 - 60,
                passID: Array(repeating: 9, count: 16)
            )
        )
        #expect(try world.decide(fresh, at: World.t0 + 20).reason == .granted)
    }

    @Test func duringARolloverBothKeysAreAccepted() throws {
        let world = try World()
        let successor = SigningKey.generate(.es256)
        try publish(world, seq: 2, keys: [(world.key, "k1"), (successor, "k2")])
        #expect(try world.decide(try world.pass()).reason == .granted)
    }
}
