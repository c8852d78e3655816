import Foundation
import TestSupport
import Testing

/// `make test`'s stage counts (scripts/counted-stage.sh and Tests/stage-minimums): each stage's
/// summary is read, printed beside its minimum, and a stage that ran fewer tests fails the run.
@Suite struct StageMinimumTests {
    static let script = TestPaths.packageRoot.appendingPathComponent("scripts/counted-stage.sh").path
    static let minimums = TestPaths.packageRoot.appendingPathComponent("Tests/stage-minimums").path

    /// A stage's log, checked against the minimums `unit 120` and `hardware 27`.
    struct Case: Sendable, CustomTestStringConvertible {
        var stage: String
        var summary: String
        var status: Int32
        var output: String
        var testDescription: String { "\(stage): \(summary)" }
    }

    static let cases: [Case] = [
        Case(stage: "unit", summary: "✔ Test run with 120 tests in 30 suites passed after 600.1 seconds.", status: 0,
             output: "unit: 120 tests (minimum 120)"),
        Case(stage: "unit", summary: "✔ Test run with 121 tests passed after 1.0 seconds.", status: 0,
             output: "unit: 121 tests (minimum 120)"),
        Case(stage: "unit", summary: "✔ Test run with 119 tests in 30 suites passed after 590.0 seconds.", status: 1,
             output: "fewer than the 120"),
        // A run that crashed before its summary, where a test's argument held the same words.
        Case(stage: "unit", summary: "◇ Test case passing summary → \"✔ Test run with 500 tests passed\" started.",
             status: 1, output: "no test summary found"),
        Case(stage: "hardware", summary: "27 passed, 0 failed", status: 0, output: "hardware: 27 tests (minimum 27)"),
        Case(stage: "hardware", summary: "25 passed, 1 failed", status: 1, output: "hardware: 26 tests (minimum 27)"),
        Case(stage: "hardware", summary: "hwtest: no summary from the VM", status: 1, output: "no test summary found"),
        Case(stage: "trixie", summary: "27 passed, 0 failed", status: 1, output: "no minimum"),
    ]

    @Test(arguments: cases)
    func aStageIsCountedAgainstItsMinimum(check: Case) throws {
        let directory = try TestPaths.temporaryDirectory()
        let minimums = directory.appendingPathComponent("minimums")
        try "# stage minimum\nunit 120\nhardware 27\n".write(to: minimums, atomically: true, encoding: .utf8)
        let log = directory.appendingPathComponent("log")
        try "some output\n\(check.summary)\n".write(to: log, atomically: true, encoding: .utf8)
        let result = try runTool(
            "env",
            ["STAGE_MINIMUMS=\(minimums.path)", "bash", Self.script, "--check", check.stage, log.path]
        )
        #expect(result.status == check.status, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains(check.output), "\(result.stdout)")
    }

    /// A failing stage keeps its own exit status; a passing one with too few tests fails.
    @Test(arguments: [("exit 3", "✔ Test run with 500 tests passed after 1 seconds.", Int32(3)),
                      ("exit 0", "✔ Test run with 2 tests passed after 1 seconds.", Int32(1)),
                      ("exit 0", "✔ Test run with 500 tests passed after 1 seconds.", Int32(0))])
    func theStagesOwnFailureComesFirst(exit: String, summary: String, status: Int32) throws {
        let minimums = try TestPaths.temporaryDirectory().appendingPathComponent("minimums")
        try "unit 120\n".write(to: minimums, atomically: true, encoding: .utf8)
        let result = try runTool(
            "env",
            ["STAGE_MINIMUMS=\(minimums.path)", "bash", Self.script, "unit", "bash", "-c", "echo '\(summary)'; \(exit)"]
        )
        #expect(result.status == status, "\(result.stdout)")
        #expect(result.stdout.contains(summary), "the stage's own output is passed through: \(result.stdout)")
    }

    /// Every stage `make test` runs is counted, and every counted stage has a minimum.
    @Test func everyStageInTheMakefileHasAMinimum() throws {
        let makefile = try String(
            contentsOf: TestPaths.packageRoot.appendingPathComponent("Makefile"),
            encoding: .utf8
        )
        let counted = makefile.split(separator: "\n").compactMap { line -> String? in
            guard let range = line.range(of: "scripts/counted-stage.sh ") else { return nil }
            return line[range.upperBound...].split(separator: " ").first.map(String.init)
        }
        let listed = try String(contentsOfFile: Self.minimums, encoding: .utf8).split(separator: "\n")
            .filter { !$0.hasPrefix("#") }.compactMap { $0.split(separator: " ").first.map(String.init) }
        #expect(Set(counted) == Set(listed), "Makefile counts \(counted); Tests/stage-minimums lists \(listed)")
        #expect(counted.contains("unit") && counted.contains("hardware"))
        #expect(!makefile.contains("\t$(SWIFT) test --skip-build"), "a test stage runs uncounted")
    }
}
