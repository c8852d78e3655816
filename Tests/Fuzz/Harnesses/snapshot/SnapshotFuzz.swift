// libFuzzer target `snapshot`: snapshot JSON import up to the store (HQProtocol's SnapshotDocument,
// AccessPolicy's DoorSchedule; no GRDB).
//
// SnapshotDocument.parse decodes and validates a full snapshot or a delta. `GatewayStore.apply`
// is not run: a fresh SQLite store per input would cost milliseconds, a thousand times the parse.
// What apply reads of a parsed document is: each key's kid (from the kept JSON), the schedule
// windows and time zones. Those are read here. A parsed document must also survive JSONEncoder,
// as the reference HQ writes them, and parse again to the same value; and whatever parse accepts
// must have the formats docs/hq-protocol.md gives: revoked passes as 8–32 bytes of lowercase hex
// (the store compares them with the cti's hex), schedule times as HH:MM.
import AccessPolicy
import Foundation
import FuzzSupport
import HQProtocol

@main enum SnapshotFuzz {
    static func main() { runFuzzer(fuzzSnapshot) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSnapshot(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let json = Data(UnsafeBufferPointer(start: data, count: size))
    guard let document = try? SnapshotDocument.parse(json) else { return 0 }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    let records: SnapshotRecords?
    let encoded: Data
    switch document {
    case .full(let snapshot):
        records = SnapshotRecords(
            keys: snapshot.keys, doors: snapshot.doors, members: snapshot.members, bookings: snapshot.bookings,
            revoked: snapshot.revoked
        )
        encoded = try! encoder.encode(snapshot)
        guard case .full(let again)? = try? SnapshotDocument.parse(encoded) else {
            fuzzCheck(false, "an encoded snapshot does not parse")
            return 0
        }
        fuzzCheck(again == snapshot, "a snapshot changed through JSONEncoder")
    case .delta(let delta):
        records = delta.upsert
        encoded = try! encoder.encode(delta)
        guard case .delta(let again)? = try? SnapshotDocument.parse(encoded) else {
            fuzzCheck(false, "an encoded delta does not parse")
            return 0
        }
        fuzzCheck(again == delta, "a delta changed through JSONEncoder")
    }
    for revocation in records?.revoked ?? [] {
        fuzzCheck(isLowercaseHex(revocation.pass), "accepted revoked pass \(revocation.pass) is not lowercase hex")
    }
    for window in (records?.doors ?? []).flatMap({ $0.schedule ?? [] }) {
        fuzzCheck(isHHMM(window.from) && isHHMM(window.to), "accepted schedule time \(window.from)–\(window.to)")
    }
    for key in records?.keys?.keys ?? [] { _ = key.kid }
    for door in records?.doors ?? [] {
        guard let zone = TimeZone(identifier: door.tz) else {
            fuzzCheck(false, "a validated door has an unknown time zone")
            return 0
        }
        _ = DoorSchedule(windows: door.schedule ?? [], timeZone: zone).covers(1_800_000_000)
    }
    return 0
}

/// 16–64 ASCII characters 0-9 a-f, an even number of them.
func isLowercaseHex(_ text: String) -> Bool {
    let u = text.utf8
    return (16...64).contains(u.count) && u.count % 2 == 0
        && u.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
}

/// Two ASCII digits, a colon, two ASCII digits.
func isHHMM(_ text: String) -> Bool {
    let u = Array(text.utf8)
    return u.count == 5 && u[2] == UInt8(ascii: ":") && [0, 1, 3, 4].allSatisfy { (0x30...0x39).contains(u[$0]) }
}
