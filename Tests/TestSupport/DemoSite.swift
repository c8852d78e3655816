import AccessToken
import Crypto
import Foundation
import HQProtocol
import KeyCache

/// The site that the tests, the benchmarks and the hardware stage decide against: a fresh pass-signing key, one door, two members (one blocked), and a snapshot
/// that HQ would have sent. Nothing here is a secret worth keeping: the key lives in memory only.
public struct DemoSite: Sendable {
    public static let issuer = "hq.demo.example"
    public static let kid = "demo-1"
    public let door: String
    public let key: SigningKey
    /// The time the snapshot and passes are made around.
    public let now: Double

    public init(door: String = "DEMO/FRONT", now: Double = Date().timeIntervalSince1970) {
        self.door = door
        self.now = now.rounded(.down)
        key = SigningKey.generate(.es256)
    }

    /// The full snapshot, as `ag-snapshot/1` JSON (docs/hq-protocol.md).
    public func snapshotJSON() -> Data {
        let snapshot: [String: Any] = [
            "format": "ag-snapshot/1", "issuer": Self.issuer, "seq": 1, "generated_at": Int(now) - 60,
            "max_age": 7 * 86400, "keys": ["keys": [key.publicJWK(kid: Self.kid)]],
            "doors": [["id": door, "name": "Front", "mode": "normal", "tz": "UTC"]],
            "members": [["id": "m-demo", "blocked": false], ["id": "m-blocked", "blocked": true]],
            "bookings": [], "revoked": [],
        ]
        // A literal of strings, numbers, arrays and dictionaries always serialises.
        return try! JSONSerialization.data(withJSONObject: snapshot, options: [.sortedKeys])
    }

    /// Imports the snapshot into `store`.
    public func install(in store: GatewayStore) throws(KeyCacheError) {
        let document: SnapshotDocument
        do { document = try SnapshotDocument.parse(snapshotJSON()) } catch { throw KeyCacheError(error) }
        try store.apply(document, now: now)
    }

    /// A pass for `member` at this door, valid for a day around ``now``; `serial` makes its id.
    public func pass(member: String = "m-demo", serial: UInt64 = 1) throws(AccessTokenError) -> String {
        try PassIssuer(key: key, kid: Self.kid).issue(claims(member: member, serial: serial))
    }

    /// What a member's phone shows for a holder-bound pass, as the reference member page draws it
    /// (AG2 v2): a compact credential bound to a fresh device key, and that device's proof made at
    /// `shownAt`.
    public func holderBoundPass(member: String = "m-demo", serial: UInt64 = 1, shownAt: Double) -> String {
        let device = P256.Signing.PrivateKey()
        let credential = PassIssuer(key: key, kid: Self.kid).issueCompactCredential(
            claims(member: member, serial: serial, holder: device.publicKey)
        )
        return CompactHolderBoundPass.make(credential: credential, key: device, now: shownAt).text
    }

    /// A static pass has a 16-byte id and `nbf`; a bound credential is shaped as the reference HQ
    /// issues it, with an 8-byte id, no `nbf`, and the door's location as `aud` (docs/token.md,
    /// "QR size").
    public func claims(member: String, serial: UInt64, holder: P256.Signing.PublicKey? = nil) -> PassClaims {
        var id = [UInt8](repeating: 0xD0, count: holder == nil ? 8 : 0)
        withUnsafeBytes(of: serial.bigEndian) { id.append(contentsOf: $0) }
        return PassClaims(
            issuer: Self.issuer,
            member: member,
            audience: [holder == nil ? door : PassClaims.location(ofDoor: door)],
            expiresAt: now + 86400,
            notBefore: holder == nil ? now - 3600 : nil,
            issuedAt: now - 60,
            passID: id,
            holderKey: holder
        )
    }
}
