import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

let keycache = TestPaths.sharedFile("vectors/keycache")

/// The keycache scenario's cases: (door, at, qr, expected reason).
let scenarioCases: [(String, String, String, String)] = {
    guard let list = try? readJSON(keycache.appendingPathComponent("cases.json")) as? [[String: Any]] else { return [] }
    return list.map {
        (
            $0["door"] as! String, "\(($0["at"] as! NSNumber).int64Value)", $0["qr"] as! String,
            $0["expect_reason"] as! String
        )
    }
}()

/// A database with the keycache scenario's snapshot imported.
func scenarioDatabase() throws -> String {
    let db = try TestPaths.temporaryDirectory().appendingPathComponent("gateway.sqlite").path
    let result = try gatewayctl("--db", db, "snapshot", "import", keycache.appendingPathComponent("snapshot.json").path)
    #expect(result.status == 0, "\(result.stderr)")
    return db
}

@Suite struct SnapshotCommandTests {
    @Test func importsAndShows() throws {
        let db = try scenarioDatabase()
        let show = try gatewayctl("--db", db, "snapshot", "show", "--json")
        #expect(show.status == 0)
        let info = try jsonObject(show.stdout)
        #expect(info["seq"] as? Int == 485)
        #expect(info["members"] as? Int == 4)
        #expect(try gatewayctl("--db", db, "snapshot", "show").stdout.contains("seq        485"))
    }

    @Test func refusesTheSameSeqAgain() throws {
        let db = try scenarioDatabase()
        let again = try gatewayctl(
            "--db",
            db,
            "snapshot",
            "import",
            keycache.appendingPathComponent("snapshot.json").path
        )
        #expect(again.status == 1)
        #expect(again.stderr.contains("not newer than the stored seq 485"))
    }

    @Test func refusesAnInvalidDocumentNamingTheField() throws {
        let dir = try TestPaths.temporaryDirectory()
        let bad = dir.appendingPathComponent("bad.json")
        try Data(#"{"format":"ag-snapshot/1","issuer":"x","seq":"1"}"#.utf8).write(to: bad)
        let result = try gatewayctl("--db", dir.appendingPathComponent("g.sqlite").path, "snapshot", "import", bad.path)
        #expect(result.status == 1)
        #expect(result.stderr.contains("seq"))
    }

    @Test func readingCommandsDoNotCreateADatabase() throws {
        let db = try TestPaths.temporaryDirectory().appendingPathComponent("none.sqlite").path
        for command in [["snapshot", "show"], ["log"], ["log", "verify"]] {
            let result = try run(
                TestPaths.productsDirectory.appendingPathComponent("gatewayctl"),
                ["--db", db] + command
            )
            #expect(result.status == 2, "\(command)")
            #expect(result.stderr.contains("no database"))
        }
        #expect(!FileManager.default.fileExists(atPath: db))
    }
}

@Suite struct DecideCommandTests {
    @Test func decidesTheScenarioInOrderAndRecordsEachDecision() throws {
        #expect(scenarioCases.count >= 15)
        let db = try scenarioDatabase()
        for (index, (door, at, qr, expected)) in scenarioCases.enumerated() {
            let result = try gatewayctl("--db", db, "decide", "--door", door, "--at", at, qr)
            let output = try jsonObject(result.stdout)
            #expect(output["reason"] as? String == expected, "case \(index): \(output["detail"] ?? "")")
            #expect(result.status == (expected == "granted" ? 0 : 1))
            // Event 1 is the snapshot import itself.
            #expect(output["seq"] as? Int == index + 2)
        }
        let verify = try gatewayctl("--db", db, "log", "verify")
        #expect(verify.status == 0)
        #expect(verify.stdout.hasPrefix("\(scenarioCases.count + 1) events checked"))
    }

    /// Past max_age the offline bound holds unless --on-stale grant is given.
    @Test(arguments: [([String](), "snapshot_stale"), (["--on-stale", "grant"], "granted"), (["--on-stale", "deny"], "snapshot_stale")])
    func aStaleSnapshotDeniesUnlessToldToGrant(flags: [String], expected: String) throws {
        var snapshot = try #require(try readJSON(keycache.appendingPathComponent("snapshot.json")) as? [String: Any])
        let (door, at, qr, _) = scenarioCases[0]
        // Generated one second more than max_age before the case's time.
        snapshot["generated_at"] = Int(at)! - (snapshot["max_age"] as! Int) - 1
        let dir = try TestPaths.temporaryDirectory()
        let file = dir.appendingPathComponent("stale.json")
        try JSONSerialization.data(withJSONObject: snapshot).write(to: file)
        let db = dir.appendingPathComponent("g.sqlite").path
        #expect(try gatewayctl("--db", db, "snapshot", "import", file.path).status == 0)
        let result = try run(
            TestPaths.productsDirectory.appendingPathComponent("gatewayctl"),
            ["--db", db, "decide", "--door", door, "--at", at] + flags + [qr]
        )
        #expect(try jsonObject(result.stdout)["reason"] as? String == expected, "\(result.stdout)")
    }

    /// A single-use pass shown again at the same door: within 3 s it is the same presentation,
    /// at +4 s it is used up.
    @Test(arguments: [(2, "granted"), (4, "uses_exhausted")])
    func aSingleUsePassShownAgainIsOnePresentationThenUsedUp(after: Int, expected: String) throws {
        let cases = try #require(try readJSON(keycache.appendingPathComponent("cases.json")) as? [[String: Any]])
        let first = try #require(cases.first { $0["name"] as? String == "single_use_first" })
        let (door, qr) = (first["door"] as! String, first["qr"] as! String)
        let at = (first["at"] as! NSNumber).intValue
        let db = try scenarioDatabase()
        #expect(try gatewayctl("--db", db, "decide", "--door", door, "--at", "\(at)", qr).status == 0)
        let again = try gatewayctl("--db", db, "decide", "--door", door, "--at", "\(at + after)", qr)
        #expect(try jsonObject(again.stdout)["reason"] as? String == expected, "\(again.stdout)")
    }

    @Test func decidesLinesFromStandardInput() throws {
        let db = try scenarioDatabase()
        let (door, at, qr, _) = scenarioCases[0]
        let result = try gatewayctl(
            "--db",
            db,
            "decide",
            "--door",
            door,
            "--at",
            at,
            "--lines",
            input: "\(qr)\nAG1:bad\n\n"
        )
        let lines = result.stdout.split(separator: "\n")
        #expect(result.status == 0)
        #expect(lines.count == 2)
        #expect(try jsonObject(lines[1])["reason"] as? String == "malformed")
    }
}

/// `decide --at T` is a trusted test clock: it checks no clock floor and raises none.
@Suite struct DecideTestClockTests {
    func floor(_ db: String) throws -> String {
        let result = try runTool("sqlite3", [db, "SELECT value FROM gateway_state WHERE key = 'clock_floor'"])
        #expect(result.status == 0, "\(result.stderr)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func aFloorFarAheadOfAtIsNeitherCheckedNorMoved() throws {
        let db = try scenarioDatabase()
        // 2100-01-01: far ahead of every scenario time, so a checked floor would refuse them all.
        let ahead = "4102444800"
        let set = try runTool("sqlite3", [db, "INSERT INTO gateway_state(key, value) VALUES ('clock_floor', '\(ahead)')"])
        #expect(set.status == 0, "\(set.stderr)")
        let (door, at, qr, expected) = scenarioCases[0]
        #expect(expected == "granted")
        let result = try gatewayctl("--db", db, "decide", "--door", door, "--at", at, qr)
        #expect(try jsonObject(result.stdout)["reason"] as? String == "granted", "\(result.stdout)")
        #expect(try floor(db) == ahead)
    }

    @Test func aDecisionAtAFutureTimeRaisesNoFloor() throws {
        let db = try scenarioDatabase()
        let (door, _, qr, _) = scenarioCases[0]
        _ = try gatewayctl("--db", db, "decide", "--door", door, "--at", "4102444800", qr)
        #expect(try floor(db).isEmpty)
    }
}

@Suite struct LogCommandTests {
    /// A database holding the whole scenario's decisions.
    func decidedDatabase() throws -> String {
        let db = try scenarioDatabase()
        for (door, at, qr, _) in scenarioCases {
            _ = try gatewayctl("--db", db, "decide", "--door", door, "--at", at, qr)
        }
        return db
    }

    @Test func tableFitsEightyColumns() throws {
        let db = try decidedDatabase()
        let result = try gatewayctl("--db", db, "log")
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n")
        // A header, the snapshot import, then the decisions.
        #expect(lines.count == scenarioCases.count + 2)
        #expect(lines.allSatisfy { $0.count <= 80 })
    }

    @Test func filtersAndPrintsJSONLines() throws {
        let db = try decidedDatabase()
        let denied = try gatewayctl("--db", db, "log", "--denied", "--format", "json")
        let events = try denied.stdout.split(separator: "\n").map { try jsonObject($0) }
        #expect(events.count == scenarioCases.filter { $0.3 != "granted" }.count)
        #expect(events.allSatisfy { $0["granted"] as? Bool == false })

        let byReason = try gatewayctl("--db", db, "log", "--reason", "uses_exhausted", "--format", "json")
        #expect(byReason.stdout.split(separator: "\n").count == scenarioCases.filter { $0.3 == "uses_exhausted" }.count)
    }

    @Test func acceptsUnixAndISOTimes() throws {
        let db = try decidedDatabase()
        // The last case is the only one after 2027-01-21T20:00Z (1800561600).
        for since in ["1800561600", "2027-01-21T20:00:00Z", "2027-01-21T21:00:00+01:00"] {
            let result = try gatewayctl("--db", db, "log", "--since", since, "--format", "csv")
            #expect(result.stdout.split(separator: "\n").count == 2, "\(since)")
        }
        #expect(try gatewayctl("--db", db, "log", "--since", "yesterday").status == 2)
    }

    static let tampering: [(String, String, Int)] = [
        ("altered", "UPDATE audit_events SET reason = 'granted', granted = 1 WHERE seq = 3", 3),
        ("deleted", "DELETE FROM audit_events WHERE seq = 5", 5),
        (
            "inserted",
            "UPDATE audit_events SET seq = seq + 100 WHERE seq >= 8; UPDATE audit_events SET seq = seq - 99 WHERE seq >= 100; "
                + "INSERT INTO audit_events SELECT 8, ts_ms, gateway, door, kind, 1, 'granted', member, pass, booking, "
                + "detail, prev_hash, hash FROM audit_events WHERE seq = 7",
            8
        ),
    ]

    @Test(arguments: tampering)
    func verifyNamesTheFirstBadSeq(name: String, sql: String, seq: Int) throws {
        let db = try decidedDatabase()
        #expect(try runTool("sqlite3", [db, sql]).status == 0)
        let result = try gatewayctl("--db", db, "log", "verify")
        #expect(result.status == 1, "\(name)")
        #expect(result.stdout.hasPrefix("chain broken at seq \(seq):"), "\(name): \(result.stdout)")
    }
}

@Suite(.timeLimit(.minutes(3))) struct CrashSafetyTests {
    /// SIGKILL a decision loop at random moments: every decision it printed is in the log, the
    /// chain verifies, and SQLite's integrity check is ok.
    @Test func noPrintedDecisionIsLostAcrossKills() throws {
        let db = try scenarioDatabase()
        let dir = URL(fileURLWithPath: db).deletingLastPathComponent()
        let (door, at, _, _) = scenarioCases[0]
        // Alternate a granted pass and garbage, so events of both kinds are in flight.
        let feed = dir.appendingPathComponent("feed.txt")
        let lines = (0..<4000).map { $0 % 2 == 0 ? scenarioCases[0].2 : "AG1:junk\($0)" }
        try Data(lines.joined(separator: "\n").utf8).write(to: feed)

        var printed: [Int: String] = [:]
        var generator = SystemRandomNumberGenerator()
        for trial in 0..<20 {
            let out = dir.appendingPathComponent("out-\(trial).jsonl")
            #expect(FileManager.default.createFile(atPath: out.path, contents: nil))
            let process = Process()
            process.executableURL = TestPaths.productsDirectory.appendingPathComponent("gatewayctl")
            process.arguments = ["--db", db, "decide", "--door", door, "--at", at, "--lines"]
            process.standardInput = try FileHandle(forReadingFrom: feed)
            process.standardOutput = try FileHandle(forWritingTo: out)
            try process.run()
            usleep(UInt32.random(in: 20_000...300_000, using: &generator))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal, "trial \(trial) ended before the kill")
            let text = String(decoding: try Data(contentsOf: out), as: UTF8.self)
            // A line cut by the kill has no newline yet; it was not printed.
            for line in text.split(separator: "\n", omittingEmptySubsequences: true) where text.contains(line + "\n") {
                let object = try jsonObject(line)
                printed[object["seq"] as! Int] = object["reason"] as? String
            }
        }
        #expect(printed.count > 100, "too few decisions to mean anything")
        let log = try gatewayctl("--db", db, "log", "--format", "json")
        var recorded: [Int: String] = [:]
        for line in log.stdout.split(separator: "\n") {
            let object = try jsonObject(line)
            recorded[object["seq"] as! Int] = object["reason"] as? String
        }
        for (seq, reason) in printed { #expect(recorded[seq] == reason, "printed seq \(seq) is not in the log") }
        #expect(try gatewayctl("--db", db, "log", "verify").status == 0)
        #expect(try runTool("sqlite3", [db, "PRAGMA integrity_check"]).stdout == "ok\n")
    }
}

@Suite(.timeLimit(.minutes(1))) struct LogFollowTests {
    /// `log --follow` prints events recorded after it started.
    @Test func followsNewEvents() throws {
        let db = try scenarioDatabase()
        let (door, at, qr, _) = scenarioCases[0]
        let out = try TestPaths.temporaryDirectory().appendingPathComponent("follow.jsonl")
        #expect(FileManager.default.createFile(atPath: out.path, contents: nil))
        let follower = Process()
        follower.executableURL = TestPaths.productsDirectory.appendingPathComponent("gatewayctl")
        follower.arguments = ["--db", db, "log", "--follow", "--format", "json"]
        follower.standardOutput = try FileHandle(forWritingTo: out)
        try follower.run()
        defer {
            // SIGKILL: a child of the test runner inherits its blocked SIGTERM.
            kill(follower.processIdentifier, SIGKILL)
            follower.waitUntilExit()
        }
        for _ in 0..<3 { _ = try gatewayctl("--db", db, "decide", "--door", door, "--at", at, qr) }
        // Poll rather than sleep a fixed time: the follower checks twice a second.
        var lines: [Substring] = []
        // The snapshot import's event, then the three decisions.
        for _ in 0..<100 where lines.count < 4 {
            usleep(100_000)
            lines = String(decoding: try Data(contentsOf: out), as: UTF8.self).split(separator: "\n")
        }
        #expect(lines.count == 4)
        #expect(try lines.map { try jsonObject($0)["seq"] as? Int } == [1, 2, 3, 4])
        #expect(try jsonObject(lines[0])["reason"] as? String == "snapshot_applied")
    }
}
