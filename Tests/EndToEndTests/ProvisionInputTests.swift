import Foundation
import HQSync
import TestSupport
import Testing

/// How `gatewayctl provision` takes its one-time code, and what it shows for the out-of-band check.
@Suite struct ProvisionInputTests {
    static let gatewayctl = TestPaths.productsDirectory.appendingPathComponent("gatewayctl")

    /// A code on the command line is visible to every local user (`ps`): it can come from standard
    /// input or a file instead, and `--code CODE` still works.
    @Test(arguments: ["stdin", "file", "argument"])
    func theCodeIsReadFromWhereItIsGiven(source: String) throws {
        let hq = try ReferenceHQ(seed: siteSeed)
        let directory = try TestPaths.temporaryDirectory()
        let db = directory.appendingPathComponent("gateway.sqlite").path
        let code = try hq.code(doors: ["JKT1/FRONT"])
        let base = ["--db", db, "provision", "--hq", hq.url, "--name", "front"]
        let result: ProcessResult
        switch source {
        case "stdin":
            result = try run(Self.gatewayctl, base + ["--code", "-"], input: code + "\n")
        case "file":
            let file = directory.appendingPathComponent("code.txt")
            try Data((code + "\n").utf8).write(to: file)
            result = try run(Self.gatewayctl, base + ["--code-file", file.path])
        default:
            result = try run(Self.gatewayctl, base + ["--code", code])
        }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("enrolled as gw-1"), "\(result.stdout)")
    }

    @Test(arguments: [[String](), ["--code", "X", "--code-file", "/dev/null"]])
    func exactlyOneCodeSourceIsNeeded(flags: [String]) throws {
        let db = try TestPaths.temporaryDirectory().appendingPathComponent("gateway.sqlite").path
        let result = try run(Self.gatewayctl, ["--db", db, "provision", "--hq", "https://hq.example.com"] + flags)
        #expect(result.status == 2)
        #expect(result.stderr.contains("--code-file"), "\(result.stderr)")
    }

    /// The installer compares HQ's root key fingerprint with what the HQ admin reads from HQ
    /// (`access-hq-dev root-key`), as HQ's admin compares the device's.
    @Test func enrolmentShowsTheHQRootKeyFingerprintBesideTheDevices() throws {
        let hq = try ReferenceHQ(seed: siteSeed)
        let db = try TestPaths.temporaryDirectory().appendingPathComponent("gateway.sqlite").path
        let code = try hq.code(doors: ["JKT1/FRONT"])
        let result = try run(Self.gatewayctl, ["--db", db, "provision", "--hq", hq.url, "--code", code])
        #expect(result.status == 0, "\(result.stderr)")
        let root = try hq.admin("root-key")
        #expect(root.count == 24, "\(root)")
        #expect(result.stdout.contains("hq root fingerprint \(root)"), "\(result.stdout)")
    }
}
