import Foundation
@testable import KeyCache
import HQProtocol
import TestSupport
import Testing

func json(_ object: [String: Any]) -> Data {
    try! JSONSerialization.data(withJSONObject: object)
}

func document(_ object: [String: Any]) throws -> SnapshotDocument {
    try SnapshotDocument.parse(JSONSerialization.data(withJSONObject: object))
}

func fullSnapshot(seq: Int, members: [[String: Any]] = [], bookings: [[String: Any]] = []) -> [String: Any] {
    [
        "format": "ag-snapshot/1", "issuer": "hq.test", "seq": seq, "generated_at": 1_800_000_000, "max_age": 3600,
        "keys": ["keys": []], "doors": [["id": "L1/front", "mode": "normal", "tz": "UTC"]], "members": members,
        "bookings": bookings, "revoked": [],
    ]
}

@Suite struct SnapshotTests {
    @Test func appliesAFullSnapshotThenADelta() throws {
        let store = try makeStore()
        try store.apply(
            try document(
                fullSnapshot(seq: 42, members: [["id": "m-1", "blocked": false], ["id": "m-2", "blocked": false]])
            )
        )
        var info = try #require(try store.snapshotInfo())
        #expect(info.seq == 42 && info.members == 2 && info.doors == 1)

        let delta: [String: Any] = [
            "format": "ag-snapshot-delta/1", "base_seq": 42, "seq": 43,
            "upsert": ["members": [["id": "m-3", "blocked": true]]],
            "delete": ["members": ["m-1"], "doors": ["L1/front"]],
        ]
        try store.apply(try document(delta))
        info = try #require(try store.snapshotInfo())
        #expect(info.seq == 43 && info.members == 2 && info.doors == 0)
    }

    @Test func replacesEverythingOnEachFullSnapshot() throws {
        let store = try makeStore()
        for seq in 1...3 {
            let members = (0..<(seq * 3000)).map { ["id": "m-\(seq)-\($0)", "blocked": false] as [String: Any] }
            try store.apply(try document(fullSnapshot(seq: seq, members: members)))
            let info = try #require(try store.snapshotInfo())
            #expect(info.seq == Int64(seq) && info.members == seq * 3000)
        }
        #expect(try store.integrityCheck() == "ok")
        // A delta still applies on top of swapped-in tables.
        let delta: [String: Any] = [
            "format": "ag-snapshot-delta/1", "base_seq": 3, "seq": 4, "delete": ["members": ["m-3-0"]],
        ]
        #expect(try store.apply(try document(delta)).members == 8999)
    }

    @Test func recoversFromTablesAnInterruptedImportLeftBehind() throws {
        let store = try makeStore()
        try store.apply(try document(fullSnapshot(seq: 1, members: [["id": "m-1", "blocked": false]])))
        // As a crash mid-staging or mid-drain would leave them.
        let leftovers = """
            CREATE TABLE stage_members (id TEXT PRIMARY KEY, blocked INTEGER NOT NULL) WITHOUT ROWID;
            INSERT INTO stage_members VALUES ('m-ghost', 0);
            CREATE TABLE retired_bookings (id TEXT PRIMARY KEY, member TEXT, doors TEXT, start INTEGER,
                "end" INTEGER, status TEXT) WITHOUT ROWID;
            INSERT INTO retired_bookings VALUES ('b-old', 'm', '[]', 0, 1, 'confirmed');
            """
        #expect(try runTool("sqlite3", [store.path, leftovers]).status == 0)
        let info = try store.apply(try document(fullSnapshot(seq: 2, members: [["id": "m-2", "blocked": false]])))
        #expect(info.seq == 2 && info.members == 1)
        #expect(
            try runTool(
                "sqlite3",
                [store.path, "SELECT count(*) FROM sqlite_master WHERE name LIKE 'stage_%' OR name LIKE 'retired_%'"]
            ).stdout == "0\n"
        )
        #expect(try store.integrityCheck() == "ok")
    }

    @Test func refusesADeltaOnTheWrongBase() throws {
        let store = try makeStore()
        try store.apply(try document(fullSnapshot(seq: 42)))
        let delta: [String: Any] = ["format": "ag-snapshot-delta/1", "base_seq": 41, "seq": 43]
        #expect(throws: KeyCacheError.deltaBaseMismatch(stored: 42, base: 41)) { try store.apply(try document(delta)) }
        #expect(try store.snapshotInfo()?.seq == 42)
    }

    @Test func refusesADeltaWithoutAStoredSnapshot() throws {
        let delta: [String: Any] = ["format": "ag-snapshot-delta/1", "base_seq": 1, "seq": 2]
        #expect(throws: KeyCacheError.deltaBaseMismatch(stored: nil, base: 1)) {
            try makeStore().apply(try document(delta))
        }
    }

    @Test(arguments: [42, 41])
    func refusesAnOlderOrEqualSeq(seq: Int) throws {
        let store = try makeStore()
        try store.apply(try document(fullSnapshot(seq: 42)))
        #expect(throws: KeyCacheError.staleSeq(stored: 42, received: Int64(seq))) {
            try store.apply(try document(fullSnapshot(seq: seq)))
        }
    }

    @Test func aFailedApplyChangesNothing() throws {
        let store = try makeStore()
        try store.apply(try document(fullSnapshot(seq: 1, members: [["id": "m-1", "blocked": false]])))
        // The delta's upsert is fine, but its base is wrong: nothing of it may land.
        let delta: [String: Any] = [
            "format": "ag-snapshot-delta/1", "base_seq": 5, "seq": 6,
            "upsert": ["members": [["id": "m-9", "blocked": false]]],
        ]
        #expect(throws: KeyCacheError.self) { try store.apply(try document(delta)) }
        #expect(try store.snapshotInfo()?.members == 1)
    }

    static let invalid: [(String, Data, String)] = [
        ("unknown format", json(["format": "ag-snapshot/9"]), "neither"),
        ("missing seq", json(fullSnapshot(seq: 1).filter { $0.key != "seq" }), "seq"),
        (
            "bad time zone",
            json(
                fullSnapshot(seq: 1).merging(["doors": [["id": "L/D", "mode": "normal", "tz": "Mars/Olympus"]]]) { $1 }
            ), "Mars/Olympus"
        ),
        (
            "bad door id",
            json(fullSnapshot(seq: 1).merging(["doors": [["id": "nodoor", "mode": "normal", "tz": "UTC"]]]) { $1 }),
            "nodoor"
        ),
        (
            "bad mode",
            json(fullSnapshot(seq: 1).merging(["doors": [["id": "L/D", "mode": "open", "tz": "UTC"]]]) { $1 }),
            "doors[0].mode"
        ),
        (
            "bad schedule time",
            json(
                fullSnapshot(seq: 1).merging([
                    "doors": [
                        [
                            "id": "L/D", "mode": "normal", "tz": "UTC",
                            "schedule": [["days": ["mon"], "from": "8:00", "to": "20:00"]],
                        ]
                    ]
                ]) { $1 }
            ),
            "HH:MM"
        ),
        (
            "bad day",
            json(
                fullSnapshot(seq: 1).merging([
                    "doors": [
                        [
                            "id": "L/D", "mode": "normal", "tz": "UTC",
                            "schedule": [["days": ["monday"], "from": "08:00", "to": "20:00"]],
                        ]
                    ]
                ]) { $1 }
            ),
            "monday"
        ),
        (
            "bad unlock schedule time",
            json(
                fullSnapshot(seq: 1).merging([
                    "doors": [
                        [
                            "id": "L/D", "mode": "normal", "tz": "UTC",
                            "unlock_schedule": [["days": ["mon"], "from": "08:00", "to": "25:00"]],
                        ]
                    ]
                ]) { $1 }
            ),
            "unlock_schedule times must be HH:MM"
        ),
        (
            "first person in without an unlock schedule",
            json(
                fullSnapshot(seq: 1).merging([
                    "doors": [["id": "L/D", "mode": "normal", "tz": "UTC", "first_person_in": true]]
                ]) { $1 }
            ),
            "first_person_in needs an unlock_schedule"
        ),
        (
            "duplicate member",
            json(fullSnapshot(seq: 1, members: [["id": "m", "blocked": false], ["id": "m", "blocked": true]])), "twice"
        ),
        (
            "revoked pass not hex",
            json(fullSnapshot(seq: 1).merging(["revoked": [["pass": "XYZ", "until": 1]]]) { $1 }), "XYZ"
        ),
        (
            "delta not newer than its base", json(["format": "ag-snapshot-delta/1", "base_seq": 5, "seq": 5]),
            "not after"
        ),
    ]

    @Test(arguments: invalid)
    func rejectsInvalidDocumentsByName(name: String, data: Data, mention: String) {
        do {
            _ = try SnapshotDocument.parse(data)
            Issue.record("\(name) was accepted")
        } catch {
            #expect(error.description.contains(mention), "\(name): \(error)")
        }
    }

    @Test func bookingDoorListsRoundTripThroughJSON() throws {
        let doors = ["L1", "L\"2/\\x", "tab\there", "\u{1}ctl", "ünï/🚪", ""]
        let text = GatewayStore.jsonArray(doors)
        #expect(try JSONDecoder().decode([String].self, from: Data(text.utf8)) == doors)
        #expect(GatewayStore.jsonArray([]) == "[]")
    }

    @Test func aDoorsUnlockScheduleIsStoredByAFullSnapshotAndChangedByADelta() throws {
        let store = try makeStore()
        let mornings: [[String: Any]] = [["days": ["mon", "fri"], "from": "08:00", "to": "09:00"]]
        var snapshot = fullSnapshot(seq: 1)
        snapshot["doors"] = [["id": "L1/front", "mode": "normal", "tz": "UTC", "unlock_schedule": mornings]]
        try store.apply(try document(snapshot))
        var door = try #require(try store.snapshotDoors()["L1/front"])
        #expect(door.unlockSchedule == [ScheduleWindow(days: ["mon", "fri"], from: "08:00", to: "09:00")])
        #expect(door.firstPersonIn == false)
        let delta: [String: Any] = [
            "format": "ag-snapshot-delta/1", "base_seq": 1, "seq": 2,
            "upsert": [
                "doors": [
                    [
                        "id": "L1/front", "mode": "normal", "tz": "Asia/Jakarta",
                        "unlock_schedule": [["days": ["sat"], "from": "22:00", "to": "02:00"]], "first_person_in": true,
                    ]
                ]
            ],
        ]
        try store.apply(try document(delta))
        door = try #require(try store.snapshotDoors()["L1/front"])
        #expect(door.unlockSchedule == [ScheduleWindow(days: ["sat"], from: "22:00", to: "02:00")])
        #expect(door.firstPersonIn == true && door.tz == "Asia/Jakarta")
    }

    /// A store made before unlock schedules existed (migrations v1 and v2 only) gains the columns,
    /// and its doors read as having none.
    @Test func aStoreFromBeforeUnlockSchedulesIsMigrated() throws {
        let store = try makeStore()
        try store.apply(try document(fullSnapshot(seq: 1)))
        let path = store.path
        try store.close()
        let downgrade = """
            ALTER TABLE doors DROP COLUMN unlock_schedule;
            ALTER TABLE doors DROP COLUMN first_person_in;
            DELETE FROM grdb_migrations WHERE identifier = 'v3';
            """
        #expect(try runTool("sqlite3", [path, downgrade]).status == 0)
        let reopened = try GatewayStore(path: path)
        let door = try #require(try reopened.snapshotDoors()["L1/front"])
        #expect(door.unlockSchedule == [] && door.firstPersonIn == false && door.mode == .normal)
    }

    @Test func rejectsANonJSONFile() {
        #expect(throws: HQProtocolError.self) { try SnapshotDocument.parse(Data("not json".utf8)) }
    }
}

/// Staging commits unsynced, for its own transactions only: every write after it, a decision's
/// among them, commits with the store's setting again.
@Suite struct StagingDurabilityTests {
    @Test(arguments: [(GatewayStore.Durability.powerLoss, 2), (.processCrash, 1)])
    func theStoresSynchronousSettingIsBackAfterStaging(durability: GatewayStore.Durability, expected: Int) throws {
        let path = try TestPaths.temporaryDirectory().appendingPathComponent("gateway.sqlite").path
        let store = try GatewayStore(path: path, durability: durability)
        let token = try store.beginStaging(seq: 1)
        let members = (0..<(GatewayStore.stagingBatch * 2 + 1)).map { MemberRecord(id: "m-\($0)", blocked: false) }
        try store.stage(SnapshotRecords(members: members), token: token)
        let setting = try store.pool.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(setting == expected)
        let staged = try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM stage_members") }
        #expect(staged == members.count)
    }
}
