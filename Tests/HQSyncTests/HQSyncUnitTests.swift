import AccessToken
import Crypto
import Foundation
import Glibc
import HQProtocol
import HQSync
import TestSupport
import Testing

@Suite struct DeviceIdentityTests {
    @Test func theKeyFileIsCreatedReadableByItsOwnerOnly() throws {
        let path = try TestPaths.temporaryDirectory().appendingPathComponent("device-key.pem").path
        let made = try DeviceIdentity.load(path: path, create: true)
        var status = stat()
        #expect(stat(path, &status) == 0 && status.st_mode & 0o777 == 0o600)
        #expect(try DeviceIdentity.load(path: path, create: false).thumbprint == made.thumbprint)
    }

    @Test func aKeyOthersCanReadIsRefused() throws {
        let path = try TestPaths.temporaryDirectory().appendingPathComponent("device-key.pem").path
        _ = try DeviceIdentity.load(path: path, create: true)
        chmod(path, 0o644)
        #expect(throws: HQSyncError.self) { try DeviceIdentity.load(path: path, create: false) }
    }

    @Test func aMissingKeySaysToProvision() throws {
        let path = try TestPaths.temporaryDirectory().appendingPathComponent("none.pem").path
        #expect(throws: HQSyncError.deviceKey("no device key at \(path): run 'gatewayctl provision'")) {
            try DeviceIdentity.load(path: path, create: false)
        }
    }

    @Test func tokensVerifyWithThePublicKeyForTheirAudienceOnly() throws {
        let path = try TestPaths.temporaryDirectory().appendingPathComponent("k.pem").path
        let identity = try DeviceIdentity.load(path: path, create: true)
        let token = try identity.token(subject: "gw-1", audience: "hq.example", now: 1_800_000_000)
        let claims = try DeviceTokenClaims.verify(
            token,
            publicJWK: identity.publicJWK,
            audience: "hq.example",
            now: 1_800_000_100
        )
        #expect(claims.subject == "gw-1" && claims.kid == identity.thumbprint)
        #expect(throws: HQProtocolError.self) {
            try DeviceTokenClaims.verify(token, publicJWK: identity.publicJWK, audience: "other", now: 1_800_000_100)
        }
        #expect(throws: HQProtocolError.self) {
            try DeviceTokenClaims.verify(
                token,
                publicJWK: identity.publicJWK,
                audience: "hq.example",
                now: 1_800_001_000
            )
        }
        let other = try DeviceIdentity.load(path: path + ".2", create: true)
        #expect(throws: HQProtocolError.self) {
            try DeviceTokenClaims.verify(token, publicJWK: other.publicJWK, audience: "hq.example", now: 1_800_000_100)
        }
    }

    @Test func theThumbprintFollowsRFC7638() {
        // RFC 7638 §3.1's example key is RSA; for EC the members are crv, kty, x, y in that order.
        let jwk = ["kty": "EC", "crv": "P-256", "x": "AAAA", "y": "BBBB", "kid": "ignored"]
        let expected = Base64URL.encode(
            Array(SHA256.hash(data: Data("{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"AAAA\",\"y\":\"BBBB\"}".utf8)))
        )
        #expect(DeviceKey.thumbprint(of: jwk) == expected)
    }
}

@Suite struct SignedDocumentTests {
    let root = SigningKey.generate(.es256)

    @Test func opensWhatThePinnedKeySigned() throws {
        let signed = try SignedDocument.sign(Array("{\"a\":1}".utf8), with: root, kid: "r")
        #expect(try SignedDocument.open(signed, rootKey: root.publicKey) == Array("{\"a\":1}".utf8))
    }

    @Test func refusesAnotherKeyAndAnyChangedByte() throws {
        let signed = try SignedDocument.sign(Array("{\"a\":1}".utf8), with: root, kid: "r")
        #expect(throws: HQProtocolError.self) {
            try SignedDocument.open(signed, rootKey: SigningKey.generate(.es256).publicKey)
        }
        for index in [signed.count / 2, signed.count - 1] {
            var changed = signed
            changed[index] ^= 0x01
            #expect(throws: HQProtocolError.self) { try SignedDocument.open(changed, rootKey: root.publicKey) }
        }
    }
}

@Suite struct HQCommandTests {
    let root = SigningKey.generate(.es256)

    func signed(_ command: HQCommand) throws -> [UInt8] { try SignedDocument.sign(command.json, with: root, kid: "r") }

    func unlock(
        id: String = "c-1",
        gateway: String = "gw-1",
        issued: Double = 1000,
        expires: Double = 1060
    ) -> HQCommand {
        HQCommand(
            id: id,
            gateway: gateway,
            action: .unlock(door: "L/D", seconds: 5),
            issuedAt: issued,
            expiresAt: expires
        )
    }

    @Test func aValidCommandOpens() throws {
        let command = try HQCommand.open(try signed(unlock()), rootKey: root.publicKey, gateway: "gw-1", now: 1010)
        #expect(command == unlock())
    }

    @Test(arguments: [
        ("another gateway", "gw-2", 1010.0), ("expired", "gw-1", 1100.0), ("from the future", "gw-1", 900.0),
    ])
    func refuses(_ why: String, gateway: String, now: Double) throws {
        #expect(throws: HQProtocolError.self, "\(why)") {
            try HQCommand.open(try signed(unlock()), rootKey: root.publicKey, gateway: gateway, now: now)
        }
    }

    @Test func nothingIsCheckedOnAnUntrustedClock() throws {
        #expect(throws: HQProtocolError.self) {
            try HQCommand.open(try signed(unlock()), rootKey: root.publicKey, gateway: "gw-1", now: nil)
        }
    }

    @Test(arguments: [
        #"{"id":"c","gateway":"g","kind":"unlock","door":"L/D","seconds":300,"issued_at":1,"expires_at":2}"#,
        #"{"id":"c","gateway":"g","kind":"unlock","seconds":5,"issued_at":1,"expires_at":2}"#,
        #"{"id":"c","gateway":"g","kind":"open_all","issued_at":1,"expires_at":2}"#,
        #"{"id":"c","gateway":"g","kind":"resync","issued_at":1,"expires_at":99999}"#,
        #"{"id":"c","gateway":"g","kind":"lockdown","issued_at":1,"expires_at":2}"#,
        #"[1,2]"#,
    ])
    func malformedCommandsAreRefused(json: String) {
        #expect(throws: HQProtocolError.self) { try HQCommand.parse(Array(json.utf8)) }
    }
}

@Suite struct ClockTrustTests {
    @Test func aSynchronisedKernelIsTrusted() {
        #expect(ClockTrust(kernelSynchronised: { true }).status.trusted)
    }

    @Test func otherwiseOnlyARecentAgreementWithHQ() {
        let clock = ClockTrust(agreement: 5, kernelSynchronised: { false })
        #expect(!clock.status.trusted && clock.trustedNow() == nil)
        clock.observeHQ(date: 1_800_000_000, now: 1_800_000_003)
        #expect(clock.status.trusted && clock.status.source == .hq)
        // A board that booted in 1970.
        clock.observeHQ(date: 1_800_000_000, now: 86400)
        #expect(!clock.status.trusted)
        #expect(clock.status.detail.contains("off HQ's clock"))
    }

    @Test func anAgreementExpires() async throws {
        let clock = ClockTrust(agreement: 5, validity: .milliseconds(50), kernelSynchronised: { false })
        clock.observeHQ(date: 100, now: 100)
        #expect(clock.status.trusted)
        try await Task.sleep(for: .milliseconds(80))
        #expect(!clock.status.trusted)
    }
}

@Suite struct TransportPolicyTests {
    /// Plain HTTP only to an address in 127.0.0.0/8, ::1, or the name localhost.
    @Test(arguments: [
        "https://hq.example.com", "http://127.0.0.1:8080", "http://127.3.4.5:80", "http://localhost:9/",
        "http://LOCALHOST:9", "http://[::1]:80", "http://[0:0:0:0:0:0:0:1]:80",
    ])
    func accepted(url: String) throws {
        _ = try HQLocation(url)
    }

    /// A name that starts like a loopback address is a name: `127.evil.example` resolves wherever
    /// its owner likes.
    @Test(arguments: [
        "http://hq.example.com", "ftp://127.0.0.1", "hq.example.com", "http://10.0.0.1", "http://127.evil.example",
        "http://127.0.0.1.evil.example:80", "http://localhost.evil.example", "http://[::2]:80", "http://128.0.0.1",
        "http://[::ffff:10.0.0.1]:80",
    ])
    func refused(url: String) {
        #expect(throws: HQSyncError.insecureURL(url)) { try HQLocation(url) }
    }

    @Test func backoffGrowsWithJitterAndStaysUnderItsCap() {
        var backoff = Backoff(base: .seconds(1), cap: .seconds(60))
        var waits: [Duration] = []
        for _ in 0..<12 { waits.append(backoff.next()) }
        #expect(waits.allSatisfy { $0 >= .zero && $0 <= .seconds(60) })
        #expect(Set(waits).count > 6)
        backoff.reset()
        #expect(backoff.next() <= .seconds(1))
    }
}
