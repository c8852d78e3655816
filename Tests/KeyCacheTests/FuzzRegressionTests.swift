import AccessPolicy
import Foundation
@testable import KeyCache
import HQProtocol
import TestSupport
import Testing

/// Replays the snapshot fuzz target's reproducers (Tests/Fuzz/regressions/snapshot) and edge inputs
/// (Tests/Fuzz/edge/snapshot) as Tests/Fuzz/Harnesses/snapshot/SnapshotFuzz.swift runs them: each
/// is refused cleanly, or parses to a document in the formats docs/hq-protocol.md gives, which
/// survives JSONEncoder and whose schedules evaluate.
@Suite struct FuzzRegressionTests {
    static let inputs = FuzzInputs.of("snapshot")

    @Test func thereAreInputsToReplay() {
        var isDirectory: ObjCBool = false
        let dir = FuzzInputs.folder("regressions", "snapshot")
        #expect(FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDirectory) && isDirectory.boolValue)
        #expect(Self.inputs.count >= 5)
    }

    @Test(arguments: FuzzRegressionTests.inputs)
    func replays(input: FuzzInput) throws {
        guard let document = try? SnapshotDocument.parse(Data(input.bytes)) else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let records: SnapshotRecords?
        switch document {
        case .full(let snapshot):
            records = SnapshotRecords(
                keys: snapshot.keys, doors: snapshot.doors, members: snapshot.members, bookings: snapshot.bookings,
                revoked: snapshot.revoked
            )
            guard case .full(let again) = try SnapshotDocument.parse(try encoder.encode(snapshot)) else {
                Issue.record("a full snapshot came back as a delta")
                return
            }
            #expect(again == snapshot)
        case .delta(let delta):
            records = delta.upsert
            guard case .delta(let again) = try SnapshotDocument.parse(try encoder.encode(delta)) else {
                Issue.record("a delta came back as a full snapshot")
                return
            }
            #expect(again == delta)
        }
        for revocation in records?.revoked ?? [] {
            let hex = revocation.pass.utf8
            #expect((16...64).contains(hex.count) && hex.count % 2 == 0)
            #expect(hex.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }, "\(revocation.pass)")
        }
        for door in records?.doors ?? [] {
            for window in door.schedule ?? [] {
                for time in [window.from, window.to] {
                    let c = Array(time.utf8)
                    #expect(c.count == 5 && c[2] == UInt8(ascii: ":"), "\(time)")
                    #expect([0, 1, 3, 4].allSatisfy { c.count == 5 && (0x30...0x39).contains(c[$0]) }, "\(time)")
                }
            }
            let zone = try #require(TimeZone(identifier: door.tz))
            _ = DoorSchedule(windows: door.schedule ?? [], timeZone: zone).covers(1_800_000_000)
        }
    }

    /// The findings, stated directly: a schedule time is two ASCII digits, a colon and two ASCII
    /// digits (the fuzzer found "23:-0"; "+1:00" was taken for 01:00 too), and a revoked pass is
    /// ASCII lowercase hex (fullwidth digits passed Character.isHexDigit).
    @Test(arguments: ["23:-0", "+1:00", "-0:00", "1:00", "01:0", "０１:００", "24:01", "25:00", " 1:00", "01-00"])
    func scheduleTimesAreStrict(time: String) {
        #expect(ScheduleWindow.minutes(time) == nil)
        let door: [String: Any] = [
            "id": "L1/front", "mode": "normal", "tz": "UTC",
            "schedule": [["days": ["mon"], "from": "08:00", "to": time]],
        ]
        var snapshot = fullSnapshot(seq: 1)
        snapshot["doors"] = [door]
        #expect(throws: HQProtocolError.self) { try document(snapshot) }
    }

    @Test func scheduleTimesStillRead() {
        #expect(ScheduleWindow.minutes("00:00") == 0)
        #expect(ScheduleWindow.minutes("08:30") == 510)
        #expect(ScheduleWindow.minutes("23:59") == 1439)
        #expect(ScheduleWindow.minutes("24:00") == 1440)
    }

    @Test(arguments: ["０１ａｂ０１ａｂ０１ａｂ０１ａｂ", "0123456789ABCDEF", "0123456789abcdeg", "0123456789abcde", "٠١٢٣٤٥٦٧٨٩abcdef"])
    func revokedPassesAreASCIILowercaseHex(pass: String) {
        var snapshot = fullSnapshot(seq: 1)
        snapshot["revoked"] = [["pass": pass, "until": 1_900_000_000]]
        #expect(throws: HQProtocolError.self) { try document(snapshot) }
    }

    @Test func aLowercaseHexRevocationIsAccepted() throws {
        var snapshot = fullSnapshot(seq: 1)
        snapshot["revoked"] = [["pass": "0123456789abcdef", "until": 1_900_000_000]]
        _ = try document(snapshot)
    }
}
