import AccessToken
import Crypto
import Foundation
import Glibc
import HQSync
import KeyCache
import QRCodec
import TestSupport
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The member pass page of the reference HQ: `GET /m/{member}`, `POST /m/{member}/credential` and
/// `GET /qr.svg`, against the real `access-hq-dev` on loopback. The page's own script runs under
/// node (scripts/install-deps.sh installs it) to make an AG2 code that AccessToken then verifies.
@Suite(.serialized) struct MemberPageTests {
    @Test func thePageIsOneSelfContainedDocument() async throws {
        let hq = try ReferenceHQ(seed: siteSeed)
        let reply = try await HTTP.get(hq, "/m/m-1")
        #expect(reply.status == 200)
        #expect(reply.header("Content-Type")?.hasPrefix("text/html") == true)
        #expect(
            reply.header("Content-Security-Policy")
                == "default-src 'self'; script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline'; img-src 'self'"
        )
        #expect(reply.header("Cache-Control") == "no-store")
        let html = reply.text
        for needle in [
            "<script>", "crypto.subtle.generateKey", "\"ag-member\"", "id=\"ag2-text\"", "data-member=\"m-1\"",
            "/qr.svg?text=", "New code in ", "Setting up this device…", "has no login", "not production",
            "Turn your screen brightness up; hold the phone 20–40 cm from the camera.",
        ] {
            #expect(html.contains(needle), "the page lacks \(needle)")
        }
        // Nothing from elsewhere: no URLs, no external scripts, styles or images.
        #expect(!html.contains("http://") && !html.contains("https://") && !html.contains("src=\"//"))
        #expect(!html.contains("<script src") && !html.contains("<link"))
        do {
            let file = try TestPaths.temporaryDirectory().appendingPathComponent("page.js")
            try Data(try Self.script(of: html).utf8).write(to: file)
            let check = try runTool("node", ["--check", file.path])
            #expect(check.status == 0, "node --check: \(check.stderr)")
        }
    }

    @Test func aMemberHQDoesNotKnowOrHasBlockedGets404() async throws {
        let hq = try ReferenceHQ(seed: siteSeed)
        let unknown = try await HTTP.get(hq, "/m/nobody")
        #expect(unknown.status == 404)
        #expect(unknown.header("Content-Type")?.hasPrefix("text/html") == true)
        #expect(unknown.text.contains("nobody is not a member"))
        #expect(!unknown.text.contains("<script"))
        let blocked = try await HTTP.get(hq, "/m/m-blocked")
        #expect(blocked.status == 404 && blocked.text.contains("m-blocked is blocked"))
        let key = P256.Signing.PrivateKey().publicKey
        let refused = try await HTTP.post(hq, "/m/m-blocked/credential", json: Self.registration(key))
        #expect(refused.status == 404 && refused.text.contains("blocked"))
    }

    @Test func aCredentialCarriesTheRegisteredKeyAndHQsSignature() async throws {
        let hq = try ReferenceHQ(seed: siteSeed)
        let device = P256.Signing.PrivateKey()
        let reply = try await HTTP.post(hq, "/m/m-1/credential", json: Self.registration(device.publicKey))
        #expect(reply.status == 200, "\(reply.text)")
        let answer = try #require(try JSONSerialization.jsonObject(with: reply.body) as? [String: Any])
        let encoded = try #require(answer["credential"] as? String)
        let credential = try #require(Base64URL.decode(encoded))
        let claims = try Self.verifiedClaims(credential, hq: hq)
        #expect(claims.holderKey?.rawRepresentation == device.publicKey.rawRepresentation)
        // An AG2 v2 credential: no iss, its cnf point compressed; aud the doors' location.
        #expect(claims.member == "m-1" && claims.issuerImplied && claims.audience == ["JKT1"])
        #expect(claims.compressesHolderKey)
        let issuedAt = try #require(claims.issuedAt)
        #expect(claims.expiresAt - issuedAt == 86400 && abs(issuedAt - Date().timeIntervalSince1970) < 60)
        #expect((answer["expires_at"] as? NSNumber)?.doubleValue == claims.expiresAt)
        #expect(answer["pass_id"] as? String == claims.passIDHex && claims.passID.count == 8)
        // What a phone shows: the credential and a fresh proof by the device key.
        let now = Date().timeIntervalSince1970
        let shown = CompactHolderBoundPass.make(credential: credential, key: device, now: now).text
        let parsed = try AG2Code.parse(shown)
        #expect(parsed.credential == credential)
        let verified = try parsed.verifyProof(holderKey: device.publicKey)
        #expect(verified.issuedAt == now.rounded(.down))
    }

    @Test func aBadKeyIsRefusedWith400NamingTheProblem() async throws {
        let hq = try ReferenceHQ(seed: siteSeed)
        let good = Self.jwk(P256.Signing.PrivateKey().publicKey)
        var offCurve = good
        // y + 1 (in the last byte) puts the point off the curve.
        var y = try #require(Base64URL.decode(good["y"]!))
        y[31] = y[31] &+ 1
        offCurve["y"] = Base64URL.encode(y)
        let cases: [(body: String, problem: String)] = [
            ("not json", "JSON"),
            ("{}", "\"public_key\""),
            (Self.body(["kty": "RSA", "crv": "P-256", "x": good["x"]!, "y": good["y"]!]), "kty must be \"EC\""),
            (Self.body(["kty": "EC", "crv": "P-384", "x": good["x"]!, "y": good["y"]!]), "crv must be \"P-256\""),
            (Self.body(["kty": "EC", "crv": "P-256", "y": good["y"]!]), "public_key.x is missing"),
            (Self.body(["kty": "EC", "crv": "P-256", "x": "a+b/", "y": good["y"]!]), "public_key.x is not base64url"),
            (Self.body(["kty": "EC", "crv": "P-256", "x": good["x"]!, "y": "AAAA"]), "y is 3 bytes, not 32"),
            (Self.body(offCurve), "not a point on P-256"),
            (Self.body(good.merging(["d": good["x"]!]) { $1 }), "\"d\", a private key"),
        ]
        for (body, problem) in cases {
            let reply = try await HTTP.post(hq, "/m/m-1/credential", json: body)
            #expect(reply.status == 400, "\(body)")
            let answer = try JSONSerialization.jsonObject(with: reply.body) as? [String: Any]
            #expect(answer?["error"] as? String == "malformed")
            #expect((answer?["message"] as? String)?.contains(problem) == true, "\(reply.text) lacks \(problem)")
        }
    }

    @Test func theQRImageIsTheEncodersMatrixAndScansBack() async throws {
        let hq = try ReferenceHQ(seed: siteSeed)
        // Base45's space, plus and percent, and a trailing space, must survive the query.
        let text = "AG2:" + String(repeating: "6BF$ CAT+A%/", count: 20) + "Z "
        let query = text.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let reply = try await HTTP.get(hq, "/qr.svg?text=" + query)
        #expect(reply.status == 200, "\(reply.text)")
        #expect(reply.header("Content-Type") == "image/svg+xml" && reply.header("Cache-Control") == "no-store")
        let svg = reply.text
        #expect(svg.contains("shape-rendering=\"crispEdges\"") && svg.contains("width=\"100%\""))
        let matrix = try QRMatrix.encode(text: text, level: .medium)
        let side = matrix.size + 8
        #expect(svg.contains("viewBox=\"0 0 \(side) \(side)\"") && svg.contains("<rect width=\"\(side)\""))
        #expect(svg.components(separatedBy: "<path").count == 2)
        let modules = try Self.modules(ofSVG: svg, side: side)
        #expect(modules == Self.withQuietZone(matrix))
        let scanner = try QRScanner()
        let symbols = scanner.scanStill(Self.raster(modules, side: side, scale: 4))
        #expect(symbols.map(\.text) == [text])

        let long = try await HTTP.get(hq, "/qr.svg?text=" + String(repeating: "A", count: 2049))
        #expect(long.status == 400 && long.text.contains("2048"))
        #expect(try await HTTP.get(hq, "/qr.svg?text=" + String(repeating: "A", count: 2048)).status == 200)
        #expect(try await HTTP.get(hq, "/qr.svg").status == 400)
    }

    /// The page's own script, under node's WebCrypto and fetch: it registers a key with HQ and
    /// draws an AG2 code, which AccessToken parses and verifies.
    @Test func thePageScriptMakesAnAG2CodeThatVerifies() async throws {
        try await offThePool {
            let hq = try ReferenceHQ(seed: siteSeed)
            let script = try Self.script(of: try await HTTP.get(hq, "/m/m-1").text)
            let file = try TestPaths.temporaryDirectory().appendingPathComponent("member.js")
            try Data((script + "\n" + Self.nodeHarness).utf8).write(to: file)
            let result = try runTool("node", [file.path, hq.url, "m-1"])
            #expect(result.status == 0, "node: \(result.stderr)")
            let out = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            let text = try #require(out["text"] as? String)
            let jwk = try #require(out["jwk"] as? [String: String])
            #expect(text.hasPrefix(HolderBoundPass.prefix))
            let query = try #require(text.addingPercentEncoding(withAllowedCharacters: .alphanumerics))
            #expect(try await HTTP.get(hq, "/qr.svg?text=" + query).status == 200)
            // The page draws AG2 v2: [credential, time, signature].
            guard case .v2(let pass) = try AG2Code.parse(text) else {
                Issue.record("the page drew an AG2 v1 code: \(text)")
                return
            }
            let claims = try Self.verifiedClaims(pass.credential, hq: hq)
            let point = [0x04] + Base64URL.decode(jwk["x"]!)! + Base64URL.decode(jwk["y"]!)!
            let holder = try P256.Signing.PublicKey(x963Representation: point)
            #expect(claims.holderKey?.rawRepresentation == holder.rawRepresentation && claims.member == "m-1")
            // The script's CBOR and WebCrypto signature agree with AccessToken's signed bytes.
            let verified = try pass.verify(holderKey: holder)
            #expect(abs(verified.issuedAt - Date().timeIntervalSince1970) < 60)
            // Signed by another key, the proof fails.
            #expect(throws: (any Error).self) { _ = try pass.verify(holderKey: P256.Signing.PrivateKey().publicKey) }
            // The compact profile's aim (docs/token.md): the member page's code at QR version 11-M or lower.
            let version = try QRMatrix.encode(text: text, level: .medium).version
            print("member page AG2: \(text.utf8.count) characters, QR version \(version)-M")
            #expect(version <= 11, "\(text.utf8.count) characters, QR version \(version)-M")
            // And the door opens: a gateway enrolled with this HQ grants the code.
            let gateway = try GatewayRig()
            _ = try await (try await gateway.enrol(hq)).pullSnapshot()
            let decider = AccessDecider(store: gateway.store)
            let decision = try decider.decide(text, door: "JKT1/FRONT", now: Date().timeIntervalSince1970)
            #expect(decision.reason == .granted && decision.member == "m-1", "\(decision.detail)")
        }
    }

    /// The page's start-up under node, with a stand-in DOM (no IndexedDB: the in-memory store): it
    /// registers, draws, and reports "AG2 ready"; for a blocked member it says HQ refused.
    @Test func thePageReachesReadyOrSaysWhyInAStandInDOM() async throws {
        let hq = try ReferenceHQ(seed: siteSeed)
        let script = try Self.script(of: try await HTTP.get(hq, "/m/m-1").text)
        let file = try TestPaths.temporaryDirectory().appendingPathComponent("dom.js")
        try Data((Self.standInDOM + "\n" + script).utf8).write(to: file)
        let ready = try runTool("node", [file.path, hq.url, "m-1"])
        #expect(ready.status == 0, "node: \(ready.stdout) \(ready.stderr)")
        let page = try #require(try JSONSerialization.jsonObject(with: Data(ready.stdout.utf8)) as? [String: Any])
        let state = try #require(page["state"] as? [String: Any])
        #expect(page["title"] as? String == "AG2 ready" && state["ready"] as? Bool == true)
        let text = try #require(state["text"] as? String)
        #expect(page["output"] as? String == text)
        #expect((page["countdown"] as? String)?.hasPrefix("New code in ") == true)
        let pass = try AG2Code.parse(text)
        #expect(try Self.verifiedClaims(pass.credential, hq: hq).member == "m-1")
        let refused = try runTool("node", [file.path, hq.url, "m-blocked"])
        let blocked = try #require(try JSONSerialization.jsonObject(with: Data(refused.stdout.utf8)) as? [String: Any])
        let error = (blocked["state"] as? [String: Any])?["error"] as? String
        #expect(error == "HQ refused to set up this device: m-blocked is blocked.", "\(refused.stdout)")
        #expect(blocked["status"] as? String == error && blocked["title"] as? String != "AG2 ready")
    }

    @Test func serveAnnouncesTheMemberPagesAndHelpSaysThereIsNoLogin() throws {
        // The help wraps its lines; compare the words.
        let help = try run(ReferenceHQ.binary, ["serve", "--help"]).stdout.split(whereSeparator: \.isWhitespace)
            .joined(separator: " ")
        #expect(help.contains("has no login") && help.contains("not production"))
        let directory = try TestPaths.temporaryDirectory()
        let server = Process()
        server.executableURL = ReferenceHQ.binary
        let db = directory.appendingPathComponent("hq.sqlite").path
        server.arguments = ["serve", "--db", db, "--listen", "127.0.0.1:0"]
        let out = Pipe()
        server.standardOutput = out
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        var heard = ""
        while !heard.contains("member pages:") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            heard += String(decoding: chunk, as: UTF8.self)
        }
        let line = #"member pages: http://127\.0\.0\.1:\d+/m/<member>"#
        #expect(heard.range(of: line, options: .regularExpression) != nil, "\(heard)")
    }

    // MARK: - Helpers

    /// Verifies a credential's signature with the keys of HQ's latest snapshot; its claims.
    static func verifiedClaims(_ credential: [UInt8], hq: ReferenceHQ) throws -> PassClaims {
        let snapshot = try runTool("sqlite3", [hq.db, "SELECT json FROM snapshots ORDER BY seq DESC LIMIT 1"])
        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(snapshot.stdout.utf8)) as? [String: Any]
        )
        let keys = try PassKeySet(jwks: try JSONSerialization.data(withJSONObject: try #require(document["keys"])))
        let message = try COSESign1(cbor: credential)
        let kid = String(decoding: try #require(message.kid), as: UTF8.self)
        #expect(kid == "hq-pass-1")
        let key = try #require(keys.keys(withID: kid).first?.key)
        try message.verify(with: key)
        return try PassClaims(cwt: try #require(message.payload), issuerMayBeImplied: true)
    }

    static func jwk(_ key: P256.Signing.PublicKey) -> [String: String] {
        let point = Array(key.x963Representation)
        return [
            "kty": "EC", "crv": "P-256",
            "x": Base64URL.encode(Array(point[1..<33])), "y": Base64URL.encode(Array(point[33..<65])),
        ]
    }

    static func body(_ jwk: [String: String]) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: ["public_key": jwk]), as: UTF8.self)
    }

    static func registration(_ key: P256.Signing.PublicKey) -> String { body(jwk(key)) }

    /// The inline script of the page.
    static func script(of html: String) throws -> String {
        let start = try #require(html.range(of: "<script>"))
        let end = try #require(html.range(of: "</script>", range: start.upperBound..<html.endIndex))
        return String(html[start.upperBound..<end.lowerBound])
    }

    /// Reads the SVG's runs back into a module grid, quiet zone included.
    static func modules(ofSVG svg: String, side: Int) throws -> [Bool] {
        var grid = [Bool](repeating: false, count: side * side)
        let path = try #require(svg.range(of: #"d="[^"]*""#, options: .regularExpression).map { svg[$0] })
        let runs = try NSRegularExpression(pattern: #"M(\d+) (\d+)h(\d+)v1h-(\d+)z"#)
        let text = String(path)
        var covered = 0
        for match in runs.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            let numbers = (1...4).map { Int(text[Range(match.range(at: $0), in: text)!])! }
            #expect(numbers[2] == numbers[3])
            for x in numbers[0]..<numbers[0] + numbers[2] { grid[numbers[1] * side + x] = true }
            covered += match.range.length
        }
        // Every character of the path is one of the runs.
        #expect(covered == text.utf8.count - 4)
        return grid
    }

    static func withQuietZone(_ matrix: QRMatrix) -> [Bool] {
        let side = matrix.size + 8
        var grid = [Bool](repeating: false, count: side * side)
        for y in 0..<matrix.size { for x in 0..<matrix.size { grid[(y + 4) * side + x + 4] = matrix[x, y] } }
        return grid
    }

    static func raster(_ modules: [Bool], side: Int, scale: Int) -> GreyImage {
        var image = GreyImage(width: side * scale, height: side * scale, fill: 255)
        for (index, dark) in modules.enumerated() where dark {
            for py in 0..<scale {
                for px in 0..<scale {
                    image.pixels[((index / side) * scale + py) * side * scale + (index % side) * scale + px] = 0
                }
            }
        }
        return image
    }

    /// Runs after the page's script under node: a device key, its registration, one AG2 code.
    static let nodeHarness = """
        (async () => {
          const [origin, member] = process.argv.slice(2);
          const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
          const issued = await agMember.register(origin, member, pair.publicKey);
          const text = await agMember.ag2Text(pair.privateKey, issued.credential, Math.floor(Date.now() / 1000));
          const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
          console.log(JSON.stringify({ text, jwk: { x: jwk.x, y: jwk.y }, expiresAt: issued.expiresAt }));
        })().catch((error) => { console.error(error); process.exit(1); });
        """

    /// Runs before the page's script under node: a DOM of the page's four elements, `fetch` and the
    /// image against HQ, no IndexedDB. Prints the page's state once it is ready or has failed.
    static let standInDOM = """
        const [origin, member] = process.argv.slice(2);
        const realFetch = globalThis.fetch;
        globalThis.fetch = (url, options) => realFetch(origin + url, options);
        const element = () => ({ hidden: false, textContent: "", className: "" });
        const qr = element();
        let src = "";
        Object.defineProperty(qr, "src", {
          get: () => src,
          set: (value) => {
            src = value;
            realFetch(origin + value).then((r) => (r.ok ? qr.onload() : qr.onerror()), () => qr.onerror());
          },
        });
        const elements = { qr, status: element(), countdown: element(), "ag2-text": element() };
        globalThis.window = globalThis;
        window.isSecureContext = true;
        globalThis.document = {
          title: "Member pass", hidden: false, body: { dataset: { member } },
          getElementById: (id) => elements[id], addEventListener: () => {},
        };
        const report = () => JSON.stringify({
          title: document.title, state: window.agState, src, countdown: elements.countdown.textContent,
          status: elements.status.textContent, output: elements["ag2-text"].textContent,
        });
        setInterval(() => {
          if (document.title === "AG2 ready" || (window.agState && window.agState.error)) {
            console.log(report());
            process.exit(0);
          }
        }, 20);
        setTimeout(() => { console.log(report()); process.exit(1); }, 10000);
        """
}

/// A small HTTP client for these tests: URLSession, answers of any status.
enum HTTP {
    struct Reply {
        var status: Int
        var headers: [AnyHashable: Any]
        var body: Data
        var text: String { String(decoding: body, as: UTF8.self) }

        func header(_ name: String) -> String? {
            headers.first { ($0.key as? String)?.lowercased() == name.lowercased() }?.value as? String
        }
    }

    static func get(_ hq: ReferenceHQ, _ path: String) async throws -> Reply {
        try await send(URLRequest(url: try #require(URL(string: hq.url + path))))
    }

    /// Any method, without a body: for the 405s of methods a path does not answer.
    static func request(_ method: String, _ hq: ReferenceHQ, _ path: String) async throws -> Reply {
        var request = URLRequest(url: try #require(URL(string: hq.url + path)))
        request.httpMethod = method
        return try await send(request)
    }

    static func post(_ hq: ReferenceHQ, _ path: String, json: String) async throws -> Reply {
        var request = URLRequest(url: try #require(URL(string: hq.url + path)))
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(json.utf8)
        return try await send(request)
    }

    private static func send(_ request: URLRequest) async throws -> Reply {
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        return Reply(status: http.statusCode, headers: http.allHeaderFields, body: data)
    }
}
