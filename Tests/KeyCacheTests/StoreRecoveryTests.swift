import AccessToken
import Foundation
import GRDB
@testable import KeyCache
import HQProtocol
import TestSupport
import Testing

/// A damaged database at start: detected, moved aside, and what can be read is kept.
@Suite struct StoreRecoveryTests {
    /// A store with a snapshot of many members (several pages), ten events of which HQ has
    /// acknowledged four, and an enrolment; closed, so everything is in the main file.
    static func populated() throws -> (path: String, events: [AuditEvent]) {
        let path = try TestPaths.temporaryDirectory().appendingPathComponent("gateway.sqlite").path
        let store = try GatewayStore(path: path)
        let members = (0..<3000).map { ["id": "member-\($0)-with-a-longer-id", "blocked": false] as [String: Any] }
        let snapshot: [String: Any] = [
            "format": "ag-snapshot/1", "issuer": "hq.test", "seq": 7, "generated_at": 1_800_000_000,
            "max_age": 86400, "keys": ["keys": []], "doors": [["id": "L/1", "mode": "normal", "tz": "UTC"]],
            "members": members, "bookings": [], "revoked": [],
        ]
        try store.apply(try SnapshotDocument.parse(JSONSerialization.data(withJSONObject: snapshot)))
        try store.setGatewayID("gw-7")
        try store.setStateValues([.snapshotEtag: "\"7\"", .commandCursor: "12"])
        for i in 0..<10 {
            _ = try store.appendAudit(
                AuditEntry(tsMs: 1_800_000_000_000 + Int64(i), door: "L/1", kind: "decision", granted: i % 2 == 0, reason: "granted")
            )
        }
        try store.advanceUploadCursor(to: 4)
        let events = try store.auditEvents(.init())
        try store.close()
        return (path, events)
    }

    /// Overwrites a page of the file with garbage.
    static func smash(_ path: String, page: Int, pageSize: Int = 4096) throws {
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        try handle.seek(toOffset: UInt64((page - 1) * pageSize))
        handle.write(Data(repeating: 0x5A, count: pageSize))
        try handle.close()
    }

    /// The root page of `table`, from the sqlite3 CLI.
    static func rootPage(_ path: String, _ table: String) throws -> Int {
        let result = try runTool("sqlite3", [path, "SELECT rootpage FROM sqlite_master WHERE name = '\(table)'"])
        return try #require(Int(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), "\(result.stderr)")
    }

    @Test func aHealthyStoreOpensAsItIs() throws {
        let (path, events) = try Self.populated()
        let (store, recovery) = try GatewayStore.openRecovering(path: path)
        #expect(recovery == nil)
        #expect(try store.auditEvents(.init()) == events)
    }

    @Test func aDamagedSnapshotPageKeepsTheStateAndTheUnsentEventsAndDropsTheSnapshot() throws {
        let (path, events) = try Self.populated()
        try Self.smash(path, page: try Self.rootPage(path, "members"))
        let (store, recovery) = try GatewayStore.openRecovering(path: path, now: 1_800_000_100)
        let report = try #require(recovery)
        #expect(report.keptState && report.salvagedEvents == 6 && report.lostThroughSeq == nil, "\(report)")
        #expect(FileManager.default.fileExists(atPath: report.quarantined))
        #expect(try store.integrityCheck() == "ok")
        #expect(try store.snapshotInfo() == nil)
        #expect(try store.gatewayID() == "gw-7" && store.uploadCursor() == 4)
        #expect(try store.stateValues([.snapshotEtag, .commandCursor]) == [.commandCursor: "12"])
        // The unsent events are exactly the old ones, and the chain goes on from them.
        let kept = try store.auditEvents(.init())
        #expect(Array(kept.prefix(6)) == Array(events.suffix(6)))
        #expect(kept.last?.reason == "store_recovered" && kept.last?.seq == 11 && kept.last?.prevHash == events.last?.hash)
        #expect(try store.verifyAuditChain() == .intact(events: 7))
    }

    /// A used-up single-use pass stays used up, and a seen AG2 proof stays seen, across a recovery:
    /// otherwise damaging the file would hand out fresh uses and replays.
    @Test func aRecoveryKeepsPassUsesAndSeenProofs() throws {
        let path = try TestPaths.temporaryDirectory().appendingPathComponent("gateway.sqlite").path
        let store = try GatewayStore(path: path)
        let key = SigningKey.generate(.es256)
        let now: Double = 1_800_000_000
        let members = (0..<3000).map { ["id": "member-\($0)-with-a-longer-id", "blocked": false] as [String: Any] }
        let snapshot = try JSONSerialization.data(
            withJSONObject: [
                "format": "ag-snapshot/1", "issuer": "hq.test", "seq": 7, "generated_at": Int(now) - 60,
                "max_age": 86400, "keys": ["keys": [key.publicJWK(kid: "k1")]],
                "doors": [["id": "L/1", "mode": "normal", "tz": "UTC"]], "members": members, "bookings": [],
                "revoked": [],
            ] as [String: Any]
        )
        try store.apply(try SnapshotDocument.parse(snapshot))
        let pass = try PassIssuer(key: key, kid: "k1").issue(
            PassClaims(issuer: "hq.test", member: "m-1", audience: ["L"], expiresAt: now + 86400, passID: [1, 2, 3, 4, 5, 6, 7, 8], maxUses: 1)
        )
        let first = try AccessDecider(store: store).decide(pass, door: "L/1", now: now)
        #expect(first.reason == .granted, "\(first.detail)")
        try store.close()
        let seen = "abcdef0123456789:1800000000"
        #expect(try runTool("sqlite3", [path, "INSERT INTO proofs_seen VALUES ('\(seen)', 1800000100000)"]).status == 0)
        try Self.smash(path, page: try Self.rootPage(path, "members"))

        let (recovered, recovery) = try GatewayStore.openRecovering(path: path, now: now + 10)
        let report = try #require(recovery)
        #expect(report.keptPassUses == 1 && report.keptProofs == 1, "\(report)")
        try recovered.apply(try SnapshotDocument.parse(snapshot))
        #expect(try AccessDecider(store: recovered).decide(pass, door: "L/1", now: now + 60).reason == .usesExhausted)
        let proofs = try runTool("sqlite3", [path, "SELECT digest FROM proofs_seen"])
        #expect(proofs.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == seen)
    }

    @Test func aFileThatIsNoLongerADatabaseStartsAfreshAndSaysSo() throws {
        let (path, _) = try Self.populated()
        try Self.smash(path, page: 1)
        let (store, recovery) = try GatewayStore.openRecovering(path: path, now: 1_800_000_100)
        let report = try #require(recovery)
        #expect(!report.keptState && report.salvagedEvents == 0, "\(report)")
        #expect(report.description.contains("gatewayctl provision"))
        let events = try store.auditEvents(.init())
        #expect(events.map(\.reason) == ["store_recovered"])
        #expect(events.first?.detail.contains(report.quarantined) == true)
    }

    @Test func theDatabaseIsReadableByItsOwnerOnlyWhateverTheUmask() throws {
        let path = try TestPaths.temporaryDirectory().appendingPathComponent("gateway.sqlite").path
        let old = umask(0o022)
        defer { umask(old) }
        let store = try GatewayStore(path: path)
        try store.setGatewayID("gw-1")
        for file in [path, path + "-wal"] {
            let mode = try #require(FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int)
            #expect(mode & 0o077 == 0, "\(file) has mode \(String(mode, radix: 8))")
        }
    }

    @Test func aMissingDirectoryIsAnErrorNotARecovery() {
        #expect(throws: KeyCacheError.self) {
            _ = try GatewayStore.openRecovering(path: "/nonexistent-dir/gateway.sqlite")
        }
    }

    /// Damage is told by SQLite's result code, whatever the message says: recovery, a safety path,
    /// never depends on an English text.
    @Test(arguments: [
        (ResultCode.SQLITE_CORRUPT, true), (.SQLITE_NOTADB, true), (.SQLITE_BUSY, false), (.SQLITE_FULL, false),
    ])
    func damageIsToldByTheResultCode(code: ResultCode, damaged: Bool) {
        let error = KeyCacheError.wrapping(DatabaseError(resultCode: code, message: "some text"))
        guard case .sqlite(let kept, let why) = error else {
            Issue.record("not kept as an SQLite error: \(error)")
            return
        }
        #expect(kept == code.primaryResultCode.rawValue && why.contains("some text"))
        #expect(GatewayStore.looksDamaged(error) == damaged)
        #expect(!GatewayStore.looksDamaged(.database("database disk image is malformed")), "matched by its text")
    }
}
