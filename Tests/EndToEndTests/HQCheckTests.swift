import Foundation
import TestSupport
import Testing

/// `gatewayctl hq check`, the conformance check any HQ can run: the reference HQ passes every rule,
/// and an HQ broken in one way (Tests/faults/bad_hq.py, a proxy in front of the reference HQ)
/// fails the rule it breaks.
struct HQCheckTests {
    static let gatewayctl = TestPaths.productsDirectory.appendingPathComponent("gatewayctl")

    /// A reference HQ with three published snapshot versions (so that the delta rule runs), a
    /// member (so that the manifest has a chunk to fetch) and a fresh enrolment code.
    static func referenceHQ() throws -> (hq: ReferenceHQ, code: String) {
        let hq = try ReferenceHQ(seed: nil)
        _ = try hq.code(doors: ["JKT1/FRONT"])
        _ = try hq.admin("pass", "--member", "member-1", "--door", "JKT1/FRONT")
        return (hq, try hq.code(doors: ["JKT1/SIDE"]))
    }

    /// Runs the check with `--json`: its exit status and its rules by name.
    static func check(
        _ url: String,
        code: String,
        extra: [String] = []
    ) throws -> (status: Int32, rules: [String: [String: String]], output: String) {
        let result = try run(gatewayctl, extra + ["hq", "check", "--hq", url, "--code", code, "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let rules = (object?["rules"] as? [[String: String]] ?? []).reduce(into: [String: [String: String]]()) {
            $0[$1["rule"] ?? ""] = $1
        }
        return (result.status, rules, result.stdout + result.stderr)
    }

    @Test func theReferenceHQPassesEveryRule() throws {
        let (hq, code) = try Self.referenceHQ()
        let result = try Self.check(hq.url, code: code)
        #expect(result.status == 0, "\(result.output)")
        let expected = [
            "enrol", "enrol-code-once", "snapshot-signature", "snapshot-etag", "snapshot-delta", "snapshot-chunks",
            "upload", "upload-idempotent", "events-head", "commands-long-poll", "error-bodies", "clock",
        ]
        #expect(Set(result.rules.keys) == Set(expected))
        for rule in expected {
            #expect(result.rules[rule]?["outcome"] == "pass", "\(rule): \(result.rules[rule] ?? [:])")
        }
        // The member is in a chunk: the chunk rule fetched and hashed at least one.
        #expect(result.rules["snapshot-chunks"]?["detail"]?.hasPrefix("0 chunks") == false, "\(result.output)")
    }

    @Test(arguments: [
        ("clock", "clock"),
        ("badsig", "snapshot-signature"),
        ("noetag", "snapshot-etag"),
        ("baddelta", "snapshot-delta"),
        ("dupupload", "upload-idempotent"),
        ("oldhead", "events-head"),
        ("nowait", "commands-long-poll"),
        ("plainerrors", "error-bodies"),
    ])
    func aBrokenHQFailsTheRuleItBreaks(mode: String, rule: String) throws {
        let (hq, code) = try Self.referenceHQ()
        let broken = try BadHQ(mode, [hq.url])
        let result = try Self.check("http://127.0.0.1:\(broken.port)", code: code)
        #expect(result.status == 1, "\(result.output)")
        #expect(result.rules[rule]?["outcome"] == "fail", "\(mode): \(result.output)")
        // The rules before it in the run still pass: the failure is the broken rule's, not a crash.
        #expect(result.rules["enrol"]?["outcome"] == "pass", "\(result.output)")
    }

    @Test func eachRuleIsReportedWithItsSectionOfTheProtocol() throws {
        let (hq, code) = try Self.referenceHQ()
        let result = try run(Self.gatewayctl, ["hq", "check", "--hq", hq.url, "--code", code])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("PASS  enrol ") && $0.contains("[Enrolment: `POST /v1/enrol`]") })
        #expect(lines.contains { $0.hasPrefix("PASS  clock ") && $0.contains("[Time]") })
        #expect(lines.last == "12 passed, 0 failed, 0 skipped")
        let protocolText = try String(
            contentsOf: TestPaths.packageRoot.appendingPathComponent("docs/hq-protocol.md"),
            encoding: .utf8
        )
        // Every section the report names is a heading of docs/hq-protocol.md.
        for line in lines.dropLast() {
            let section = try #require(line.split(separator: "[", maxSplits: 1).last?.split(separator: "]").first)
            #expect(protocolText.contains("# \(section)\n"), "\(section) is no heading of docs/hq-protocol.md")
        }
    }

    @Test func theCheckWritesNothingToTheBoardsStore() throws {
        let (hq, code) = try Self.referenceHQ()
        let board = try TestPaths.temporaryDirectory()
        let store = board.appendingPathComponent("gateway.sqlite").path
        let result = try Self.check(hq.url, code: code, extra: ["--db", store])
        #expect(result.status == 0, "\(result.output)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: board.path).isEmpty)
    }

    @Test func anHQThatCannotBeReachedExitsThree() throws {
        let port = try ReferenceHQ.freePort()
        let result = try run(Self.gatewayctl, ["hq", "check", "--hq", "http://127.0.0.1:\(port)", "--code", "X"])
        #expect(result.status == 3, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.contains("HQ unreachable"))
    }

    @Test(arguments: [["--hq", "http://hq.example.com", "--code", "X"], ["--hq", "https://hq.example.com"]])
    func aUsageErrorExitsTwo(arguments: [String]) throws {
        let result = try run(Self.gatewayctl, ["hq", "check"] + arguments)
        #expect(result.status == 2, "\(result.stdout)\(result.stderr)")
    }
}
