import AccessToken
import Foundation
import TestSupport
import Testing

/// Interop with the python `cwt` library, both ways (Tests/interop/cwt_interop.py).
@Suite struct CWTLibraryInteropTests {
    static let script = TestPaths.packageRoot.appendingPathComponent("Tests/interop/cwt_interop.py").path

    func write(_ jwk: [String: String], in dir: URL) throws -> String {
        let url = dir.appendingPathComponent("key.json")
        try JSONSerialization.data(withJSONObject: jwk).write(to: url)
        return url.path
    }

    @Test(arguments: [COSEAlgorithm.es256, .edDSA])
    func pythonIssuedPassesVerifyHere(alg: COSEAlgorithm) throws {
        let key = SigningKey.generate(alg)
        let dir = try TestPaths.temporaryDirectory()
        let keyFile = try write(key.privateJWK(kid: "py-1"), in: dir)
        let exp = Int(Date().timeIntervalSince1970) + 600
        let result = try runTool(
            "python3",
            [Self.script, "issue", keyFile, "hq.example", "m-py", "LOC/D1", "\(exp)", "00112233445566778899"]
        )
        #expect(result.status == 0, "\(result.stderr)")
        let text = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let keys = try keySet([(key, "py-1", [:])])
        let verdict = PassVerifier(keys: keys, issuer: "hq.example").verify(
            text,
            door: "LOC/D1",
            now: Date().timeIntervalSince1970
        )
        #expect(verdict.reason == .granted, "\(verdict.detail)")
        #expect(verdict.claims?.member == "m-py")
        #expect(verdict.claims?.passIDHex == "00112233445566778899")
    }

    @Test(arguments: [COSEAlgorithm.es256, .edDSA])
    func passesIssuedHereVerifyInPython(alg: COSEAlgorithm) throws {
        let key = SigningKey.generate(alg)
        let dir = try TestPaths.temporaryDirectory()
        let keyFile = try write(key.publicJWK(kid: "sw-1"), in: dir)
        let t = Date().timeIntervalSince1970.rounded(.down)
        let pass = PassClaims(
            issuer: "hq.example",
            member: "m-swift",
            audience: ["LOC"],
            expiresAt: t + 600,
            notBefore: t - 10,
            issuedAt: t - 10,
            passID: Array(repeating: 0xAB, count: 16),
            bookingID: "b-1",
            maxUses: 3
        )
        let text = try PassIssuer(key: key, kid: "sw-1").issue(pass)
        let result = try runTool("python3", [Self.script, "verify", keyFile, text])
        #expect(result.status == 0, "\(result.stderr)")
        let decoded = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(decoded?["1"] as? String == "hq.example")
        #expect(decoded?["2"] as? String == "m-swift")
        #expect(decoded?["7"] as? String == String(repeating: "ab", count: 16))
        #expect(decoded?["-65538"] as? Int == 3)
    }

    @Test func pythonRefusesATamperedPass() throws {
        let key = SigningKey.generate(.es256)
        let dir = try TestPaths.temporaryDirectory()
        let keyFile = try write(key.publicJWK(kid: "sw-1"), in: dir)
        let t = Date().timeIntervalSince1970.rounded(.down)
        let pass = PassClaims(
            issuer: "hq.example",
            member: "m",
            audience: ["LOC"],
            expiresAt: t + 600,
            passID: Array(repeating: 1, count: 8)
        )
        let other = SigningKey.generate(.es256)
        let text = try PassIssuer(key: other, kid: "sw-1").issue(pass)
        let result = try runTool("python3", [Self.script, "verify", keyFile, text])
        // cwt's own verdict, not any failure (an ImportError or a missing python3 exits non-zero too).
        #expect(result.status == 1, "\(result.stdout) \(result.stderr)")
        #expect(result.stderr.hasPrefix("refused: VerifyError: Failed to verify"), "\(result.stderr)")
    }
}
