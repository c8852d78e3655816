import ArgumentParser
import Foundation
import HQSync

/// `gatewayctl hq`: commands about an HQ server rather than this board.
struct HQCommandGroup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hq",
        abstract: "Check an HQ server against the protocol.",
        subcommands: [Check.self]
    )

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check that an HQ follows docs/hq-protocol.md, as a gateway would meet it.",
            discussion: """
                Enrols a throwaway device (its key lives in memory only; this board's store and key \
                are never read or written), pulls the snapshot and verifies its signature against the \
                root key HQ gave at enrolment, checks the snapshot's ETag, 304s, delta and chunks, \
                uploads a batch of two events twice (the second must be acknowledged as duplicates), \
                reads the audit head, long-polls commands, compares every answer's Date with this \
                clock (±5 s), and checks the error bodies of bad requests. Each rule is reported as \
                PASS, FAIL or SKIP with its section in docs/hq-protocol.md; the code is used up, and \
                HQ keeps the throwaway gateway (named hq-check) and its two events.

                Exit status: 0 when no rule failed, 1 when some rule failed, 2 on a usage error \
                (a URL that is not HTTPS or loopback HTTP), 3 when HQ cannot be reached.
                """
        )

        @Option(help: "HQ's base URL, e.g. https://hq.example.com (plain HTTP to loopback only).")
        var hq: String

        @Option(help: "A one-time enrolment code from that HQ, used up by the check.")
        var code: String

        @Flag(
            help:
                "One JSON object: {\"hq\", \"passed\", \"failed\", \"skipped\", \"rules\": [{\"rule\", \"section\", \"outcome\", \"detail\"}]}."
        )
        var json = false

        /// The exit status when HQ cannot be reached at all.
        static let unreachable: Int32 = 3

        func run() async throws {
            let location: HQLocation
            do { location = try HQLocation(hq) } catch { throw UsageFailure("\(error)") }
            let check = HQConformance(location: location, code: code)
            let results: [ConformanceResult]
            do {
                results = try await check.run()
            } catch {
                FileHandle.standardError.write(Data("gatewayctl: \(error)\n".utf8))
                throw ExitCode(Self.unreachable)
            }
            let failed = results.filter { $0.outcome == .fail }.count
            let passed = results.filter { $0.outcome == .pass }.count
            let skipped = results.count - failed - passed
            if json {
                let rules = results.map { result -> [String: String] in
                    [
                        "rule": result.rule, "section": result.section, "outcome": result.outcome.rawValue,
                        "detail": result.detail,
                    ]
                }
                printJSONLine([
                    "hq": location.base, "passed": passed, "failed": failed, "skipped": skipped, "rules": rules,
                ])
            } else {
                let width = results.map(\.rule.count).max() ?? 0
                for result in results {
                    let name = result.rule.padding(toLength: width, withPad: " ", startingAt: 0)
                    print(
                        "\(result.outcome.rawValue.uppercased().padding(toLength: 4, withPad: " ", startingAt: 0))  \(name)  [\(result.section)] \(result.detail)"
                    )
                }
                print("\(passed) passed, \(failed) failed, \(skipped) skipped")
            }
            if failed > 0 { throw ExitCode.failure }
        }
    }
}
