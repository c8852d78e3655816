import Foundation
import HQProtocol
import KeyCache
import TestSupport
import Testing

func storeWithEvents(_ count: Int) throws -> GatewayStore {
    let store = try makeStore()
    for i in 0..<count {
        try store.appendAudit(
            AuditEntry(
                tsMs: 1_800_000_000_000 + Int64(i) * 1000,
                door: "L1/front",
                kind: "decision",
                granted: i % 2 == 0,
                reason: i % 2 == 0 ? "granted" : "expired",
                member: "m-\(i)",
                pass: "00112233445566\(10 + i)"
            )
        )
    }
    return store
}

/// Runs the sqlite3 CLI against the store, as a person tampering with the file would.
func sqlite3(_ store: GatewayStore, _ sql: String) throws {
    let result = try runTool("sqlite3", [store.path, sql])
    #expect(result.status == 0, "\(result.stderr)")
}

@Suite struct AuditChainTests {
    /// Migration v1 makes `audit_events` from AuditEvent.columnDefinitions, which HQ shares: the
    /// columns a shipped store has must never change under it.
    @Test func theAuditTableKeepsTheColumnsOfMigrationV1() throws {
        let store = try makeStore()
        let columns = try runTool("sqlite3", [
            store.path,
            "SELECT name || ' ' || type || ' ' || \"notnull\" || ' ' || ifnull(dflt_value, '-') || ' ' || pk "
                + "FROM pragma_table_info('audit_events')",
        ]).stdout.split(separator: "\n").map(String.init)
        #expect(
            columns == [
                "seq INTEGER 0 - 1", "ts_ms INTEGER 1 - 0", "gateway TEXT 1 - 0", "door TEXT 0 - 0",
                "kind TEXT 1 - 0", "granted INTEGER 1 - 0", "reason TEXT 1 - 0", "member TEXT 0 - 0",
                "pass TEXT 0 - 0", "booking TEXT 0 - 0", "detail TEXT 1 '{}' 0", "prev_hash TEXT 1 - 0",
                "hash TEXT 1 - 0",
            ]
        )
    }

    @Test func anUntouchedChainVerifies() throws {
        let store = try storeWithEvents(10)
        #expect(try store.verifyAuditChain() == .intact(events: 10))
        let events = try store.auditEvents(.init())
        #expect(events.first?.prevHash == AuditEvent.genesis)
        #expect(zip(events, events.dropFirst()).allSatisfy { $0.hash == $1.prevHash })
        #expect(events.allSatisfy { $0.detail == "{}" })
    }

    @Test func detectsAnAlteredRow() throws {
        let store = try storeWithEvents(10)
        try sqlite3(store, "UPDATE audit_events SET granted = 1, reason = 'granted' WHERE seq = 4")
        #expect(try store.verifyAuditChain() == .broken(seq: 4, why: "event 4 was altered"))
    }

    @Test func detectsADeletedRow() throws {
        let store = try storeWithEvents(10)
        try sqlite3(store, "DELETE FROM audit_events WHERE seq = 6")
        #expect(try store.verifyAuditChain() == .broken(seq: 6, why: "event 6 is missing"))
    }

    @Test func detectsDeletedNewestRows() throws {
        let store = try storeWithEvents(10)
        try sqlite3(store, "DELETE FROM audit_events WHERE seq >= 9")
        #expect(try store.verifyAuditChain() == .broken(seq: 9, why: "events 9…10 are missing"))
    }

    @Test func detectsAnInsertedRow() throws {
        let store = try storeWithEvents(10)
        // Make room by shifting the tail, then insert a forged event copied from a real one.
        try sqlite3(
            store,
            """
            UPDATE audit_events SET seq = seq + 1000 WHERE seq > 5;
            UPDATE audit_events SET seq = seq - 999 WHERE seq > 1000;
            INSERT INTO audit_events SELECT 6, ts_ms, gateway, door, kind, 1, 'granted', 'intruder', pass, booking,
                detail, prev_hash, hash FROM audit_events WHERE seq = 5;
            """
        )
        guard case .broken(let seq, _) = try store.verifyAuditChain() else {
            Issue.record("the inserted row was not detected")
            return
        }
        #expect(seq == 6)
    }

    @Test func pruningKeepsUnsentEventsAndTheChainVerifiable() throws {
        let store = try storeWithEvents(10)
        try store.advanceUploadCursor(to: 6)
        let pruned = try store.pruneAudit(olderThanMs: 1_800_000_000_000 + 8_000)
        #expect(pruned == 6)
        #expect(try store.auditEvents(.init()).map(\.seq) == Array(7...10))
        #expect(try store.verifyAuditChain() == .intact(events: 4))
        // New events still chain onto the head.
        try store.appendAudit(
            AuditEntry(tsMs: 1_800_000_100_000, door: nil, kind: "system", granted: false, reason: "boot")
        )
        #expect(try store.verifyAuditChain() == .intact(events: 5))
    }

    @Test func detectsOldestEventsRemovedBehindAForgedCheckpoint() throws {
        let store = try storeWithEvents(10)
        let fifth = try #require(try store.auditEvents(.init()).first { $0.seq == 5 })
        try sqlite3(
            store,
            """
            DELETE FROM audit_events WHERE seq <= 5;
            INSERT OR REPLACE INTO gateway_state VALUES ('checkpoint_seq', '5'), ('checkpoint_hash', '\(fifth.hash)');
            """
        )
        #expect(
            try store.verifyAuditChain() == .broken(seq: 1, why: "events up to 5 are gone, but HQ only acknowledged 0")
        )
    }

    @Test func grantedHoldsOnlyZeroOrOne() throws {
        let store = try storeWithEvents(3)
        let result = try runTool("sqlite3", [store.path, "UPDATE audit_events SET granted = 'yes' WHERE seq = 2"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("CHECK constraint failed"))
    }

    @Test func theUploadCursorNeverMovesBack() throws {
        let store = try storeWithEvents(3)
        try store.advanceUploadCursor(to: 3)
        try store.advanceUploadCursor(to: 1)
        #expect(try store.uploadCursor() == 3)
    }

    @Test func filtersTheLog() throws {
        let store = try storeWithEvents(10)
        var query = GatewayStore.AuditQuery()
        query.deniedOnly = true
        #expect(try store.auditEvents(query).map(\.seq) == [2, 4, 6, 8, 10])
        query = .init()
        query.member = "m-3"
        #expect(try store.auditEvents(query).map(\.seq) == [4])
        query = .init()
        query.sinceMs = 1_800_000_000_000 + 5000
        query.untilMs = 1_800_000_000_000 + 6000
        #expect(try store.auditEvents(query).map(\.seq) == [6, 7])
    }

    /// An independent implementation of the documented canonical form agrees, both ways.
    /// Cutting acknowledged events and rewriting the head to match leaves a chain that links: the
    /// head below the upload cursor gives it away, to both verifiers.
    @Test func aHeadBelowTheUploadCursorIsRefused() throws {
        let store = try storeWithEvents(10)
        try store.advanceUploadCursor(to: 8)
        try sqlite3(
            store,
            """
            DELETE FROM audit_events WHERE seq >= 7;
            UPDATE gateway_state SET value = '6' WHERE key = 'head_seq';
            UPDATE gateway_state SET value = (SELECT hash FROM audit_events WHERE seq = 6) WHERE key = 'head_hash';
            """
        )
        let verdict = try store.verifyAuditChain()
        #expect(verdict == .broken(seq: 7, why: "the head is seq 6, below the upload cursor 8: events HQ acknowledged are gone"))
        let script = TestPaths.packageRoot.appendingPathComponent("scripts/audit_verify.py").path
        let python = try runTool("python3", [script, store.path])
        #expect(python.status == 1 && python.stdout.contains("below the upload cursor 8"), "\(python.stdout)")
    }

    @Test func anIndependentVerifierAgrees() throws {
        let store = try storeWithEvents(5)
        try store.appendAudit(
            AuditEntry(
                tsMs: 1_800_000_009_000,
                door: nil,
                kind: "system",
                granted: false,
                reason: "boot",
                detail: ["note": "ünïcode \"quoted\""]
            )
        )
        let script = TestPaths.packageRoot.appendingPathComponent("scripts/audit_verify.py").path
        let intact = try runTool("python3", [script, store.path])
        #expect(intact.status == 0, "\(intact.stdout)\(intact.stderr)")
        #expect(intact.stdout == "6 events intact\n")
        try sqlite3(store, "UPDATE audit_events SET member = 'm-x' WHERE seq = 2")
        let broken = try runTool("python3", [script, store.path])
        #expect(broken.status == 1)
        #expect(broken.stdout.contains("seq 2"))
    }
}

@Suite struct UploadBacklogTests {
    @Test func theBacklogIsWhatHQHasNotAcknowledged() throws {
        let world = try World()
        for id in 1...5 { _ = try world.decide(try world.pass(id: UInt8(id))) }
        #expect(try world.store.uploadBacklog() == 5)
        try world.store.advanceUploadCursor(to: 3)
        #expect(try world.store.uploadBacklog() == 2)
    }
}

/// `/metrics` and the status line read these on every scrape: they come from values kept as
/// events are appended and snapshots applied, never from counting whole tables per request.
@Suite struct ScrapeCostTests {
    @Test func theBacklogIsTheHeadLessTheCursorWithoutCountingEvents() throws {
        let store = try storeWithEvents(6)
        try store.advanceUploadCursor(to: 2)
        // A row gone behind the store's back is the chain's business, not the gauge's: no rows are read.
        try sqlite3(store, "DELETE FROM audit_events WHERE seq = 4")
        #expect(try store.uploadBacklog() == 4)
    }

    @Test func snapshotCountsAreThoseKeptAtApplyTime() throws {
        let store = try makeStore()
        try store.apply(
            try document(fullSnapshot(seq: 1, members: [["id": "m-1", "blocked": false], ["id": "m-2", "blocked": false]]))
        )
        try sqlite3(store, "INSERT INTO members(id, blocked) VALUES ('m-sneaked', 0)")
        #expect(try store.snapshotInfo()?.members == 2)
        let delta: [String: Any] = [
            "format": "ag-snapshot-delta/1", "base_seq": 1, "seq": 2, "upsert": ["members": [["id": "m-3", "blocked": false]]],
        ]
        try store.apply(try document(delta))
        // A delta moves the kept counts by what it adds and removes, without counting the tables:
        // the row sneaked in behind the store's back shows at the next full snapshot only.
        #expect(try store.snapshotInfo()?.members == 3)
    }

    @Test func aDeltaMovesTheCountsByWhatItAddsAndRemoves() throws {
        let store = try makeStore()
        try store.apply(
            try document(fullSnapshot(seq: 1, members: [["id": "m-1", "blocked": false], ["id": "m-2", "blocked": false]]))
        )
        let delta: [String: Any] = [
            "format": "ag-snapshot-delta/1", "base_seq": 1, "seq": 2,
            // m-1 is replaced (no new row), m-3 is new (named twice), m-2 goes, m-9 was never there.
            "upsert": ["members": [["id": "m-1", "blocked": true], ["id": "m-3", "blocked": false], ["id": "m-3", "blocked": true]]],
            "delete": ["members": ["m-2", "m-9"]],
        ]
        try store.apply(try document(delta))
        let counted = try runTool("sqlite3", [store.path, "SELECT count(*) FROM members"])
        #expect(counted.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "2", "\(counted.stderr)")
        #expect(try store.snapshotInfo()?.members == 2)
    }
}
