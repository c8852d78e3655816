import Foundation
import TestSupport
import Testing

/// `gatewayctl log verify` compares the board's newest events with the copy HQ holds: the check
/// that does not rest on the board's database, which whoever can write it can rewrite whole.
@Suite(.timeLimit(.minutes(3))) struct AuditCrossCheckTests {
    static let gatewayctl = TestPaths.productsDirectory.appendingPathComponent("gatewayctl")

    /// An enrolled gateway whose log HQ holds up to its newest event.
    static func uploadedGateway(_ hq: ReferenceHQ) throws -> String {
        let db = try TestPaths.temporaryDirectory().appendingPathComponent("gateway.sqlite").path
        let code = try hq.code(doors: ["JKT1/FRONT"])
        let provisioned = try run(Self.gatewayctl, ["--db", db, "provision", "--hq", hq.url, "--code", code])
        try #require(provisioned.status == 0, "\(provisioned.stderr)")
        for _ in 0..<3 { _ = try run(Self.gatewayctl, ["--db", db, "decide", "--door", "JKT1/FRONT", "AG1:bad"]) }
        let synced = try run(Self.gatewayctl, ["--db", db, "sync", "now"])
        try #require(synced.status == 0, "\(synced.stdout)\(synced.stderr)")
        return db
    }

    /// Deletes the newest two events and rewrites the head and the upload cursor to match, as
    /// someone who can write the database would: the chain left behind links and verifies.
    static func cutTheNewestEvents(_ db: String) throws {
        let sql = """
            DELETE FROM audit_events WHERE seq > (SELECT max(seq) - 2 FROM audit_events);
            UPDATE gateway_state SET value = (SELECT max(seq) FROM audit_events) WHERE key IN ('head_seq', 'upload_cursor');
            UPDATE gateway_state SET value = (SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1) WHERE key = 'head_hash';
            """
        let result = try runTool("sqlite3", [db, sql])
        try #require(result.status == 0, "\(result.stderr)")
    }

    @Test func anIntactLogAgreesWithHQ() throws {
        let hq = try ReferenceHQ(seed: siteSeed)
        let db = try Self.uploadedGateway(hq)
        let verify = try run(Self.gatewayctl, ["--db", db, "log", "verify"])
        #expect(verify.status == 0, "\(verify.stdout)")
        #expect(verify.stdout.contains("HQ's copy agrees"), "\(verify.stdout)")
    }

    @Test func cutNewestEventsAreFoundByHQsCopy() throws {
        let hq = try ReferenceHQ(seed: siteSeed)
        let db = try Self.uploadedGateway(hq)
        try Self.cutTheNewestEvents(db)
        // The database alone cannot tell.
        let alone = try run(Self.gatewayctl, ["--db", db, "log", "verify", "--offline"])
        #expect(alone.status == 0 && alone.stdout.contains("not cross-checked with HQ (--offline)"), "\(alone.stdout)")
        let verify = try run(Self.gatewayctl, ["--db", db, "log", "verify"])
        #expect(verify.status == 1, "\(verify.stdout)")
        #expect(verify.stdout.contains("HQ's copy disagrees") && verify.stdout.contains("newest events were cut"), "\(verify.stdout)")
    }

    /// Without HQ an intact chain still verifies, and the output says what it could not check.
    @Test(arguments: ["unreachable", "not enrolled"])
    func withoutHQAnIntactChainExitsZeroAndSaysSo(situation: String) throws {
        let db: String
        var hq: ReferenceHQ?
        if situation == "unreachable" {
            hq = try ReferenceHQ(seed: siteSeed)
            db = try Self.uploadedGateway(hq!)
            hq?.stop()
        } else {
            db = try TestPaths.temporaryDirectory().appendingPathComponent("gateway.sqlite").path
            _ = try run(Self.gatewayctl, ["--db", db, "decide", "--door", "JKT1/FRONT", "AG1:bad"])
        }
        let verify = try run(Self.gatewayctl, ["--db", db, "log", "verify"])
        #expect(verify.status == 0, "\(verify.stdout)")
        let lines = verify.stdout.split(separator: "\n")
        #expect(lines.first?.hasSuffix("events checked: the chain is intact") == true, "\(verify.stdout)")
        let expected = situation == "unreachable" ? "not cross-checked with HQ (HQ unreachable" : "not cross-checked with HQ (this gateway is not enrolled)"
        #expect(lines.last?.hasPrefix(expected) == true, "\(verify.stdout)")
        _ = hq
    }
}
