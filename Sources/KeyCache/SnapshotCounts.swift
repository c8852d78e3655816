import Foundation
import GRDB

/// The snapshot's row counts, kept beside it when it is applied, so that `snapshotInfo()` (the
/// status line, `doctor`, `snapshot show`) never counts a million-row table per request.
extension GatewayStore {
    /// The stored seq, issuer and times, without the counts: what `/metrics` reads per scrape.
    public func snapshotHeader() throws(KeyCacheError) -> SnapshotInfo? {
        try read { db in try Self.header(db) }
    }

    /// Counts the snapshot tables now and keeps the counts for the stored seq, inside the
    /// caller's write transaction (a delta's).
    static func recordCounts(_ db: Database) throws -> SnapshotInfo? {
        guard let info = try countTables(db) else { return nil }
        try keepCounts(info, db)
        return info
    }

    /// Counts a full snapshot's tables in a read, which decisions never wait for, then keeps the
    /// counts unless another snapshot was applied in between.
    func recordCountsAfterSwap() throws(KeyCacheError) -> SnapshotInfo {
        let counted = try read { db in try Self.countTables(db)! }
        try write { db in
            if try Self.header(db)?.seq == counted.seq { try Self.keepCounts(counted, db) }
        }
        return counted
    }

    /// The stored header with every snapshot table counted.
    static func countTables(_ db: Database) throws -> SnapshotInfo? {
        guard var info = try header(db) else { return nil }
        func count(_ table: String) throws -> Int { try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? 0 }
        info.keys = try count("signing_keys")
        info.doors = try count("doors")
        info.members = try count("members")
        info.bookings = try count("bookings")
        info.revoked = try count("revoked")
        return info
    }

    static func keepCounts(_ info: SnapshotInfo, _ db: Database) throws {
        let counts = [info.keys, info.doors, info.members, info.bookings, info.revoked].map(String.init)
        try setState(db, .snapshotCounts, "\(info.seq):" + counts.joined(separator: ","))
    }

    /// The counts kept for `info.seq`, filled into `info`; false when none were kept for it (a
    /// database from before counts were kept).
    static func fillRecordedCounts(_ info: inout SnapshotInfo, _ db: Database) throws -> Bool {
        guard let text = try state(db, .snapshotCounts) else { return false }
        let parts = text.split(separator: ":")
        guard parts.count == 2, Int64(parts[0]) == info.seq else { return false }
        let counts = parts[1].split(separator: ",").compactMap { Int($0) }
        guard counts.count == 5 else { return false }
        (info.keys, info.doors, info.members, info.bookings, info.revoked) =
            (counts[0], counts[1], counts[2], counts[3], counts[4])
        return true
    }
}
