import AccessToken
import Crypto
import Foundation
import HQProtocol
import KeyCache
import NIOHTTP1
import Synchronization

/// One protocol rule as `gatewayctl hq check` reports it: its name, the section of
/// docs/hq-protocol.md that states it, and what the HQ under test did.
public struct ConformanceResult: Sendable, Equatable {
    public enum Outcome: String, Sendable {
        case pass, fail
        /// The rule could not be tried against this HQ (say, no earlier snapshot to delta from).
        case skip
    }

    public var rule: String
    public var section: String
    public var outcome: Outcome
    public var detail: String
}

/// Checks an HQ against docs/hq-protocol.md as a gateway would meet it: enrols a throwaway device
/// whose key lives in memory only, pulls and verifies the snapshot, uploads a batch twice,
/// long-polls commands, compares clocks and provokes errors. Nothing is written anywhere: the
/// board's own store and key are never touched.
public struct HQConformance: Sendable {
    /// The rules, in the order they run, with their sections in docs/hq-protocol.md.
    public static let rules: [(rule: String, section: String)] = [
        ("enrol", "Enrolment: `POST /v1/enrol`"),
        ("enrol-code-once", "Enrolment: `POST /v1/enrol`"),
        ("snapshot-signature", "Signed documents"),
        ("snapshot-etag", "Snapshots: `GET /v1/snapshot`"),
        ("snapshot-delta", "Delta, version 1"),
        ("snapshot-chunks", "Chunked snapshot, version 1"),
        ("upload", "Audit upload: `POST /v1/events`"),
        ("upload-idempotent", "Audit upload: `POST /v1/events`"),
        ("events-head", "Audit head: `GET /v1/events/head`"),
        ("commands-long-poll", "Commands: `GET /v1/commands`"),
        ("error-bodies", "HTTP API, version 1"),
        ("clock", "Time"),
    ]

    /// How far HQ's `Date` may be from this machine's clock (hq-protocol.md, "Time").
    static let clockTolerance = 5.0
    /// How long the long-poll check asks HQ to hold an empty answer, and the least it must hold it.
    static let pollWait = 3
    static let pollHeldAtLeast = 2.0

    let location: HQLocation
    let code: String

    public init(location: HQLocation, code: String) {
        self.location = location
        self.code = code
    }

    /// Runs every rule. Throws only when HQ cannot be reached at all (the first request fails to
    /// connect); a rule HQ breaks is a `fail` in the results.
    public func run() async throws(HQSyncError) -> [ConformanceResult] {
        let dates = DateLog()
        var run = Run(dates: dates)
        let identity = DeviceIdentity(key: P256.Signing.PrivateKey())
        let client = HQClient(location: location, identity: identity, onDate: { dates.record($0, $1) })
        let enrolment: Enrolment
        do {
            enrolment = try await client.enrol(code: code, name: "hq-check", now: Date().timeIntervalSince1970)
            run.note(
                "enrol",
                .pass,
                "enrolled as \(enrolment.gatewayID), issuer \(enrolment.issuer), root key \(enrolment.rootJWK["kid"] ?? "?")"
            )
        } catch {
            if case .unreachable = error { throw error }
            if case .tls = error { throw error }
            run.note("enrol", .fail, "\(error)")
            return run.finish(skipping: "enrolment failed")
        }
        let session = Session(client: client, identity: identity, enrolment: enrolment)
        await run.enrolCodeOnce(location: location, code: code)
        await run.snapshot(session)
        await run.upload(session)
        await run.commands(session)
        await run.errorBodies(session)
        return run.finish(skipping: "not reached")
    }
}

/// The throwaway device and what enrolment gave it.
struct Session: Sendable {
    var client: HQClient
    var identity: DeviceIdentity
    var enrolment: Enrolment

    func token() throws(HQSyncError) -> String {
        try identity.token(subject: enrolment.gatewayID, audience: enrolment.issuer, now: Date().timeIntervalSince1970)
    }

    func rootKey() throws(HQSyncError) -> VerificationKey {
        try HQSyncError.checking { () throws(HQProtocolError) in try SignedDocument.rootKey(jwk: enrolment.rootJWK) }
    }
}

/// Every `Date` HQ sent, against the local time its head arrived; and the answers that had none.
final class DateLog: Sendable {
    private let skews = Mutex<[Double]>([])

    func record(_ hqDate: Double, _ localNow: Double) { skews.withLock { $0.append(hqDate - localNow) } }
    var all: [Double] { skews.withLock { $0 } }
}

/// The results so far.
struct Run {
    let dates: DateLog
    var results: [String: ConformanceResult] = [:]
    var undated: [String] = []

    mutating func note(_ rule: String, _ outcome: ConformanceResult.Outcome, _ detail: String) {
        let section = HQConformance.rules.first { $0.rule == rule }?.section ?? ""
        results[rule] = ConformanceResult(rule: rule, section: section, outcome: outcome, detail: detail)
    }

    /// Every rule in order; a rule not tried is skipped with `why`; the clock is judged last.
    mutating func finish(skipping why: String) -> [ConformanceResult] {
        let skews = dates.all
        if !undated.isEmpty {
            note("clock", .fail, "no parsable Date header on: \(undated.joined(separator: ", "))")
        } else if let worst = skews.max(by: { abs($0) < abs($1) }) {
            let within = abs(worst) <= HQConformance.clockTolerance
            note(
                "clock",
                within ? .pass : .fail,
                "\(skews.count) answers dated; the furthest was \(String(format: "%+.1f", worst)) s from this clock (at most ±\(Int(HQConformance.clockTolerance)) s)"
            )
        }
        return HQConformance.rules.map { rule, section in
            results[rule] ?? ConformanceResult(rule: rule, section: section, outcome: .skip, detail: why)
        }
    }

    /// A raw request: the checks look at statuses, headers and bodies that HQClient maps to errors.
    mutating func send(
        _ client: HQClient,
        _ method: HTTPMethod,
        _ path: String,
        body: [UInt8]? = nil,
        token: String?,
        headers: [(String, String)] = []
    ) async throws(HQSyncError) -> HQClient.Reply {
        let reply = try await client.send(
            method,
            path,
            body: body,
            token: token,
            headers: headers,
            raw: true
        )
        if reply.headers.first(name: "Date").flatMap(HQClient.httpDate) == nil {
            undated.append("\(method) \(path.split(separator: "?").first ?? "")")
        }
        return reply
    }

    // MARK: - Enrolment

    mutating func enrolCodeOnce(location: HQLocation, code: String) async {
        let other = HQClient(location: location, identity: DeviceIdentity(key: P256.Signing.PrivateKey()))
        do {
            let again = try await other.enrol(code: code, name: "hq-check-2", now: Date().timeIntervalSince1970)
            note("enrol-code-once", .fail, "the code enrolled a second key too, as \(again.gatewayID)")
        } catch {
            if case .badCode = error {
                note("enrol-code-once", .pass, "a second key with the same code was refused: bad_code")
            } else {
                note("enrol-code-once", .fail, "a second key with the same code: \(error), not 403 bad_code")
            }
        }
    }

    // MARK: - Snapshot

    mutating func snapshot(_ session: Session) async {
        let token: String
        let root: VerificationKey
        do {
            token = try session.token()
            root = try session.rootKey()
        } catch {
            note("snapshot-signature", .fail, "\(error)")
            return
        }
        let limit = TransferLimits().signedDocumentBytes
        // The full snapshot: signed by the pinned root, for the enrolment's issuer.
        var seq: Int64 = 0
        var etag: String?
        var manifest: SnapshotManifest?
        do {
            let reply = try await send(session.client, .GET, "/v1/snapshot", token: token)
            guard reply.status == .ok else {
                throw HQSyncError.badResponse("HTTP \(reply.status.code) \(reply.problem.code)")
            }
            etag = reply.headers.first(name: "ETag")
            let payload = Data(
                try HQSyncError.checking { () throws(HQProtocolError) in
                    try SignedDocument.open(reply.body, rootKey: root, maxBytes: limit)
                }
            )
            var issuer = ""
            if SnapshotManifest.declaredFormat(of: payload) == SnapshotManifest.format {
                let parsed = try HQSyncError.checking { () throws(HQProtocolError) in try SnapshotManifest.parse(payload) }
                seq = parsed.seq
                issuer = parsed.issuer
                manifest = parsed
            } else {
                guard
                    case .full(let full) = try HQSyncError.checking({ () throws(HQProtocolError) in
                        try SnapshotDocument.parse(payload)
                    })
                else { throw HQSyncError.refused("GET /v1/snapshot without since answered a delta") }
                seq = full.seq
                issuer = full.issuer
            }
            guard issuer == session.enrolment.issuer else {
                throw HQSyncError.refused("issuer \"\(issuer)\" is not the enrolment's \"\(session.enrolment.issuer)\"")
            }
            note("snapshot-signature", .pass, "seq \(seq) verifies with the pinned root key, issuer \(issuer)")
        } catch {
            note("snapshot-signature", .fail, "\(error)")
            return
        }
        await snapshotETag(session, token: token, seq: seq, etag: etag)
        await snapshotDelta(session, token: token, root: root, seq: seq)
        await snapshotChunks(session, token: token, manifest: manifest)
    }

    mutating func snapshotETag(_ session: Session, token: String, seq: Int64, etag: String?) async {
        guard etag == "\"\(seq)\"" else {
            note("snapshot-etag", .fail, "ETag is \(etag ?? "missing"), not \"\(seq)\" (the snapshot's seq, quoted)")
            return
        }
        do {
            let byTag = try await send(
                session.client,
                .GET,
                "/v1/snapshot",
                token: token,
                headers: [("If-None-Match", etag!)]
            )
            let bySeq = try await send(session.client, .GET, "/v1/snapshot?since=\(seq)", token: token)
            guard byTag.status.code == 304, bySeq.status.code == 304 else {
                note(
                    "snapshot-etag",
                    .fail,
                    "nothing changed, yet If-None-Match \(etag!) got \(byTag.status.code) and since=\(seq) got \(bySeq.status.code); both must be 304"
                )
                return
            }
            note("snapshot-etag", .pass, "ETag \(etag!); If-None-Match and since=\(seq) both 304")
        } catch {
            note("snapshot-etag", .fail, "\(error)")
        }
    }

    mutating func snapshotDelta(_ session: Session, token: String, root: VerificationKey, seq: Int64) async {
        guard seq > 1 else {
            note("snapshot-delta", .skip, "HQ has published only seq \(seq): no earlier version to ask a delta from")
            return
        }
        let since = seq - 1
        do {
            let reply = try await send(session.client, .GET, "/v1/snapshot?since=\(since)", token: token)
            guard reply.status == .ok else {
                throw HQSyncError.badResponse("HTTP \(reply.status.code) \(reply.problem.code)")
            }
            let payload = Data(
                try HQSyncError.checking { () throws(HQProtocolError) in
                    try SignedDocument.open(reply.body, rootKey: root, maxBytes: TransferLimits().signedDocumentBytes)
                }
            )
            guard SnapshotManifest.declaredFormat(of: payload) == SnapshotDelta.format else {
                note(
                    "snapshot-delta",
                    .pass,
                    "since=\(since) answered with a signed full snapshot (HQ need not make deltas)"
                )
                return
            }
            guard
                case .delta(let delta) = try HQSyncError.checking({ () throws(HQProtocolError) in
                    try SnapshotDocument.parse(payload)
                })
            else {
                throw HQSyncError.refused("not a delta")
            }
            guard delta.baseSeq == since, delta.seq == seq else {
                throw HQSyncError.refused(
                    "the delta is base_seq \(delta.baseSeq) → seq \(delta.seq); asked \(since) → \(seq)"
                )
            }
            note("snapshot-delta", .pass, "since=\(since): a signed delta \(since) → \(seq)")
        } catch {
            note("snapshot-delta", .fail, "since=\(since): \(error)")
        }
    }

    mutating func snapshotChunks(_ session: Session, token: String, manifest: SnapshotManifest?) async {
        guard let manifest else {
            note("snapshot-chunks", .skip, "HQ sent a full snapshot, not a manifest")
            return
        }
        do {
            for chunk in manifest.chunks {
                let reply = try await send(session.client, .GET, chunk.href, token: token)
                guard reply.status == .ok else {
                    throw HQSyncError.badResponse("\(chunk.href): HTTP \(reply.status.code)")
                }
                let digest = Array(SHA256.hash(data: reply.body)).hexString
                guard reply.body.count == chunk.size, digest == chunk.sha256 else {
                    throw HQSyncError.refused(
                        "\(chunk.href): \(reply.body.count) bytes, SHA-256 \(digest); the manifest lists \(chunk.size), \(chunk.sha256)"
                    )
                }
            }
            note(
                "snapshot-chunks",
                .pass,
                "\(manifest.chunks.count) chunks, each the size and SHA-256 its manifest lists"
            )
        } catch {
            note("snapshot-chunks", .fail, "\(error)")
        }
    }

    // MARK: - Upload

    /// Two events from the genesis hash, as a new gateway's first upload.
    static func batch(gateway: String) -> (body: [UInt8], last: AuditEvent) {
        var events: [AuditEvent] = []
        var prev = AuditEvent.genesis
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        for seq in Int64(1)...2 {
            var event = AuditEvent(
                seq: seq,
                tsMs: now + seq,
                gateway: gateway,
                door: nil,
                kind: "system",
                granted: false,
                reason: "hq_check",
                member: nil,
                pass: nil,
                booking: nil,
                detail: "{\"why\":\"gatewayctl hq check\"}",
                prevHash: prev,
                hash: ""
            )
            event.seal()
            prev = event.hash
            events.append(event)
        }
        return (GatewaySync.uploadBody(gateway: gateway, events), events[events.count - 1])
    }

    mutating func upload(_ session: Session) async {
        let (body, last) = Self.batch(gateway: session.enrolment.gatewayID)
        do {
            let token = try session.token()
            let first = try await session.client.upload(token: token, batch: body)
            guard first.ackedSeq == 2, first.stored + first.duplicates == 2 else {
                note(
                    "upload",
                    .fail,
                    "acked_seq \(first.ackedSeq), stored \(first.stored), duplicates \(first.duplicates) for events 1–2"
                )
                return
            }
            note("upload", .pass, "events 1–2 acknowledged: acked_seq 2, stored \(first.stored)")
            let second = try await session.client.upload(token: token, batch: body)
            if second.ackedSeq == 2, second.stored == 0, second.duplicates == 2 {
                note("upload-idempotent", .pass, "the same batch again: acked_seq 2, stored 0, duplicates 2")
            } else {
                note(
                    "upload-idempotent",
                    .fail,
                    "the same batch again: acked_seq \(second.ackedSeq), stored \(second.stored), duplicates \(second.duplicates); want 2, 0, 2"
                )
            }
            let head = try await send(session.client, .GET, "/v1/events/head", token: try session.token())
            let object = (try? JSONSerialization.jsonObject(with: Data(head.body))) as? [String: Any]
            let seq = (object?["seq"] as? NSNumber)?.int64Value
            if head.status == .ok, seq == 2, object?["hash"] as? String == last.hash {
                note("events-head", .pass, "seq 2 with the uploaded hash")
            } else {
                note(
                    "events-head",
                    .fail,
                    "HTTP \(head.status.code) \(String(decoding: head.body.prefix(200), as: UTF8.self)); want seq 2, hash \(last.hash)"
                )
            }
        } catch {
            note(results["upload"] == nil ? "upload" : "upload-idempotent", .fail, "\(error)")
        }
    }

    // MARK: - Commands

    mutating func commands(_ session: Session) async {
        do {
            let token = try session.token()
            let root = try session.rootKey()
            let first = try await session.client.commands(token: token, after: 0, wait: 0)
            for (cursor, signed) in first.commands {
                let command = try HQCommand.parse(try SignedDocument.open(signed, rootKey: root))
                guard command.gateway == session.enrolment.gatewayID else {
                    throw HQSyncError.refused("command at cursor \(cursor) is for \(command.gateway)")
                }
            }
            // Nothing new past the cursor: HQ must hold the answer, not return at once.
            let started = ContinuousClock.now
            let held = try await session.client.commands(
                token: token,
                after: first.cursor,
                wait: HQConformance.pollWait
            )
            let elapsed = ContinuousClock.now - started
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            guard held.commands.isEmpty else {
                note("commands-long-poll", .pass, "a new command arrived during the poll")
                return
            }
            guard seconds >= HQConformance.pollHeldAtLeast else {
                note(
                    "commands-long-poll",
                    .fail,
                    "wait=\(HQConformance.pollWait) with nothing to send was answered after \(String(format: "%.1f", seconds)) s; HQ must hold it"
                )
                return
            }
            guard held.cursor >= first.cursor else {
                note("commands-long-poll", .fail, "the cursor went back from \(first.cursor) to \(held.cursor)")
                return
            }
            note(
                "commands-long-poll",
                .pass,
                "\(first.commands.count) signed commands at first; an empty poll held \(String(format: "%.1f", seconds)) s of wait=\(HQConformance.pollWait)"
            )
        } catch {
            note("commands-long-poll", .fail, "\(error)")
        }
    }

    // MARK: - Errors

    /// Bad input gets the status the protocol names and a `{"error", "message"}` body.
    mutating func errorBodies(_ session: Session) async {
        var problems: [String] = []
        do {
            let token = try session.token()
            let (body, _) = Self.batch(gateway: session.enrolment.gatewayID)
            // The same seqs with another hash: HQ holds them already, so this is bad_chain.
            let tampered = Array(
                String(decoding: body, as: UTF8.self).replacingOccurrences(of: "gatewayctl hq check", with: "tampered")
                    .utf8
            )
            let cases:
                [(
                    what: String, method: HTTPMethod, path: String, body: [UInt8]?, token: String?, status: UInt,
                    code: String
                )] = [
                    ("no device token", .GET, "/v1/snapshot", nil, nil, 401, "unauthorised"),
                    (
                        "a batch without events", .POST, "/v1/events",
                        Array("{\"gateway\":\(JSONText.quote(session.enrolment.gatewayID))}".utf8), token, 400,
                        "malformed"
                    ),
                    ("a batch that is not JSON", .POST, "/v1/events", Array("not json".utf8), token, 400, "malformed"),
                    ("held events with another hash", .POST, "/v1/events", tampered, token, 422, "bad_chain"),
                ]
            for check in cases {
                let reply = try await send(
                    session.client,
                    check.method,
                    check.path,
                    body: check.body,
                    token: check.token
                )
                let object = (try? JSONSerialization.jsonObject(with: Data(reply.body))) as? [String: Any]
                let code = object?["error"] as? String
                if reply.status.code != check.status || code != check.code || !(object?["message"] is String)
                    || reply.headers.first(name: "Content-Type")?.hasPrefix("application/json") != true
                {
                    problems.append(
                        "\(check.what): HTTP \(reply.status.code) \(reply.headers.first(name: "Content-Type") ?? "no Content-Type") \(String(decoding: reply.body.prefix(120), as: UTF8.self)); want \(check.status) {\"error\": \"\(check.code)\", \"message\": …}"
                    )
                }
            }
        } catch {
            problems.append("\(error)")
        }
        if problems.isEmpty {
            note(
                "error-bodies",
                .pass,
                "401 unauthorised, 400 malformed (twice), 422 bad_chain, each a JSON error body"
            )
        } else {
            note("error-bodies", .fail, problems.joined(separator: "; "))
        }
    }

}
