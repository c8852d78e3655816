import Foundation

/// What a full snapshot carries beside its large tables: issuer, seq, times, keys and doors.
/// ``GatewayStore/commitStaging(token:header:expected:now:)`` swaps it in with the staged rows.
public struct SnapshotHeader: Sendable, Equatable {
    public var issuer: String
    public var seq: Int64
    public var generatedAt: Int64
    public var maxAge: Int64
    public var keys: JWKSDocument
    public var doors: [DoorRecord]

    public init(issuer: String, seq: Int64, generatedAt: Int64, maxAge: Int64, keys: JWKSDocument, doors: [DoorRecord]) {
        self.issuer = issuer
        self.seq = seq
        self.generatedAt = generatedAt
        self.maxAge = maxAge
        self.keys = keys
        self.doors = doors
    }

    /// Checks what a full snapshot's header must hold: a seq, a positive max_age, valid doors and
    /// keys, no door twice.
    public func validate() throws(HQProtocolError) {
        guard seq >= 0 else { throw .badSnapshot("seq \(seq) is negative") }
        guard maxAge > 0 else { throw .badSnapshot("max_age must be positive") }
        try SnapshotRecords(keys: keys, doors: doors).validate()
        var seen = Set<String>()
        for door in doors where !seen.insert(door.id).inserted { throw .badSnapshot("door \(door.id) appears twice") }
    }
}

/// How many members, bookings and revocations a snapshot holds.
public struct SnapshotCounts: Sendable, Codable, Equatable, CustomStringConvertible {
    public var members: Int
    public var bookings: Int
    public var revoked: Int

    public init(members: Int, bookings: Int, revoked: Int) {
        self.members = members
        self.bookings = bookings
        self.revoked = revoked
    }

    public var total: Int { members + bookings + revoked }
    public var description: String { "\(members) members, \(bookings) bookings, \(revoked) revoked" }
}

/// One chunk of a chunked snapshot, as its manifest lists it.
public struct SnapshotChunkEntry: Sendable, Codable, Equatable {
    /// The chunk's path, relative to HQ's base URL: `/v1/snapshot/{seq}/chunks/{index}`.
    public var href: String
    /// The SHA-256 of the chunk's bytes as sent (gzip), lowercase hex.
    public var sha256: String
    /// The chunk's size as sent, in bytes.
    public var size: Int

    public init(href: String, sha256: String, size: Int) {
        self.href = href
        self.sha256 = sha256
        self.size = size
    }
}

/// `ag-snapshot-manifest/1`: a full snapshot as a signed header and a list of chunks, each named by
/// its hash, so that no part of the transfer is held whole in memory (docs/hq-protocol.md).
public struct SnapshotManifest: Sendable, Codable, Equatable {
    public static let format = "ag-snapshot-manifest/1"

    public var format: String
    public var issuer: String
    public var seq: Int64
    public var generatedAt: Int64
    public var maxAge: Int64
    public var keys: JWKSDocument
    public var doors: [DoorRecord]
    public var counts: SnapshotCounts
    public var chunks: [SnapshotChunkEntry]

    enum CodingKeys: String, CodingKey {
        case format, issuer, seq, keys, doors, counts, chunks
        case generatedAt = "generated_at"
        case maxAge = "max_age"
    }

    public var header: SnapshotHeader {
        SnapshotHeader(issuer: issuer, seq: seq, generatedAt: generatedAt, maxAge: maxAge, keys: keys, doors: doors)
    }

    /// The `format` member of a JSON object, without decoding the rest.
    public static func declaredFormat(of data: Data) -> String? {
        struct Head: Decodable { var format: String? }
        return (try? JSONDecoder().decode(Head.self, from: data))?.format
    }

    /// Parses and checks a manifest: header, and each chunk's path, hash and size.
    public static func parse(_ data: Data) throws(HQProtocolError) -> SnapshotManifest {
        let manifest: SnapshotManifest
        do { manifest = try JSONDecoder().decode(SnapshotManifest.self, from: data) } catch {
            throw .badSnapshot("manifest: \(SnapshotDocument.describe(error))")
        }
        guard manifest.format == format else {
            throw .badSnapshot("format \"\(manifest.format)\" is not \(format)")
        }
        try manifest.header.validate()
        for (index, chunk) in manifest.chunks.enumerated() {
            // Same origin only: a path under HQ's base URL, never a URL of its own.
            guard chunk.href.hasPrefix("/"), !chunk.href.hasPrefix("//"), !chunk.href.contains("://"),
                !chunk.href.split(separator: "/").contains(".."), !chunk.href.contains("\\")
            else { throw .badSnapshot("chunk \(index): \"\(chunk.href)\" is not a path under HQ's base URL") }
            guard chunk.sha256.utf8.count == 64,
                chunk.sha256.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
            else { throw .badSnapshot("chunk \(index): sha256 is not 64 lowercase hex digits") }
            guard chunk.size > 0 else { throw .badSnapshot("chunk \(index): size must be positive") }
        }
        guard manifest.counts.members >= 0, manifest.counts.bookings >= 0, manifest.counts.revoked >= 0 else {
            throw .badSnapshot("manifest counts must not be negative")
        }
        return manifest
    }
}

/// The records of one chunk: a JSON object with `members`, `bookings` and/or `revoked` arrays
/// (keys and doors come in the manifest only).
public enum SnapshotChunk {
    public static func parse(_ data: Data) throws(HQProtocolError) -> SnapshotRecords {
        let records: SnapshotRecords
        do { records = try JSONDecoder().decode(SnapshotRecords.self, from: data) } catch {
            throw .badSnapshot("chunk: \(SnapshotDocument.describe(error))")
        }
        guard records.keys == nil, records.doors == nil else {
            throw .badSnapshot("chunk: keys and doors belong in the manifest, not in a chunk")
        }
        try records.validate()
        return records
    }
}
