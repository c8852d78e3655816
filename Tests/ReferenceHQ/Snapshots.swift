import AccessToken
import Crypto
import Foundation
import GRDB
import HQProtocol

/// A seed file: the records of a snapshot, without what HQ adds itself (`format`, `seq`,
/// `generated_at`, and its pass-signing key in `keys`).
///
/// ```json
/// {"issuer": "hq.dev.example", "max_age": 604800,
///  "doors": [{"id": "JKT1/FRONT", "name": "Front door", "mode": "normal", "tz": "Asia/Jakarta"}],
///  "members": [{"id": "member-8812", "blocked": false}],
///  "bookings": [], "revoked": []}
/// ```
///
/// Every member is optional; arrays default to empty and `max_age` to a week. `issuer`, when
/// present, must be the database's. Extra `keys` (a JWKS) are published beside HQ's own, whose
/// kid wins. Other members (a whole snapshot's `format`, `seq`, …) are ignored.
struct Seed: Decodable, Sendable {
    static let defaultMaxAge: Int64 = 604_800

    var issuer: String?
    var maxAge: Int64
    var keys: [JSONObject]
    var doors: [DoorRecord]
    var members: [MemberRecord]
    var bookings: [BookingRecord]
    var revoked: [Revocation]

    enum CodingKeys: String, CodingKey {
        case issuer, keys, doors, members, bookings, revoked
        case maxAge = "max_age"
    }

    init(
        issuer: String? = nil,
        maxAge: Int64 = Self.defaultMaxAge,
        keys: [JSONObject] = [],
        doors: [DoorRecord] = [],
        members: [MemberRecord] = [],
        bookings: [BookingRecord] = [],
        revoked: [Revocation] = []
    ) {
        self.issuer = issuer
        self.maxAge = maxAge
        self.keys = keys
        self.doors = doors
        self.members = members
        self.bookings = bookings
        self.revoked = revoked
    }

    /// The records of a published snapshot, to publish again with a change.
    init(_ snapshot: Snapshot) {
        self.init(
            issuer: snapshot.issuer,
            maxAge: snapshot.maxAge,
            keys: snapshot.keys.keys,
            doors: snapshot.doors,
            members: snapshot.members,
            bookings: snapshot.bookings,
            revoked: snapshot.revoked
        )
    }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        issuer = try container.decodeIfPresent(String.self, forKey: .issuer)
        maxAge = try container.decodeIfPresent(Int64.self, forKey: .maxAge) ?? Self.defaultMaxAge
        keys = try container.decodeIfPresent(KeySet.self, forKey: .keys)?.keys ?? []
        doors = try container.decodeIfPresent([DoorRecord].self, forKey: .doors) ?? []
        members = try container.decodeIfPresent([MemberRecord].self, forKey: .members) ?? []
        bookings = try container.decodeIfPresent([BookingRecord].self, forKey: .bookings) ?? []
        revoked = try container.decodeIfPresent([Revocation].self, forKey: .revoked) ?? []
    }

    static func load(path: String) throws(HQError) -> Seed {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .usage("cannot read the seed file \(path)")
        }
        do {
            return try JSONDecoder().decode(Seed.self, from: data)
        } catch {
            throw .usage("seed \(path): \(describe(error))")
        }
    }

    /// Names the JSON path of a decoding error, so that the bad field can be found.
    static func describe(_ error: any Error) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let text = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return text.isEmpty ? "the document" : String(text.drop { $0 == "." })
        }
        switch error as? DecodingError {
        case .keyNotFound(let key, let context)?: return "\(path(context)): missing \"\(key.stringValue)\""
        case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?, .dataCorrupted(let context)?:
            return "\(path(context)): \(context.debugDescription)"
        default: return "\(error)"
        }
    }
}

/// A JWKS, its keys kept verbatim.
struct KeySet: Codable, Sendable, Equatable {
    var keys: [JSONObject]
}

/// The JSON of an `ag-snapshot/1` document, as HQ writes it.
private struct SnapshotBody: Encodable {
    let format = Snapshot.format
    var issuer: String
    var seq: Int64
    var generatedAt: Int64
    var maxAge: Int64
    var keys: KeySet
    var doors: [DoorRecord]
    var members: [MemberRecord]
    var bookings: [BookingRecord]
    var revoked: [Revocation]

    enum CodingKeys: String, CodingKey {
        case format, issuer, seq, keys, doors, members, bookings, revoked
        case generatedAt = "generated_at"
        case maxAge = "max_age"
    }
}

/// The JSON of one snapshot chunk: part of one table (docs/hq-protocol.md, "Chunked snapshots").
private struct ChunkBody: Encodable {
    var members: [MemberRecord]?
    var bookings: [BookingRecord]?
    var revoked: [Revocation]?
}

/// The JSON of an `ag-snapshot-manifest/1` document.
private struct ManifestBody: Encodable {
    let format = SnapshotManifest.format
    var issuer: String
    var seq: Int64
    var generatedAt: Int64
    var maxAge: Int64
    var keys: KeySet
    var doors: [DoorRecord]
    var counts: SnapshotCounts
    var chunks: [SnapshotChunkEntry]

    enum CodingKeys: String, CodingKey {
        case format, issuer, seq, keys, doors, counts, chunks
        case generatedAt = "generated_at"
        case maxAge = "max_age"
    }
}

/// The JSON of an `ag-snapshot-delta/1` document. Empty parts are left out.
private struct DeltaBody: Encodable {
    /// The records a delta adds or replaces.
    struct Upserts: Encodable {
        var keys: KeySet?
        var doors: [DoorRecord]?
        var members: [MemberRecord]?
        var bookings: [BookingRecord]?
        var revoked: [Revocation]?

        var isEmpty: Bool { keys == nil && doors == nil && members == nil && bookings == nil && revoked == nil }
    }

    /// The ids a delta removes.
    struct Deletions: Encodable {
        var keys: [String]?
        var doors: [String]?
        var members: [String]?
        var bookings: [String]?
        var revoked: [String]?

        var isEmpty: Bool { keys == nil && doors == nil && members == nil && bookings == nil && revoked == nil }
    }

    let format = SnapshotDelta.format
    var baseSeq: Int64
    var seq: Int64
    var generatedAt: Int64
    var maxAge: Int64
    var upsert: Upserts?
    var delete: Deletions?

    enum CodingKeys: String, CodingKey {
        case format, seq, upsert, delete
        case baseSeq = "base_seq"
        case generatedAt = "generated_at"
        case maxAge = "max_age"
    }

    /// The delta that turns `base` into `current`, or nil when none can (another issuer).
    init?(from base: Snapshot, to current: Snapshot) {
        guard base.issuer == current.issuer, base.seq < current.seq else { return nil }
        baseSeq = base.seq
        seq = current.seq
        generatedAt = current.generatedAt
        maxAge = current.maxAge
        var upsert = Upserts()
        var delete = Deletions()
        func nonEmpty<T>(_ array: [T]) -> [T]? { array.isEmpty ? nil : array }
        let doors = Self.changes(base.doors, current.doors, id: \.id)
        let members = Self.changes(base.members, current.members, id: \.id)
        let bookings = Self.changes(base.bookings, current.bookings, id: \.id)
        let revoked = Self.changes(base.revoked, current.revoked, id: \.pass)
        (upsert.doors, delete.doors) = (nonEmpty(doors.upsert), nonEmpty(doors.delete))
        (upsert.members, delete.members) = (nonEmpty(members.upsert), nonEmpty(members.delete))
        (upsert.bookings, delete.bookings) = (nonEmpty(bookings.upsert), nonEmpty(bookings.delete))
        (upsert.revoked, delete.revoked) = (nonEmpty(revoked.upsert), nonEmpty(revoked.delete))
        // Keys are replaced per kid on the gateway, so a kid whose keys changed is sent whole.
        let oldKeys = Dictionary(grouping: base.keys.keys, by: Self.kid)
        let newKeys = Dictionary(grouping: current.keys.keys, by: Self.kid)
        let changedKeys = current.keys.keys.filter { oldKeys[Self.kid($0)] != newKeys[Self.kid($0)] }
        upsert.keys = changedKeys.isEmpty ? nil : KeySet(keys: changedKeys)
        delete.keys = nonEmpty(oldKeys.keys.filter { newKeys[$0] == nil }.sorted())
        self.upsert = upsert.isEmpty ? nil : upsert
        self.delete = delete.isEmpty ? nil : delete
    }

    /// Records that are new or changed in `new`, and ids that `new` no longer has.
    static func changes<R: Equatable>(_ old: [R], _ new: [R], id: (R) -> String) -> (upsert: [R], delete: [String]) {
        let oldByID = Dictionary(old.map { (id($0), $0) }, uniquingKeysWith: { first, _ in first })
        let newIDs = Set(new.map(id))
        return (new.filter { oldByID[id($0)] != $0 }, old.map(id).filter { !newIDs.contains($0) })
    }

    static func kid(_ key: JSONObject) -> String {
        let object = (try? JSONSerialization.jsonObject(with: Data(key.json.utf8))) as? [String: Any]
        return object?["kid"] as? String ?? ""
    }
}

/// What `access-hq-dev snapshot` published.
struct PublishedSnapshot: Sendable, CustomStringConvertible {
    var seq: Int64
    var doors: Int
    var members: Int
    var bookings: Int
    var revoked: Int

    var description: String {
        "published snapshot seq \(seq): \(doors) doors, \(members) members, \(bookings) bookings, \(revoked) revoked"
    }
}

/// What `GET /v1/snapshot` sends.
enum SnapshotAnswer: Sendable {
    case none
    case unchanged(etag: String)
    case signed([UInt8], etag: String)
}

/// Signed deltas already made, by base seq; they are only valid for one current seq.
actor DeltaCache {
    private var current: Int64 = -1
    private var signed: [Int64: [UInt8]] = [:]

    func get(base: Int64, current seq: Int64) -> [UInt8]? {
        seq == current ? signed[base] : nil
    }

    func put(_ document: [UInt8], base: Int64, current seq: Int64) {
        if seq != current {
            current = seq
            signed = [:]
        }
        signed[base] = document
    }
}

extension HQDatabase {
    /// Publishes `seed` as the next snapshot version: HQ's key in `keys`, `seq` one past the last,
    /// `generated_at` now. The document is checked as a gateway would check it, then signed.
    func publishSnapshot(_ seed: Seed, now: Double) throws(HQError) -> PublishedSnapshot {
        let identity = self.identity
        if let issuer = seed.issuer, issuer != identity.issuer {
            throw .usage("the seed's issuer \(issuer) is not this HQ's issuer \(identity.issuer)")
        }
        let ownKey: JSONObject
        do {
            ownKey = try JSONDecoder().decode(JSONObject.self, from: JSON.encoder.encode(identity.passPublicJWK))
        } catch {
            throw HQError(.internal, "cannot encode the pass key: \(error)")
        }
        let extraKeys = seed.keys.filter { DeltaBody.kid($0) != HQIdentity.passKid }
        return try writeNow { db in
            let seq = (try Int64.fetchOne(db, sql: "SELECT max(seq) FROM snapshots") ?? 0) + 1
            let body = SnapshotBody(
                issuer: identity.issuer,
                seq: seq,
                generatedAt: Int64(now),
                maxAge: seed.maxAge,
                keys: KeySet(keys: [ownKey] + extraKeys),
                doors: seed.doors,
                members: seed.members,
                bookings: seed.bookings,
                revoked: seed.revoked
            )
            let json = try JSON.encoder.encode(body)
            do { _ = try SnapshotDocument.parse(json) } catch { throw HQError.usage("seed: \(error)") }
            var entries: [SnapshotChunkEntry] = []
            func addChunks<T>(_ rows: [T], _ body: (ArraySlice<T>) -> ChunkBody) throws {
                for start in stride(from: 0, to: rows.count, by: Self.chunkRecords) {
                    let raw = try JSON.encoder.encode(body(rows[start..<min(rows.count, start + Self.chunkRecords)]))
                    let chunk = Gzip.compress(Array(raw))
                    let index = entries.count
                    try db.execute(
                        sql: "INSERT INTO snapshot_chunks(seq, idx, data, raw_size) VALUES (?, ?, ?, ?)",
                        arguments: [seq, index, Data(chunk), raw.count]
                    )
                    let digest = SHA256.hash(data: chunk).map { String(format: "%02x", $0) }.joined()
                    entries.append(
                        SnapshotChunkEntry(href: "/v1/snapshot/\(seq)/chunks/\(index)", sha256: digest, size: chunk.count)
                    )
                }
            }
            try addChunks(seed.members) { ChunkBody(members: Array($0)) }
            try addChunks(seed.bookings) { ChunkBody(bookings: Array($0)) }
            try addChunks(seed.revoked) { ChunkBody(revoked: Array($0)) }
            let manifest = ManifestBody(
                issuer: body.issuer,
                seq: seq,
                generatedAt: body.generatedAt,
                maxAge: body.maxAge,
                keys: body.keys,
                doors: body.doors,
                counts: SnapshotCounts(
                    members: seed.members.count,
                    bookings: seed.bookings.count,
                    revoked: seed.revoked.count
                ),
                chunks: entries
            )
            let manifestJSON = try JSON.encoder.encode(manifest)
            do { _ = try SnapshotManifest.parse(manifestJSON) } catch { throw HQError.usage("seed: \(error)") }
            let signed = try SignedDocument.sign(
                Array(manifestJSON),
                with: identity.rootKey,
                kid: HQIdentity.rootKid
            )
            try db.execute(
                sql: "INSERT INTO snapshots(seq, json, signed, created_at) VALUES (?, ?, ?, ?)",
                arguments: [seq, json, Data(signed), Int64(now)]
            )
            return PublishedSnapshot(
                seq: seq,
                doors: seed.doors.count,
                members: seed.members.count,
                bookings: seed.bookings.count,
                revoked: seed.revoked.count
            )
        }
    }

    /// Records per chunk: a few hundred kilobytes of JSON, a few tens gzipped. Small enough that a
    /// cut transfer re-sends little, large enough that a million bookings is a few hundred requests.
    static let chunkRecords = 5000
    /// A delta larger than this is not sent: the gateway gets the chunked snapshot instead.
    static let maxDeltaBytes = 4 << 20

    /// The latest published snapshot, decoded; nil before the first.
    func latestSnapshot() throws(HQError) -> Snapshot? {
        let json = try readNow { db in
            try Data.fetchOne(db, sql: "SELECT json FROM snapshots ORDER BY seq DESC LIMIT 1")
        }
        guard let json else { return nil }
        guard case .full(let snapshot)? = try? SnapshotDocument.parse(json) else {
            throw HQError(.internal, "the latest snapshot in the database does not parse")
        }
        return snapshot
    }

    /// Makes sure the published snapshot holds `doors` (mode normal, time zone UTC, no schedule for
    /// those it lacks), publishing a new version when it does not: a fresh HQ works with no seed.
    /// Returns what was published, if anything.
    func ensureDoors(_ doors: [String], now: Double) throws(HQError) -> PublishedSnapshot? {
        let latest = try latestSnapshot()
        var seed = latest.map(Seed.init) ?? Seed()
        let known = Set(seed.doors.map(\.id))
        let missing = doors.filter { !known.contains($0) }
        guard latest == nil || !missing.isEmpty else { return nil }
        seed.doors += missing.map { DoorRecord(id: $0, name: nil, mode: .normal, tz: "UTC", schedule: nil) }
        return try publishSnapshot(seed, now: now)
    }

    /// Makes sure the published snapshot knows `member`, publishing a new version when it does not.
    func ensureMember(_ member: String, now: Double) throws(HQError) -> PublishedSnapshot? {
        var seed = try latestSnapshot().map { Seed($0) } ?? Seed()
        guard !seed.members.contains(where: { $0.id == member }) else { return nil }
        seed.members.append(MemberRecord(id: member, blocked: false))
        return try publishSnapshot(seed, now: now)
    }

    /// One stored chunk of snapshot `seq`, as sent.
    func snapshotChunk(seq: Int64, index: Int64) async throws(HQError) -> [UInt8]? {
        try await read { db in
            try Data.fetchOne(
                db,
                sql: "SELECT data FROM snapshot_chunks WHERE seq = ? AND idx = ?",
                arguments: [seq, index]
            ).map { Array($0) }
        }
    }

    func latestSnapshotSeq() throws(HQError) -> Int64? {
        try readNow { db in try Int64.fetchOne(db, sql: "SELECT max(seq) FROM snapshots") }
    }

    /// The answer to `GET /v1/snapshot`: 304 when `ifNoneMatch` names the current ETag or `since`
    /// is the current seq; else a signed delta from `since` when HQ still has that version and
    /// `deltas` is on; else the full snapshot.
    func snapshotAnswer(
        since: Int64?,
        ifNoneMatch: [String],
        deltas: DeltaCache?
    ) async throws(HQError) -> SnapshotAnswer {
        guard let seq = try await read({ db in try Int64.fetchOne(db, sql: "SELECT max(seq) FROM snapshots") }) else {
            return .none
        }
        let etag = "\"\(seq)\""
        if since == seq || ifNoneMatch.contains(etag) || ifNoneMatch.contains("*") { return .unchanged(etag: etag) }
        if let since, since > 0, since < seq, let deltas {
            if let cached = await deltas.get(base: since, current: seq) { return .signed(cached, etag: etag) }
            if let delta = try await signedDelta(from: since, to: seq) {
                await deltas.put(delta, base: since, current: seq)
                return .signed(delta, etag: etag)
            }
        }
        let signed = try await read { db in
            try Data.fetchOne(db, sql: "SELECT signed FROM snapshots WHERE seq = ?", arguments: [seq])
        }
        return .signed(Array(signed ?? Data()), etag: etag)
    }

    /// A signed delta from version `base` to `seq`, or nil when HQ cannot make one.
    private func signedDelta(from base: Int64, to seq: Int64) async throws(HQError) -> [UInt8]? {
        let documents = try await read { db in
            try Data.fetchAll(
                db,
                sql: "SELECT json FROM snapshots WHERE seq IN (?, ?) ORDER BY seq",
                arguments: [base, seq]
            )
        }
        guard documents.count == 2,
            case .full(let old)? = try? SnapshotDocument.parse(documents[0]),
            case .full(let new)? = try? SnapshotDocument.parse(documents[1]),
            let delta = DeltaBody(from: old, to: new)
        else { return nil }
        do {
            let json = try JSON.encoder.encode(delta)
            // A large change goes as a chunked snapshot: the gateway bounds a signed document.
            guard json.count <= Self.maxDeltaBytes else { return nil }
            // Checked as the gateway will check it; a delta that fails is not sent.
            guard case .delta? = try? SnapshotDocument.parse(json) else { return nil }
            return try SignedDocument.sign(Array(json), with: identity.rootKey, kid: HQIdentity.rootKid)
        } catch {
            throw HQError(.internal, "cannot sign a delta: \(error)")
        }
    }
}
