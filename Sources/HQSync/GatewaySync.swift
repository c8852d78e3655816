import AccessToken
import Crypto
import Foundation
import HQProtocol
import KeyCache
import Synchronization

/// What the gateway keeps of its enrolment, in the store's `gateway_state`.
public struct EnrolmentRecord: Sendable, Equatable {
    public var gatewayID: String
    public var issuer: String
    public var hq: HQLocation
    /// The pinned HQ root public key.
    public var rootJWK: [String: String]
    public var doors: [String]

    static let keys: [StateKey] = [.gatewayID, .hqURL, .hqIssuer, .hqRootJWK, .hqDoors]

    /// The stored enrolment, or nil before provisioning.
    public static func load(from store: GatewayStore) throws(HQSyncError) -> EnrolmentRecord? {
        let values: [StateKey: String]
        do { values = try store.stateValues(keys) } catch { throw .store("\(error)") }
        guard let id = values[.gatewayID], let url = values[.hqURL], let issuer = values[.hqIssuer],
            let root = values[.hqRootJWK].flatMap({
                try? JSONDecoder().decode([String: String].self, from: Data($0.utf8))
            })
        else { return nil }
        let doors = values[.hqDoors].flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) } ?? []
        return EnrolmentRecord(gatewayID: id, issuer: issuer, hq: try HQLocation(url), rootJWK: root, doors: doors)
    }

    func save(to store: GatewayStore) throws(HQSyncError) {
        let root = String(decoding: HQClient.json(rootJWK), as: UTF8.self)
        let doorList = String(decoding: HQClient.json(doors), as: UTF8.self)
        do {
            try store.setStateValues([
                .gatewayID: gatewayID, .hqURL: hq.base, .hqIssuer: issuer, .hqRootJWK: root,
                .hqDoors: doorList,
            ])
        } catch { throw .store("\(error)") }
    }
}

/// How the last sync went, for `gatewayctl sync status`, metrics and `doctor`.
public struct SyncStatus: Sendable, Equatable {
    public var lastSnapshotSync: Double?
    public var lastUpload: Double?
    public var lastCommandPoll: Double?
    public var lastError: String?
    /// HQ revoked this gateway's key: it decides offline from now on.
    public var revoked = false
    /// Why the last snapshot document was refused, until one is applied.
    public var lastRefusal: String?
    /// The last chunked transfer, as far as it went.
    public var lastTransfer: TransferReport?
}

/// How a chunked snapshot transfer went: what it fetched, and where it resumed.
public struct TransferReport: Sendable, Equatable {
    public var seq: Int64
    /// Chunks in the manifest.
    public var chunks: Int
    /// The first chunk this pull fetched: 0, unless it resumed a cut transfer.
    public var resumedAt: Int
    /// The size of all chunks as sent.
    public var totalWireBytes: Int
    /// Chunks fetched by this pull.
    public var fetched = 0
    /// Bytes fetched by this pull, as sent (gzip).
    public var wireBytes = 0
    /// The same, inflated.
    public var rawBytes = 0
}

/// The gateway's side of the HQ protocol: pulls signed snapshots, uploads the audit backlog, and
/// takes signed commands, each step recorded in the audit log. One instance per gateway; its
/// methods may run concurrently (each keeps to its own part of the store's state).
public final class GatewaySync: Sendable {
    public let store: GatewayStore
    public let client: HQClient
    public let enrolment: EnrolmentRecord
    public let clock: ClockTrust
    let identity: DeviceIdentity
    let rootKey: VerificationKey
    let state = Mutex(SyncStatus())
    /// Carries out accepted commands (the door inbox, a resync); called after they are recorded.
    let onCommand: @Sendable (HQCommand) -> Void
    /// Called after each snapshot pull, applied or not: the snapshot, or HQ's time (and so whether
    /// the clock is trusted), may have changed. The daemon brings the doors to their modes there.
    let onSnapshotPull: @Sendable () -> Void
    /// How far a command's validity window may be off the gateway's clock.
    let commandSkew: Double
    /// Ends the snapshot loop's pause on a requested resync.
    let resyncWakeup = Wakeup()
    /// The sizes accepted from HQ.
    let limits: TransferLimits

    public init(
        store: GatewayStore,
        enrolment: EnrolmentRecord,
        identity: DeviceIdentity,
        clock: ClockTrust,
        client: HQClient? = nil,
        commandSkew: Double = 30,
        limits: TransferLimits = TransferLimits(),
        onCommand: @escaping @Sendable (HQCommand) -> Void = { _ in },
        onSnapshotPull: @escaping @Sendable () -> Void = {}
    ) throws(HQSyncError) {
        self.onSnapshotPull = onSnapshotPull
        self.commandSkew = commandSkew
        self.limits = limits
        self.store = store
        self.enrolment = enrolment
        self.identity = identity
        self.clock = clock
        self.client =
            client
            ?? HQClient(location: enrolment.hq, identity: identity) { date, now in
                clock.observeHQ(date: date, now: now)
            }
        rootKey = try HQSyncError.checking { () throws(HQProtocolError) in try SignedDocument.rootKey(jwk: enrolment.rootJWK) }
        self.onCommand = onCommand
    }

    /// The installer's flow: makes (or loads) the device key, enrols with `code`, pins the root
    /// key and stores the enrolment. The first sync is the caller's next step.
    public static func provision(
        store: GatewayStore,
        keyPath: String,
        hq: HQLocation,
        code: String,
        name: String,
        clock: ClockTrust
    ) async throws(HQSyncError) -> (EnrolmentRecord, DeviceIdentity) {
        let identity = try DeviceIdentity.load(path: keyPath, create: true)
        let client = HQClient(location: hq, identity: identity) { date, now in clock.observeHQ(date: date, now: now) }
        let answer = try await client.enrol(code: code, name: name, now: Date().timeIntervalSince1970)
        let record = EnrolmentRecord(
            gatewayID: answer.gatewayID,
            issuer: answer.issuer,
            hq: hq,
            rootJWK: answer.rootJWK,
            doors: answer.doors
        )
        try record.save(to: store)
        try audit(store, kind: "sync", reason: "enrolled", detail: ["gateway": answer.gatewayID, "hq": hq.base])
        return (record, identity)
    }

    public var status: SyncStatus { state.withLock { $0 } }

    /// Records a success now, in memory and in the store (for `gatewayctl sync status`).
    func noteSuccess(_ key: StateKey, _ field: WritableKeyPath<SyncStatus, Double?> & Sendable) throws(HQSyncError) {
        let now = Date().timeIntervalSince1970
        state.withLock { $0[keyPath: field] = now }
        do { try store.setStateValues([key: String(Int(now))]) } catch { throw .store("\(error)") }
    }

    func token() throws(HQSyncError) -> String {
        try identity.token(subject: enrolment.gatewayID, audience: enrolment.issuer, now: Date().timeIntervalSince1970)
    }

    /// Runs `body`, noting a revocation or an error in the status.
    func tracked<T>(_ body: () async throws(HQSyncError) -> T) async throws(HQSyncError) -> T {
        do {
            let value = try await body()
            state.withLock { $0.lastError = nil }
            return value
        } catch {
            let revoked: Bool
            if case .revoked = error { revoked = true } else { revoked = false }
            state.withLock { status in
                status.lastError = "\(error)"
                if revoked { status.revoked = true }
            }
            // Kept in the store too, so `gatewayctl sync status` and `doctor` can say so.
            if revoked { try? store.setStateValues([.hqRevoked: "1"]) }
            throw error
        }
    }

    static func audit(
        _ store: GatewayStore,
        kind: String,
        reason: String,
        granted: Bool = true,
        door: String? = nil,
        detail: [String: String]
    )
        throws(HQSyncError)
    {
        do {
            try store.appendAudit(
                AuditEntry(
                    tsMs: Int64(Date().timeIntervalSince1970 * 1000),
                    door: door,
                    kind: kind,
                    granted: granted,
                    reason: reason,
                    detail: detail
                )
            )
        } catch { throw .store("\(error)") }
    }

    // MARK: - Snapshots

    public enum SnapshotOutcome: Sendable, Equatable {
        case unchanged
        case applied(seq: Int64)
    }

    /// Pulls the snapshot: HQ answers with a signed delta on top of the stored seq, or a signed
    /// manifest whose chunks are then fetched, checked by hash and staged one at a time (resuming a
    /// cut transfer), or 304. Every signature is checked with the pinned key, and issuer and seq
    /// too. A document that cannot be applied is recorded loudly (``SyncStatus/lastRefusal``, the
    /// audit log, `doctor`); when it was answered to `since`, a full snapshot is asked for at once.
    /// `full` asks for the full snapshot whatever the store holds.
    public func pullSnapshot(full: Bool = false) async throws(HQSyncError) -> SnapshotOutcome {
        defer { onSnapshotPull() }
        return try await tracked { () async throws(HQSyncError) -> SnapshotOutcome in
            let held: (seq: Int64?, etag: String?)
            do {
                held = (try store.snapshotHeader()?.seq, try store.stateValues([.snapshotEtag])[.snapshotEtag])
            } catch { throw .store("\(error)") }
            if !full {
                var wasManifest = false
                do throws(HQSyncError) {
                    let reply = try await fetchSnapshot(since: held.seq, etag: held.seq == nil ? nil : held.etag)
                    guard case .signed(let signed, let etag) = reply else {
                        try noteSuccess(.lastSnapshotSync, \.lastSnapshotSync)
                        return .unchanged
                    }
                    return try await applySigned(signed, etag: etag, wasManifest: &wasManifest)
                } catch {
                    // A delta that cannot be applied (another base, refused, too large) must not
                    // leave the board on its old seq: the full snapshot, once.
                    guard held.seq != nil, !wasManifest, Self.isRefusal(error) else { throw error }
                }
            }
            guard case .signed(let document, let etag) = try await fetchSnapshot(since: nil, etag: nil) else {
                throw .badResponse("HQ answered a request for the full snapshot with 304")
            }
            var wasManifest = false
            return try await applySigned(document, etag: etag, wasManifest: &wasManifest)
        }
    }

    /// `GET /v1/snapshot`; a document over `signed_document_bytes` is a refusal, recorded as one.
    func fetchSnapshot(since: Int64?, etag: String?) async throws(HQSyncError) -> HQClient.SnapshotReply {
        do {
            return try await client.snapshot(
                token: try token(),
                since: since,
                etag: etag,
                limit: limits.signedDocumentBytes
            )
        } catch {
            try noteRefusal(error)
            throw error
        }
    }

    /// Whether `error` means the document was refused, rather than not received.
    static func isRefusal(_ error: HQSyncError) -> Bool {
        switch error {
        case .refused, .limitExceeded: return true
        default: return false
        }
    }

    /// Opens a signed snapshot answer and applies it: a manifest by transfer, a delta or a small
    /// full snapshot at once. A refusal is recorded (``noteRefusal(_:)``) and thrown.
    func applySigned(_ signed: [UInt8], etag: String?, wasManifest: inout Bool) async throws(HQSyncError)
        -> SnapshotOutcome
    {
        do throws(HQSyncError) {
            return try await openAndApply(signed, etag: etag, wasManifest: &wasManifest)
        } catch {
            try noteRefusal(error)
            throw error
        }
    }

    func openAndApply(_ signed: [UInt8], etag: String?, wasManifest: inout Bool) async throws(HQSyncError)
        -> SnapshotOutcome
    {
        let json = Data(
            try HQSyncError.checking { () throws(HQProtocolError) in
                try SignedDocument.open(signed, rootKey: rootKey, maxBytes: limits.signedDocumentBytes)
            }
        )
        let info: SnapshotInfo
        if SnapshotManifest.declaredFormat(of: json) == SnapshotManifest.format {
            wasManifest = true
            let manifest: SnapshotManifest
            do { manifest = try SnapshotManifest.parse(json) } catch { throw HQSyncError(error) }
            info = try await transfer(manifest, digest: Self.hex(SHA256.hash(data: signed)))
        } else {
            let document: SnapshotDocument
            do { document = try SnapshotDocument.parse(json) } catch { throw HQSyncError(error) }
            if case .full(let snapshot) = document, snapshot.issuer != enrolment.issuer {
                throw HQSyncError.refused("the snapshot's issuer \(snapshot.issuer) is not \(enrolment.issuer)")
            }
            do { info = try store.apply(document) } catch { throw HQSyncError.refused("\(error)") }
        }
        do {
            try store.setStateValues([.snapshotEtag: etag ?? "\"\(info.seq)\"", .snapshotRefused: ""])
        } catch { throw HQSyncError.store("\(error)") }
        state.withLock { $0.lastRefusal = nil }
        try Self.audit(store, kind: "sync", reason: "snapshot_applied", detail: ["seq": String(info.seq), "source": "hq"])
        try noteSuccess(.lastSnapshotSync, \.lastSnapshotSync)
        return .applied(seq: info.seq)
    }

    /// Where a chunked transfer stands, kept in the store so that a cut transfer resumes.
    struct TransferProgress: Codable, Equatable {
        var seq: Int64
        /// SHA-256 of the signed manifest: a resume continues the very same document.
        var digest: String
        /// The store's staging token.
        var token: String
        /// The first chunk not yet staged.
        var next: Int
    }

    /// Fetches, checks and stages each chunk of `manifest` from where an earlier cut transfer of the
    /// same manifest stopped, then swaps the staged snapshot in.
    func transfer(_ manifest: SnapshotManifest, digest: String) async throws(HQSyncError) -> SnapshotInfo {
        guard manifest.issuer == enrolment.issuer else {
            throw .refused("the snapshot's issuer \(manifest.issuer) is not \(enrolment.issuer)")
        }
        try TransferLimits.check("chunks", limits.chunks, manifest.chunks.count)
        try TransferLimits.check("records", limits.records, manifest.counts.total)
        for chunk in manifest.chunks { try TransferLimits.check("chunk_bytes", limits.chunkBytes, chunk.size) }
        var progress: TransferProgress
        do {
            if let stored = try store.snapshotHeader()?.seq, manifest.seq <= stored {
                throw HQSyncError.refused("\(KeyCacheError.staleSeq(stored: stored, received: manifest.seq))")
            }
            let saved = try store.stateValues([.snapshotTransfer])[.snapshotTransfer].flatMap {
                try? JSONDecoder().decode(TransferProgress.self, from: Data($0.utf8))
            }
            if let saved, saved.seq == manifest.seq, saved.digest == digest, try store.stagingToken() == saved.token {
                progress = saved
            } else {
                progress = TransferProgress(seq: manifest.seq, digest: digest, token: try store.beginStaging(seq: manifest.seq), next: 0)
            }
        } catch let error as HQSyncError {
            throw error
        } catch {
            throw .refused("\(error)")
        }
        var report = TransferReport(
            seq: manifest.seq,
            chunks: manifest.chunks.count,
            resumedAt: progress.next,
            totalWireBytes: manifest.chunks.reduce(0) { $0 + $1.size }
        )
        while progress.next < manifest.chunks.count {
            let entry = manifest.chunks[progress.next]
            let bytes = try await client.chunk(token: try token(), href: entry.href, size: entry.size)
            report.fetched += 1
            report.wireBytes += bytes.count
            state.withLock { $0.lastTransfer = report }
            guard bytes.count == entry.size, Self.hex(SHA256.hash(data: bytes)) == entry.sha256 else {
                throw .refused("chunk \(progress.next) (\(entry.href)) does not match its manifest's SHA-256 and size")
            }
            let json: [UInt8]
            do { json = try Gzip.inflate(bytes, limit: limits.chunkInflatedBytes) } catch {
                if case .tooLarge(let limit) = error {
                    throw .limitExceeded(limit: "chunk_inflated_bytes", max: limit, came: nil)
                }
                throw .refused("chunk \(progress.next) (\(entry.href)): \(error)")
            }
            report.rawBytes += json.count
            progress.next += 1
            do {
                let records = try SnapshotChunk.parse(Data(json))
                let saved = String(decoding: try JSONEncoder().encode(progress), as: UTF8.self)
                try store.stage(records, token: progress.token, progress: [.snapshotTransfer: saved])
            } catch {
                throw .refused("chunk \(progress.next - 1) (\(entry.href)): \(error)")
            }
            state.withLock { $0.lastTransfer = report }
        }
        do {
            let info = try store.commitStaging(token: progress.token, header: manifest.header, expected: manifest.counts)
            try store.setStateValues([.snapshotTransfer: ""])
            return info
        } catch {
            throw .refused("\(error)")
        }
    }

    /// Records a refused document loudly: the audit log, the status, the store (for `gatewayctl
    /// sync status`, `/metrics` and `doctor`). Other failures (HQ unreachable) are retried quietly.
    func noteRefusal(_ error: HQSyncError) throws(HQSyncError) {
        guard Self.isRefusal(error) else { return }
        var detail = ["why": "\(error)"]
        if case .limitExceeded(let limit, _, _) = error { detail["limit"] = limit }
        try Self.audit(store, kind: "sync", reason: "snapshot_refused", granted: false, detail: detail)
        let now = Int(Date().timeIntervalSince1970)
        state.withLock { $0.lastRefusal = "\(error)" }
        do {
            let count = Int(try store.stateValues([.snapshotRefusals])[.snapshotRefusals] ?? "0") ?? 0
            try store.setStateValues([.snapshotRefused: "\(now) \(error)", .snapshotRefusals: String(count + 1)])
        } catch { throw .store("\(error)") }
    }

    static func hex(_ digest: SHA256.Digest) -> String {
        digest.map { String(format: "%02x", $0) }.joined()
    }

    // MARK: - Audit upload

    /// Uploads every event past the upload cursor, in batches of `batchSize`, advancing the cursor
    /// only on HQ's acknowledgement. Returns how many events HQ acknowledged.
    @discardableResult
    public func uploadBacklog(batchSize: Int = 1000) async throws(HQSyncError) -> Int {
        try await tracked { () async throws(HQSyncError) -> Int in
            var total = 0
            while true {
                let batch: [AuditEvent]
                do {
                    var query = GatewayStore.AuditQuery()
                    query.afterSeq = try store.uploadCursor()
                    query.limit = batchSize
                    batch = try store.auditEvents(query)
                } catch { throw .store("\(error)") }
                guard let last = batch.last else { break }
                let ack = try await client.upload(
                    token: try token(),
                    batch: Self.uploadBody(gateway: enrolment.gatewayID, batch)
                )
                guard ack.ackedSeq >= batch[0].seq, ack.ackedSeq <= last.seq else {
                    throw .badResponse("HQ acknowledged seq \(ack.ackedSeq) for a batch of \(batch[0].seq)–\(last.seq)")
                }
                do { try store.advanceUploadCursor(to: ack.ackedSeq) } catch { throw .store("\(error)") }
                total += Int(ack.ackedSeq - batch[0].seq + 1)
                try noteSuccess(.lastUpload, \.lastUpload)
                if batch.count < batchSize { break }
            }
            return total
        }
    }

    /// The `POST /v1/events` body for `events`. Each event's `detail` goes out exactly as stored,
    /// the bytes its hash covers, so that any HQ can check the chain without re-encoding it.
    static func uploadBody(gateway: String, _ events: [AuditEvent]) -> [UInt8] {
        var out = "{\"gateway\":\(JSONText.quote(gateway)),\"events\":["
        out.reserveCapacity(events.count * 400)
        for (index, event) in events.enumerated() {
            if index > 0 { out += "," }
            out += event.uploadJSON
        }
        out += "]}"
        return Array(out.utf8)
    }

    /// Events not yet acknowledged by HQ.
    public func backlog() throws(HQSyncError) -> Int {
        do { return try store.uploadBacklog() } catch { throw .store("\(error)") }
    }

    // MARK: - Commands

    /// Long-polls for commands, checks each (signature, gateway, expiry on a trusted clock, not
    /// seen before), records it, and hands the accepted ones to the command handler.
    @discardableResult
    public func pollCommands(wait: Int = 25) async throws(HQSyncError) -> [HQCommand] {
        try await tracked { () async throws(HQSyncError) -> [HQCommand] in
            let cursor: Int64
            do { cursor = Int64(try store.stateValues([.commandCursor])[.commandCursor] ?? "0") ?? 0 } catch {
                throw .store("\(error)")
            }
            let reply = try await client.commands(token: try token(), after: cursor, wait: wait)
            var accepted: [HQCommand] = []
            for (position, signed) in reply.commands {
                if let command = try take(signed) { accepted.append(command) }
                do { try store.setStateValues([.commandCursor: String(position)]) } catch { throw .store("\(error)") }
            }
            if reply.commands.isEmpty, reply.cursor > cursor {
                do { try store.setStateValues([.commandCursor: String(reply.cursor)]) } catch {
                    throw .store("\(error)")
                }
            }
            state.withLock { $0.lastCommandPoll = Date().timeIntervalSince1970 }
            for command in accepted { onCommand(command) }
            return accepted
        }
    }

    /// Checks and records one signed command; nil when refused.
    func take(_ signed: [UInt8]) throws(HQSyncError) -> HQCommand? {
        let now = clock.trustedNow()
        let command: HQCommand
        do {
            command = try HQCommand.open(
                signed,
                rootKey: rootKey,
                gateway: enrolment.gatewayID,
                now: now,
                skew: commandSkew
            )
        } catch {
            try Self.audit(
                store,
                kind: "command",
                reason: "command_refused",
                granted: false,
                detail: ["why": "\(error)"]
            )
            return nil
        }
        // Replay: an id seen before is refused. Ids are kept until their command expires.
        let seen: [String: Double]
        do {
            let text = try store.stateValues([.commandsSeen])[.commandsSeen] ?? "{}"
            seen = (try? JSONDecoder().decode([String: Double].self, from: Data(text.utf8))) ?? [:]
        } catch { throw .store("\(error)") }
        if seen[command.id] != nil {
            try Self.audit(
                store,
                kind: "command",
                reason: "command_refused",
                granted: false,
                detail: ["id": command.id, "why": "command \(command.id) was already carried out (replay)"]
            )
            return nil
        }
        var kept = seen.filter { $0.value + 60 > (now ?? 0) }
        kept[command.id] = command.expiresAt
        do { try store.setStateValues([.commandsSeen: String(decoding: HQClient.json(kept), as: UTF8.self)]) } catch {
            throw .store("\(error)")
        }
        var detail = ["id": command.id]
        var door: String?
        switch command.action {
        case .unlock(let target, let seconds):
            detail["kind"] = "unlock"
            detail["seconds"] = String(seconds)
            door = target
        case .lockdown(let target, let on):
            detail["kind"] = on ? "lockdown_on" : "lockdown_off"
            door = target
            do { try store.setLockdown(door: target, on: on) } catch { throw .store("\(error)") }
        case .resync:
            detail["kind"] = "resync"
            requestResync()
        }
        try Self.audit(store, kind: "command", reason: "command_accepted", door: door, detail: detail)
        return command
    }
}

extension GatewaySync {
    /// How often the loops run when all is well.
    public struct Intervals: Sendable {
        public var snapshot: Duration = .seconds(60)
        public var upload: Duration = .seconds(2)
        /// The long-poll wait for commands, in seconds (0–30).
        public var commandWait = 25

        public init() {}
    }

    /// Runs the three loops (snapshot pull, audit upload, command long-poll) until the task is
    /// cancelled. Each retries on failure after a jittered, capped exponential backoff, and none
    /// holds anything the decisions need: decisions go on from the store whatever HQ does.
    public func run(intervals: Intervals = Intervals()) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.runSnapshotLoop(every: intervals.snapshot) }
            group.addTask { await self.runUploadLoop(every: intervals.upload) }
            group.addTask { await self.runCommandLoop(wait: intervals.commandWait) }
        }
    }

    /// Pulls the snapshot every `interval`, and at once on a requested resync, until cancelled.
    public func runSnapshotLoop(every interval: Duration = Intervals().snapshot) async {
        await loop(every: interval, resync: true) { _ = try await self.pullSnapshot() }
    }

    /// Uploads the audit backlog every `interval` until cancelled.
    public func runUploadLoop(every interval: Duration = Intervals().upload) async {
        await loop(every: interval) { try await self.uploadBacklog() }
    }

    /// Long-polls for commands, `wait` seconds at a time, until cancelled. Polls start at least a
    /// second apart: an HQ or proxy that answers a long-poll at once must not make it a busy loop.
    public func runCommandLoop(wait: Int = Intervals().commandWait) async {
        await loop(every: .zero) {
            let started = ContinuousClock.now
            try await self.pollCommands(wait: wait)
            let rest = started + .seconds(1) - ContinuousClock.now
            if rest > .zero { try? await Task.sleep(for: rest) }
        }
    }

    /// Asks the snapshot loop to pull now (HQ's `resync` command, `gatewayctl sync now`).
    public func requestResync() {
        resyncWakeup.signal()
    }

    /// Runs `step` every `interval`, backing off after failures; the snapshot loop also wakes for
    /// a requested resync.
    func loop(every interval: Duration, resync: Bool = false, _ step: @escaping @Sendable () async throws -> Void) async
    {
        var backoff = Backoff()
        while !Task.isCancelled {
            var pause = interval
            do {
                try await step()
                backoff.reset()
            } catch {
                pause = backoff.next()
            }
            // A cancelled sleep ends at once; the snapshot loop's also ends on a resync request.
            if resync {
                await resyncWakeup.pause(for: pause)
            } else {
                try? await Task.sleep(for: pause)
            }
        }
    }
}
