import AccessToken
import Foundation
import QRCodec
import TestSupport
import Testing

/// Runs the built `gatewayctl`.
func gatewayctl(_ arguments: String..., input: String? = nil) throws -> ProcessResult {
    try run(TestPaths.productsDirectory.appendingPathComponent("gatewayctl"), arguments, input: input)
}

func jsonObject(_ line: some StringProtocol) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
}

@Suite struct TokenVerifyCommandTests {
    /// Runs `token verify` on a shared vector's keys, door, issuer and clock.
    func verify(_ vector: AG1Vector, text: String, input: String? = nil) throws -> ProcessResult {
        let keys = try TestPaths.temporaryDirectory().appendingPathComponent("keys.json")
        try vector.keys.write(to: keys)
        let arguments = [
            "token", "verify", "--keys", keys.path, "--door", vector.door, "--issuer", vector.issuer,
            "--at", "\(vector.at)", text,
        ]
        return try run(TestPaths.productsDirectory.appendingPathComponent("gatewayctl"), arguments, input: input)
    }

    /// The exact contract for HQ integrators: every shared AG1 case through the CLI.
    @Test(arguments: AG1Vectors.all)
    func decidesTheSharedVectors(vector: AG1Vector) throws {
        let result = try verify(vector, text: vector.qr)
        let output = try jsonObject(result.stdout)
        #expect(output["reason"] as? String == vector.expectReason, "\(output["detail"] ?? "")")
        #expect(output["granted"] as? Bool == vector.expectGranted)
        #expect(result.status == (vector.expectGranted ? 0 : 1))
    }

    @Test func readsThePassFromStandardInput() throws {
        let vector = try #require(AG1Vectors.all.first { $0.expectGranted })
        let result = try verify(vector, text: "-", input: vector.qr + "\n")
        #expect(result.status == 0)
        #expect(try jsonObject(result.stdout)["pass"] is String)
    }

    static let usageErrors: [[String]] = [
        ["token", "verify", "--door", "A/B", "--issuer", "x", "AG1:"],
        ["token", "verify", "--keys", "/nonexistent/keys.json", "--door", "A/B", "--issuer", "x", "AG1:"],
        ["token", "verify", "--keys", "/dev/null", "--door", "A/B", "--issuer", "x", "AG1:"],
        ["token", "verify", "--keys", "/dev/null", "--door", "nodoor", "--issuer", "x", "AG1:"],
        ["token", "verify", "--keys", "/dev/null", "--door", "A/B", "--issuer", "x", "--skew", "-5", "AG1:"],
        ["token", "frobnicate"],
        ["qr", "encode", "--level", "Z", "TEXT"],
    ]

    @Test(arguments: usageErrors)
    func usageErrorsExitWithTwo(arguments: [String]) throws {
        let result = try run(TestPaths.productsDirectory.appendingPathComponent("gatewayctl"), arguments)
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("gatewayctl: "))
    }
}

@Suite struct TokenIssueCommandTests {
    @Test(arguments: ["ES256", "EdDSA"])
    func issuesPassesThatVerify(alg: String) throws {
        let dir = try TestPaths.temporaryDirectory()
        let privateKey = dir.appendingPathComponent("private.jwk").path
        let keygen = try gatewayctl("token", "keygen", "--alg", alg, "--kid", "k-\(alg)", "--private-key", privateKey)
        #expect(keygen.status == 0)
        let attributes = try FileManager.default.attributesOfItem(atPath: privateKey)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let jwks = dir.appendingPathComponent("jwks.json")
        try Data(keygen.stdout.utf8).write(to: jwks)

        let issued = try gatewayctl(
            "token",
            "issue",
            "--key",
            privateKey,
            "--issuer",
            "hq.example",
            "--member",
            "m-42",
            "--door",
            "LOC/D1",
            "--valid-from",
            "1800000000",
            "--valid-until",
            "1800003600",
            "--booking",
            "b-7",
            "--uses",
            "2",
            "--pass-id",
            "0011223344556677"
        )
        #expect(issued.status == 0, "\(issued.stderr)")
        let text = issued.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(text.hasPrefix("AG1:"))

        func verify(at time: String) throws -> ProcessResult {
            let arguments = [
                "token", "verify", "--keys", jwks.path, "--door", "LOC/D1", "--issuer", "hq.example", "--at", time,
                text,
            ]
            return try run(TestPaths.productsDirectory.appendingPathComponent("gatewayctl"), arguments)
        }
        let verified = try verify(at: "1800000100")
        #expect(verified.status == 0)
        let output = try jsonObject(verified.stdout)
        #expect(output["member"] as? String == "m-42")
        #expect(output["pass"] as? String == "0011223344556677")
        #expect(output["booking"] as? String == "b-7")
        #expect(output["max_uses"] as? Int == 2)

        let late = try verify(at: "1800009999")
        #expect(late.status == 1)
        #expect(try jsonObject(late.stdout)["reason"] as? String == "expired")
    }

    @Test func refusesAnInvertedValidityWindow() throws {
        let result = try gatewayctl(
            "token",
            "issue",
            "--key",
            "/dev/null",
            "--issuer",
            "i",
            "--member",
            "m",
            "--door",
            "L/D",
            "--valid-from",
            "20",
            "--valid-until",
            "10"
        )
        #expect(result.status == 2)
        #expect(result.stderr.contains("--valid-until"))
    }
}

@Suite struct QRCommandTests {
    @Test func encodesAFrameThatDecodes() throws {
        let dir = try TestPaths.temporaryDirectory()
        let pgm = dir.appendingPathComponent("frame.pgm").path
        let text = "AG1:" + String(repeating: "ABC123", count: 30)
        let encoded = try gatewayctl("qr", "encode", "--pgm", pgm, "--module", "3", "--frame", "640x480", text)
        #expect(encoded.status == 0, "\(encoded.stderr)")
        let image = try PGM.parse(Array(try Data(contentsOf: URL(fileURLWithPath: pgm))))
        #expect(image.width == 640 && image.height == 480)

        let plain = try gatewayctl("qr", "decode", pgm)
        #expect(plain.status == 0)
        #expect(plain.stdout == text + "\n")

        let json = try gatewayctl("qr", "decode", "--json", pgm)
        let line = try jsonObject(json.stdout)
        #expect(line["file"] as? String == pgm)
        #expect(line["texts"] as? [String] == [text])
        #expect((line["ms"] as? Double ?? -1) > 0)
    }

    @Test func drawsOnTheTerminalByDefault() throws {
        let result = try gatewayctl("qr", "encode", "HELLO")
        #expect(result.status == 0)
        #expect(result.stdout.contains("\u{2580}") || result.stdout.contains("\u{2584}"))
    }

    @Test func reportsOneLinePerFileAndFailsOnUnreadableOnes() throws {
        let dir = try TestPaths.temporaryDirectory()
        let blank = dir.appendingPathComponent("blank.pgm")
        try Data(PGM.encode(GreyImage(width: 64, height: 64, fill: 200))).write(to: blank)
        let notPGM = dir.appendingPathComponent("note.txt")
        try Data("hello".utf8).write(to: notPGM)

        let result = try gatewayctl(
            "qr",
            "decode",
            "--json",
            blank.path,
            notPGM.path,
            dir.appendingPathComponent("missing").path
        )
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(try jsonObject(lines[0])["texts"] as? [String] == [])
        #expect(try jsonObject(lines[1])["error"] is String)
        #expect(result.status == 2)
        #expect(result.stderr.contains("note.txt"))
    }

    @Test func exitsWithOneWhenAFrameHoldsNoCode() throws {
        let dir = try TestPaths.temporaryDirectory()
        let blank = dir.appendingPathComponent("blank.pgm")
        try Data(PGM.encode(GreyImage(width: 64, height: 64, fill: 200))).write(to: blank)
        let result = try gatewayctl("qr", "decode", blank.path)
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
    }

    @Test func benchReportsSuccessAndTimePerFrame() throws {
        // A tiny corpus in the qrcorpus layout: one readable frame, one blank.
        let dir = try TestPaths.temporaryDirectory()
        let payload = "AG1:" + String(repeating: "QRBENCH1", count: 10)
        try Data(payload.utf8).write(to: dir.appendingPathComponent("payload_A.txt"))
        let code = try QRMatrix.encode(text: payload).image(moduleSize: 4)
        try Data(PGM.encode(code)).write(to: dir.appendingPathComponent("good.pgm"))
        try Data(PGM.encode(GreyImage(width: 64, height: 64, fill: 128))).write(
            to: dir.appendingPathComponent("blank.pgm")
        )
        let manifest = "id\tpath\twidth\theight\tpayload\ngood\tgood.pgm\t0\t0\tA\nblank\tblank.pgm\t64\t64\tA\n"
        try Data(manifest.utf8).write(to: dir.appendingPathComponent("manifest.tsv"))

        for decoder in ["auto", "zbar"] {
            let result = try gatewayctl("qr", "bench", "--frames", dir.path, "--decoder", decoder)
            #expect(result.status == 0, "\(result.stderr)")
            let report = try jsonObject(result.stdout)
            #expect(report["frames"] as? Int == 2)
            #expect(report["success"] as? Double == 50)
            let frames = try #require(report["per_frame"] as? [[String: Any]])
            #expect(frames.map { $0["ok"] as? Bool } == [true, false])
        }
    }

    @Test func decodesTheSharedDCCImages() throws {
        let images = TestPaths.sharedFiles(in: "vectors/dcc", ext: "pgm")
        #expect(!images.isEmpty)
        let result = try run(
            TestPaths.productsDirectory.appendingPathComponent("gatewayctl"),
            ["qr", "decode", "--json"] + images.map(\.path)
        )
        #expect(result.status == 0)
        for (image, line) in zip(images, result.stdout.split(separator: "\n")) {
            let json = try readJSON(image.deletingPathExtension().appendingPathExtension("json")) as! [String: Any]
            #expect(
                try jsonObject(line)["texts"] as? [String] == [json["prefixed"] as! String],
                "\(image.lastPathComponent)"
            )
        }
    }
}
