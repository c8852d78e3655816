import AccessToken
import AsyncHTTPClient
import Foundation
import HQProtocol
import KeyCache
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL

/// Where HQ is: HTTPS, or plain HTTP to a loopback address for development and tests.
public struct HQLocation: Sendable, Equatable, CustomStringConvertible {
    /// The base URL, without a trailing slash.
    public let base: String

    /// Checks the URL only: no name is looked up and no key is made before it passes.
    public init(_ text: String) throws(HQSyncError) {
        let trimmed = text.hasSuffix("/") ? String(text.dropLast()) : text
        guard let url = URL(string: trimmed), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty
        else {
            throw .insecureURL(text)
        }
        guard scheme == "https" || (scheme == "http" && Self.isLoopback(host)) else { throw .insecureURL(text) }
        base = trimmed
    }

    /// Whether `host` is `localhost` or an IP address in 127.0.0.0/8 or ::1, parsed as an
    /// address: `127.evil.example` is a name, not loopback.
    static func isLoopback(_ host: String) -> Bool {
        var bare = host
        if bare.hasPrefix("["), bare.hasSuffix("]") { bare = String(bare.dropFirst().dropLast()) }
        if bare.lowercased() == "localhost" { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, bare, &v4) == 1 {
            return UInt32(bigEndian: v4.s_addr) >> 24 == 127
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, bare, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { bytes in bytes.dropLast().allSatisfy { $0 == 0 } && bytes.last == 1 }
        }
        return false
    }

    public var description: String { base }
}

/// What HQ answered to an enrolment.
public struct Enrolment: Sendable, Equatable {
    public var gatewayID: String
    public var issuer: String
    public var doors: [String]
    /// The HQ root public key, pinned from now on.
    public var rootJWK: [String: String]
    public var hqTime: Double
}

/// The HQ API (docs/hq-protocol.md), over AsyncHTTPClient: one method per endpoint, each with a
/// timeout, each error mapped to something an operator can act on. Retries are the caller's
/// (``Backoff``), so that a loop decides how long to keep trying.
public final class HQClient: Sendable {
    public let location: HQLocation
    let identity: DeviceIdentity
    let http: HTTPClient
    let timeout: TimeAmount
    /// Called with each response's `Date` and the local time it arrived, for ``ClockTrust``.
    let onDate: @Sendable (_ hqDate: Double, _ localNow: Double) -> Void

    public init(
        location: HQLocation,
        identity: DeviceIdentity,
        http: HTTPClient = HQClient.sharedHTTP,
        timeout: Duration = .seconds(15),
        onDate: @escaping @Sendable (_ hqDate: Double, _ localNow: Double) -> Void = { _, _ in }
    ) {
        self.location = location
        self.identity = identity
        self.http = http
        self.timeout = .nanoseconds(
            Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        )
        self.onDate = onDate
    }

    /// AsyncHTTPClient's shared configuration, except that redirects are refused and a connection that cannot be made (refused,
    /// a failed TLS handshake) fails the request at once with its cause. By default the client
    /// retries it quietly until the request's deadline, which turns every failure into a wait of
    /// the whole timeout and hides why; retries are the loops' (``Backoff``). Never shut down.
    public static let sharedHTTP: HTTPClient = HTTPClient(
        eventLoopGroup: HTTPClient.defaultEventLoopGroup,
        configuration: httpConfiguration
    )

    /// The configuration of ``sharedHTTP``: a test that must trust its own certificate starts from it.
    public static var httpConfiguration: HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration.singletonConfiguration
        configuration.connectionPool.retryConnectionEstablishment = false
        // A redirect could lead from HTTPS to plain HTTP, or to another host: never follow one.
        configuration.redirectConfiguration = .disallow
        return configuration
    }

    /// A body larger than the request's limit.
    struct TooLarge: Error {
        var came: Int?
    }

    /// A request that did not complete within its timeout.
    struct TimedOut: Error, CustomStringConvertible {
        var limit: TimeAmount
        var description: String { "no complete answer within \(Double(limit.nanoseconds) / 1e9) s" }
    }

    /// Runs `work`, cancelling it once `limit` has passed. AsyncHTTPClient's deadline covers the
    /// request only until the response head, and its read timeout restarts with every byte: a
    /// server that trickles its answer (slowloris) would otherwise hold a sync loop for ever.
    public static func bounded<T: Sendable>(
        by limit: TimeAmount,
        _ work: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await work() }
            group.addTask {
                try await Task.sleep(nanoseconds: UInt64(max(0, limit.nanoseconds)))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else { throw TimedOut(limit: limit) }
            return value
        }
    }

    struct Reply {
        var status: HTTPResponseStatus
        var headers: HTTPHeaders
        var body: [UInt8]
        /// When the response head arrived, on the local clock.
        var arrived: Double

        /// The `error` code and message of an error body, when there is one.
        var problem: (code: String, message: String) {
            let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
            return (
                object?["error"] as? String ?? "",
                object?["message"] as? String ?? String(decoding: body.prefix(200), as: UTF8.self)
            )
        }
    }

    /// One request; `token` is the Authorization bearer. Maps transport failures to
    /// ``HQSyncError/unreachable(_:)`` or ``HQSyncError/tls(_:)``, 401 to
    /// ``HQSyncError/unauthorised(_:)`` and 403 `revoked` to ``HQSyncError/revoked(_:)``. With `raw`, every status comes back as it came: `gatewayctl
    /// hq check` (``HQConformance``) judges statuses and error bodies itself.
    func send(
        _ method: HTTPMethod,
        _ path: String,
        body: [UInt8]? = nil,
        token: String?,
        headers extra: [(String, String)] = [],
        timeout override: TimeAmount? = nil,
        limit: Int = 64 << 20,
        limitName: String = "response_bytes",
        raw: Bool = false
    ) async throws(HQSyncError) -> Reply {
        var request = HTTPClientRequest(url: location.base + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (name, value) in extra { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let reply: Reply
        let (http, total, prepared) = (self.http, override ?? timeout, request)
        let what = path.split(separator: "?").first.map(String.init) ?? path
        do {
            // The whole exchange, head and body, within the timeout.
            reply = try await Self.bounded(by: total) {
                let response = try await http.execute(prepared, timeout: total)
                // HQ dates its answer when it writes the head: compare with the head's arrival,
                // not the end of a body that may take long on a slow link.
                let arrived = Date().timeIntervalSince1970
                if let length = response.headers.first(name: "Content-Length").flatMap(Int.init), length > limit {
                    throw TooLarge(came: length)
                }
                var buffer: ByteBuffer
                do { buffer = try await response.body.collect(upTo: limit) } catch is NIOTooManyBytesError {
                    throw TooLarge(came: nil)
                }
                return Reply(
                    status: response.status,
                    headers: response.headers,
                    body: buffer.readBytes(length: buffer.readableBytes) ?? [],
                    arrived: arrived
                )
            }
        } catch let error as TooLarge {
            throw .limitExceeded(limit: limitName, max: limit, came: error.came)
        } catch {
            let text = String(describing: error)
            if Self.isTLSFailure(error) { throw .tls("\(location): \(text)") }
            throw .unreachable("\(location): \(text)")
        }
        if let date = reply.headers.first(name: "Date").flatMap(Self.httpDate) {
            onDate(date, reply.arrived)
        }
        if raw { return reply }
        switch reply.status.code {
        case 300...303, 305...399:
            // With redirects disallowed the 3xx comes back as is; 304 is Not Modified, not a redirect.
            let target = reply.headers.first(name: "Location") ?? "no Location"
            throw .redirected("\(what): HTTP \(reply.status.code) to \(target)")
        case 401: throw .unauthorised(reply.problem.message)
        case 403 where reply.problem.code == "revoked": throw .revoked(reply.problem.message)
        default: return reply
        }
    }

    /// Whether `error` is a failed TLS handshake, certificate or name check, by its type. A TLS link
    /// cut without its close (`uncleanShutdown`) is a lost connection, not a TLS fault.
    static func isTLSFailure(_ error: any Error) -> Bool {
        if let error = error as? NIOSSLError {
            if case .uncleanShutdown = error { return false }
            return true
        }
        if error is NIOSSLExtraError || error is BoringSSLError { return true }
        return (error as? HTTPClientError) == .tlsHandshakeTimeout
    }

    /// Parses an HTTP `Date` header (RFC 9110 IMF-fixdate).
    static func httpDate(_ text: String) -> Double? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)?.timeIntervalSince1970
    }

    static func json(_ object: Any) -> [UInt8] {
        // Callers pass dictionaries of strings, numbers, arrays and dictionaries.
        Array(try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
    }

    static func object(_ reply: Reply, _ what: String) throws(HQSyncError) -> [String: Any] {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(reply.body))) as? [String: Any] else {
            throw .badResponse("\(what): HTTP \(reply.status.code) with a body that is not a JSON object")
        }
        return object
    }

    // MARK: - Endpoints

    /// `POST /v1/enrol`.
    public func enrol(code: String, name: String, now: Double) async throws(HQSyncError) -> Enrolment {
        let proof = try identity.token(subject: identity.thumbprint, audience: "enrol", now: now)
        let reply = try await send(
            .POST,
            "/v1/enrol",
            body: Self.json(["code": code, "public_key": identity.publicJWK, "proof": proof, "name": name]),
            token: nil
        )
        if reply.status.code == 403 || reply.problem.code == "bad_code" { throw .badCode(reply.problem.message) }
        guard reply.status == .ok else {
            throw .badResponse("enrolment: HTTP \(reply.status.code): \(reply.problem.message)")
        }
        let object = try Self.object(reply, "enrolment")
        guard let id = object["gateway_id"] as? String, let issuer = object["issuer"] as? String,
            let doors = object["doors"] as? [String], let root = object["root_key"] as? [String: String]
        else { throw .badResponse("enrolment: the answer lacks gateway_id, issuer, doors or root_key") }
        do { _ = try SignedDocument.rootKey(jwk: root) } catch { throw HQSyncError(error) }
        return Enrolment(
            gatewayID: id,
            issuer: issuer,
            doors: doors,
            rootJWK: root,
            hqTime: (object["hq_time"] as? NSNumber)?.doubleValue ?? 0
        )
    }

    /// What `GET /v1/snapshot` gave.
    public enum SnapshotReply: Sendable, Equatable {
        case unchanged
        case signed(document: [UInt8], etag: String?)
    }

    /// `GET /v1/snapshot`: a signed manifest, a signed delta from `since`, or 304. Larger than
    /// `limit` bytes is refused with ``HQSyncError/limitExceeded(limit:max:came:)``.
    public func snapshot(
        token: String,
        since: Int64?,
        etag: String?,
        limit: Int = TransferLimits().signedDocumentBytes
    ) async throws(HQSyncError) -> SnapshotReply {
        let reply = try await send(
            .GET,
            "/v1/snapshot" + (since.map { "?since=\($0)" } ?? ""),
            token: token,
            headers: etag.map { [("If-None-Match", $0)] } ?? [],
            limit: limit,
            limitName: "signed_document_bytes"
        )
        switch reply.status.code {
        case 304: return .unchanged
        case 200: return .signed(document: reply.body, etag: reply.headers.first(name: "ETag"))
        default: throw .badResponse("snapshot: HTTP \(reply.status.code): \(reply.problem.message)")
        }
    }

    /// `GET {href}`: one snapshot chunk, exactly `size` bytes as the manifest lists it. `href` is a
    /// path under HQ's base URL (checked by ``SnapshotManifest/parse(_:)``): same origin.
    public func chunk(token: String, href: String, size: Int) async throws(HQSyncError) -> [UInt8] {
        let reply: Reply
        do { reply = try await send(.GET, href, token: token, limit: size) } catch {
            if case .limitExceeded = error {
                throw .refused("chunk \(href) is larger than the \(size) bytes its manifest lists")
            }
            throw error
        }
        guard reply.status == .ok else {
            throw .badResponse("chunk \(href): HTTP \(reply.status.code): \(reply.problem.message)")
        }
        return reply.body
    }

    /// HQ's answer to an upload.
    public struct UploadAck: Sendable, Equatable {
        public var ackedSeq: Int64
        public var stored: Int
        public var duplicates: Int
    }

    /// `POST /v1/events`: one batch, already serialised (``AuditUploader`` builds it).
    public func upload(token: String, batch: [UInt8]) async throws(HQSyncError) -> UploadAck {
        let reply = try await send(.POST, "/v1/events", body: batch, token: token)
        guard reply.status == .ok else {
            throw .badResponse("upload: HTTP \(reply.status.code) \(reply.problem.code): \(reply.problem.message)")
        }
        let object = try Self.object(reply, "upload")
        guard let acked = (object["acked_seq"] as? NSNumber)?.int64Value else {
            throw .badResponse("upload: no acked_seq")
        }
        return UploadAck(
            ackedSeq: acked,
            stored: (object["stored"] as? NSNumber)?.intValue ?? 0,
            duplicates: (object["duplicates"] as? NSNumber)?.intValue ?? 0
        )
    }

    /// `GET /v1/commands`: long-polls up to `wait` seconds for commands past `after`.
    public func commands(
        token: String,
        after: Int64,
        wait: Int
    ) async throws(HQSyncError) -> (
        commands: [(cursor: Int64, signed: [UInt8])], cursor: Int64
    ) {
        let reply = try await send(
            .GET,
            "/v1/commands?after=\(after)&wait=\(wait)",
            token: token,
            timeout: timeout + .seconds(Int64(wait))
        )
        guard reply.status == .ok else {
            throw .badResponse("commands: HTTP \(reply.status.code): \(reply.problem.message)")
        }
        let object = try Self.object(reply, "commands")
        // Both are always there: an answer without them is not HQ's, and moves no cursor.
        guard let entries = object["commands"] as? [[String: Any]], let next = object["cursor"] as? NSNumber else {
            throw .badResponse("commands: the answer lacks a commands array or a cursor")
        }
        var commands: [(Int64, [UInt8])] = []
        for entry in entries {
            guard let cursor = (entry["cursor"] as? NSNumber)?.int64Value, let text = entry["signed"] as? String,
                let bytes = Base64URL.decode(text)
            else { throw .badResponse("commands: an entry lacks cursor or signed") }
            commands.append((cursor, bytes))
        }
        return (commands, next.int64Value)
    }
}

/// Jittered exponential backoff ("full jitter"): after the n-th failure in a row, wait a random
/// time up to min(cap, base · 2ⁿ). Bounded, and spread out so a fleet does not return at once.
public struct Backoff: Sendable {
    public var base: Duration
    public var cap: Duration
    public private(set) var failures = 0

    public init(base: Duration = .seconds(1), cap: Duration = .seconds(60)) {
        self.base = base
        self.cap = cap
    }

    /// Records a failure and returns how long to wait.
    public mutating func next<R: RandomNumberGenerator>(using random: inout R) -> Duration {
        failures += 1
        let ceiling = min(cap, base * (1 << min(failures - 1, 20)))
        return ceiling * Double.random(in: 0...1, using: &random)
    }

    public mutating func next() -> Duration {
        var random = SystemRandomNumberGenerator()
        return next(using: &random)
    }

    public mutating func reset() {
        failures = 0
    }
}
