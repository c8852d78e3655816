import AccessPolicy
import AccessToken
import Crypto
import Foundation
import HQSync
import KeyCache
import QRCodec
import TestSupport
import Testing

/// The member pass page in a real browser: Debian's chromium, headless, against the real
/// `access-hq-dev` on loopback, decided by a real gateway store.
///
/// How chromium is driven: `Tests/browser/member_page_shots.py` (python standard library only)
/// starts `chromium --headless=new --no-sandbox --disable-gpu --user-data-dir=PROFILE
/// --remote-debugging-pipe` and speaks the DevTools protocol over that pipe (NUL-terminated JSON on
/// fds 3 and 4: no websocket). It gives the page a 412×915 phone viewport, opens `/m/m-1`, waits
/// until the title is "AG2 ready" and the `<img>` shows `window.agState.text`, and takes
/// `Page.captureScreenshot`. `--screenshot` with `--virtual-time-budget` does not do: the shot is
/// taken before the page's WebCrypto, IndexedDB and fetch have finished ("Setting up this
/// device…"). The script writes each shot as PNG (kept) and as an 8-bit PGM (its own zlib PNG
/// decoder), and the test reads the PGM with the gateway's `PGM.parse` and decodes it with zbar
/// (`QRScanner.scanStill(_:decoders: .zbar)`), the camera path's decoder. A profile is a
/// `--user-data-dir` in the test's scratch folder: its IndexedDB holds the page's non-extractable
/// key, so a second profile is a second device.
///
/// Decisions are made by `AccessDecider` on a gateway enrolled with that HQ, at door JKT1/FRONT with
/// `holder_bound = "required"` and the clock trusted; times past the screenshot are passed as
/// `now:`, never slept. Screenshots, PGMs and chromium's log stay in the scratch folder
/// (`.build/test-scratch/<pid>/…`), named in every failure.
@Suite(.serialized) struct MemberBrowserTests {
    static let door = "JKT1/FRONT"

    /// 1. The page, opened in chromium, shows its code: two screenshots 10 s apart each hold a QR
    /// that zbar reads as the text the page shows; the credential stays, the proof is redrawn.
    @Test func screenshotsShowTheRotatingCodeThePageShows() async throws {
        let hq = try ReferenceHQ(seed: siteSeed)
        let run = try Browser.open(hq, profile: try Browser.profile(), shots: 2)
        try #require(run.shots.count == 2, "\(run)")
        var passes: [AG2Code] = []
        for shot in run.shots {
            #expect(shot.width == 412 && shot.height == 915, "\(shot.png) is \(shot.width)×\(shot.height)")
            let decoded = try Browser.decode(shot)
            #expect(decoded == shot.text, "zbar read \(shot.png) as \(decoded), the page showed \(shot.text)")
            passes.append(try AG2Code.parse(decoded))
        }
        #expect(run.shots[0].text != run.shots[1].text, "the code was not redrawn: \(run.shots[1].png)")
        #expect(passes[0].credential == passes[1].credential, "the credential changed between shots")
        let claims = try MemberPageTests.verifiedClaims(passes[0].credential, hq: hq)
        #expect(claims.member == "m-1")
        let holder = try #require(claims.holderKey, "the credential has no cnf")
        let times = try passes.map { try $0.verifyProof(holderKey: holder).issuedAt }
        #expect((9...13).contains(times[1] - times[0]), "proofs \(times) are not one redraw (10 s) apart")
        let version = try QRMatrix.encode(text: run.shots[0].text).version
        print(
            "MemberBrowser: \(run.shots[0].text.count) characters, QR version \(version) (level M);"
                + " chromium ready after \(run.readyS) s, first shot at \(run.shots[0].at) s,"
                + " second at \(run.shots[1].at) s; the run took \(run.wallS) s;"
                + " screenshots \(run.shots.map(\.png))"
        )
    }

    /// 2. zbar decodes the QR from the screenshot, and the gateway grants it.
    @Test func aScreenshotDecodedByZbarIsGranted() async throws {
        let hq = try ReferenceHQ(seed: siteSeed)
        let decider = try await Gateway.decider(hq)
        let run = try Browser.open(hq, profile: try Browser.profile())
        let shot = try #require(run.shots.first)
        let text = try Browser.decode(shot)
        let pass = try AG2Code.parse(text)
        let claims = try MemberPageTests.verifiedClaims(pass.credential, hq: hq)
        let decision = try Gateway.decide(decider, text, now: Date().timeIntervalSince1970)
        #expect(decision.reason == .granted, "\(shot.png): \(decision.reason) \(decision.detail)")
        #expect(decision.member == "m-1" && decision.pass == claims.passIDHex, "\(decision)")
        print(
            "MemberBrowser: one chromium run (start, key, registration, code, screenshot, close) took"
                + " \(run.wallS) s, ready after \(run.readyS) s; QR version"
                + " \(try QRMatrix.encode(text: text).version), \(text.count) characters; \(shot.png)"
        )
    }

    /// 3 and 4. The same screenshot, granted, then decided again, read and decoded afresh as a
    /// camera would see a photo of the screen: 40 s later `proof_stale`; 1 s later, within the
    /// window, `replayed`.
    @Test(arguments: [(40.0, AccessReason.proofStale), (1.0, .replayed)])
    func theSameScreenshotDecidedAgainIsRefused(after seconds: Double, reason: AccessReason) async throws {
        let hq = try ReferenceHQ(seed: siteSeed)
        let decider = try await Gateway.decider(hq)
        let shot = try #require(try Browser.open(hq, profile: try Browser.profile()).shots.first)
        let now = Date().timeIntervalSince1970
        let first = try Gateway.decide(decider, try Browser.decode(shot), now: now)
        #expect(first.reason == .granted, "\(shot.png): \(first.reason) \(first.detail)")
        let again = try Gateway.decide(decider, try Browser.decode(shot), now: now + seconds)
        #expect(again.reason == reason, "\(shot.png) at +\(Int(seconds)) s: \(again.reason) \(again.detail)")
        #expect(!again.granted)
    }

    /// 5. Two profiles are two devices, each with its own key and credential. Profile A's
    /// credential with a proof by profile B's key is `proof_invalid`: B's proof from its own
    /// screenshot, and a proof B's page signs for A's credential with B's key (the digest right,
    /// only the key wrong).
    @Test func aProofByAnotherProfilesKeyIsProofInvalid() async throws {
        let hq = try ReferenceHQ(seed: siteSeed)
        let decider = try await Gateway.decider(hq)
        let shotA = try #require(try Browser.open(hq, profile: try Browser.profile()).shots.first)
        let passA = try AG2Code.parse(try Browser.decode(shotA))
        let runB = try Browser.open(hq, profile: try Browser.profile(), sign: passA.credential)
        let shotB = try #require(runB.shots.first)
        let passB = try AG2Code.parse(try Browser.decode(shotB))
        let claimsA = try MemberPageTests.verifiedClaims(passA.credential, hq: hq)
        let claimsB = try MemberPageTests.verifiedClaims(passB.credential, hq: hq)
        let keyA = try #require(claimsA.holderKey, "\(shotA.png): no cnf")
        let keyB = try #require(claimsB.holderKey, "\(shotB.png): no cnf")
        #expect(keyA.rawRepresentation != keyB.rawRepresentation, "both profiles have the same key")
        #expect(claimsA.passIDHex != claimsB.passIDHex)

        let now = Date().timeIntervalSince1970
        for (shot, pass) in [(shotA, passA), (shotB, passB)] {
            let own = try Gateway.decide(decider, pass.text, now: now)
            #expect(own.reason == .granted, "\(shot.png), its own proof: \(own.reason) \(own.detail)")
        }
        guard case .v2(var swappedPass) = passB else {
            Issue.record("\(shotB.png): not an AG2 v2 code")
            return
        }
        swappedPass.credential = passA.credential
        let swapped = swappedPass.text
        let decision = try Gateway.decide(decider, swapped, now: now + 1)
        #expect(decision.reason == .proofInvalid, "A's credential, B's proof: \(decision.reason) \(decision.detail)")

        let signed = try AG2Code.parse(try #require(runB.signed, "profile B signed nothing"))
        #expect(signed.credential == passA.credential)
        // B's proof is well formed for A's credential: only the key is wrong.
        let proof = try signed.verifyProof(holderKey: keyB)
        #expect(proof.credentialDigest == HolderProof.digest(of: passA.credential))
        let forged = try Gateway.decide(decider, signed.text, now: now + 1)
        #expect(forged.reason == .proofInvalid, "A's credential, B's key: \(forged.reason) \(forged.detail)")
    }

    /// Reopening a profile (the same `--user-data-dir`) finds its key in IndexedDB: the same holder
    /// key and the same cached credential, with a new proof.
    @Test func reopeningAProfileReusesItsKeyAndCredential() async throws {
        let hq = try ReferenceHQ(seed: siteSeed)
        let profile = try Browser.profile()
        let first = try #require(try Browser.open(hq, profile: profile).shots.first)
        let second = try #require(try Browser.open(hq, profile: profile).shots.first)
        let before = try AG2Code.parse(try Browser.decode(first))
        let after = try AG2Code.parse(try Browser.decode(second))
        let keyBefore = try MemberPageTests.verifiedClaims(before.credential, hq: hq).holderKey
        let keyAfter = try MemberPageTests.verifiedClaims(after.credential, hq: hq).holderKey
        #expect(keyBefore != nil && keyBefore?.rawRepresentation == keyAfter?.rawRepresentation)
        #expect(before.credential == after.credential, "\(second.png): the page registered again")
        #expect(before != after, "the same code after reopening")
    }
}

extension MemberBrowserTests {
    /// Chromium through `Tests/browser/member_page_shots.py`.
    enum Browser {
        static let script = TestPaths.packageRoot.appendingPathComponent("Tests/browser/member_page_shots.py")

        struct Shot: CustomStringConvertible {
            var png: String
            var pgm: String
            /// `window.agState.text` when the shot was taken.
            var text: String
            var width: Int
            var height: Int
            /// Seconds since chromium was started.
            var at: Double
            var description: String { png }
        }

        struct Run: CustomStringConvertible {
            var shots: [Shot]
            /// Seconds from chromium's start to the first code on screen.
            var readyS: Double
            /// The whole run, chromium's start to its exit, as the test saw it.
            var wallS: Double
            /// `--sign`: another credential with this profile's proof.
            var signed: String?
            var folder: URL
            var description: String { "chromium run in \(folder.path): \(shots)" }
        }

        /// A fresh, empty `--user-data-dir`: a new device.
        static func profile() throws -> URL { try TestPaths.temporaryDirectory().appendingPathComponent("profile") }

        /// Opens `/m/{member}` in chromium with `profile` and takes `shots` screenshots of distinct codes.
        static func open(
            _ hq: ReferenceHQ,
            profile: URL,
            member: String = "m-1",
            shots: Int = 1,
            sign credential: [UInt8]? = nil
        ) throws -> Run {
            let folder = try TestPaths.temporaryDirectory()
            var arguments = [
                script.path, "--profile", profile.path, "--out", folder.path, "--shots", String(shots), "--timeout",
                "40",
            ]
            if let credential { arguments += ["--sign", Base64URL.encode(credential)] }
            arguments.append(hq.url + "/m/" + member)
            let started = Date()
            let result = try runTool("python3", arguments)
            let wall = (Date().timeIntervalSince(started) * 100).rounded() / 100
            let log = folder.appendingPathComponent("chromium.log").path
            guard
                let answer = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
                result.status == 0, answer["error"] == nil, let list = answer["shots"] as? [[String: Any]]
            else {
                throw ReferenceHQFailure(
                    "chromium did not show the code (exit \(result.status)): \(result.stdout) \(result.stderr)"
                        + " — see \(folder.path) (failed.png, \(log)); HQ log: \(hq.log)"
                )
            }
            let taken = list.compactMap { shot -> Shot? in
                guard let png = shot["png"] as? String, let pgm = shot["pgm"] as? String,
                    let text = shot["text"] as? String, let width = shot["width"] as? Int,
                    let height = shot["height"] as? Int, let at = shot["at"] as? NSNumber
                else { return nil }
                return Shot(png: png, pgm: pgm, text: text, width: width, height: height, at: at.doubleValue)
            }
            guard taken.count == shots else { throw ReferenceHQFailure("\(result.stdout): \(shots) shots wanted") }
            return Run(
                shots: taken,
                readyS: (answer["ready_s"] as? NSNumber)?.doubleValue ?? -1,
                wallS: wall,
                signed: answer["signed"] as? String,
                folder: folder
            )
        }

        /// The screenshot's one QR, as the gateway reads a frame: its PGM through `PGM.parse`, then zbar.
        static func decode(_ shot: Shot) throws -> String {
            let image = try PGM.parse(Array(try Data(contentsOf: URL(fileURLWithPath: shot.pgm))))
            let scanner = try QRScanner()
            let symbols = scanner.scanStill(image, decoders: .zbar)
            guard symbols.count == 1, let symbol = symbols.first else {
                throw ReferenceHQFailure("zbar found \(symbols.count) QR codes in \(shot.png), not one")
            }
            return symbol.text
        }
    }

    /// A gateway enrolled with the test's HQ, its snapshot pulled.
    enum Gateway {
        static func decider(_ hq: ReferenceHQ) async throws -> AccessDecider {
            let rig = try GatewayRig()
            _ = try await (try await rig.enrol(hq)).pullSnapshot()
            return AccessDecider(store: rig.store)
        }

        static func decide(_ decider: AccessDecider, _ text: String, now: Double) throws -> AccessDecision {
            try decider.decide(
                text,
                door: MemberBrowserTests.door,
                now: now,
                clockTrusted: true,
                holderBound: .required
            )
        }
    }
}
