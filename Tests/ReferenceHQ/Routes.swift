import Foundation
import Hummingbird
import ServiceLifecycle

/// The HTTP API of docs/hq-protocol.md ("HTTP API, version 1"), and the reference-only
/// endpoints: `POST /v1/passes`, `GET /v1/events`, the events page at `/` and the member pass page
/// at `/m/{member}` (MemberRoutes.swift).
struct HQRoutes: Sendable {
    let db: HQDatabase
    /// Nil when deltas are off: every snapshot answer is then a full snapshot.
    let deltas: DeltaCache?

    /// An upload of 1000 events is well under a megabyte; a snapshot request has no body.
    static let maxBody = 16 << 20
    /// How often a long poll looks for new commands; the CLI queues them from another process.
    static let pollInterval = Duration.milliseconds(100)

    typealias Handler = @Sendable (Request, BasicRequestContext) async throws -> Response

    /// Every endpoint, once: the router is built from it, and so is the `Allow` header of the 405
    /// that an unknown method on a known path gets.
    var endpoints: [(method: HTTPRequest.Method, path: String, handler: Handler)] {
        [
            (.post, "/v1/enrol", { request, _ in try await enrol(request) }),
            (.get, "/v1/snapshot", { request, _ in try await snapshot(request) }),
            (
                .get, "/v1/snapshot/:seq/chunks/:index",
                { request, context in
                    try await snapshotChunk(request, context: context)
                }
            ),
            (.post, "/v1/events", { request, _ in try await uploadEvents(request) }),
            (.get, "/v1/commands", { request, _ in try await commands(request) }),
            (.get, "/v1/events/head", { request, _ in try await eventsHead(request) }),
            (.post, "/v1/passes", { request, _ in try await issuePass(request) }),
            (.get, "/v1/events", { request, _ in try await listEvents(request) }),
            (.get, "/", { request, _ in try await page(request) }),
            (.get, "/m/:member", { request, context in try await memberPage(request, context: context) }),
            (
                .post, "/m/:member/credential",
                { request, context in
                    try await memberCredential(request, context: context)
                }
            ),
            (.get, "/qr.svg", { request, _ in try qrSVG(request) }),
        ]
    }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        let endpoints = self.endpoints
        router.add(middleware: HQErrorMiddleware(methods: MethodTable(endpoints.map { ($0.method, $0.path) })))
        for endpoint in endpoints {
            router.on(RouterPath(endpoint.path), method: endpoint.method, use: endpoint.handler)
        }
        return router
    }

    // MARK: - The protocol

    func enrol(_ request: Request) async throws(HQError) -> Response {
        let body = try EnrolmentRequest(body: try await Self.body(request))
        return Reply.json(try await db.enrol(body, now: unixNow()))
    }

    func snapshot(_ request: Request) async throws(HQError) -> Response {
        _ = try await authenticate(request)
        let query = Query(request.uri.query)
        let since = try query.integer("since", in: 0...Int64.max)
        // `If-None-Match: "3", W/"4"`: a list, possibly weak; the ETag compares as text.
        let tags = request.headers[values: .ifNoneMatch].flatMap { $0.split(separator: ",") }.map {
            let tag = $0.trimmingCharacters(in: .whitespaces)
            return tag.hasPrefix("W/") ? String(tag.dropFirst(2)) : tag
        }
        switch try await db.snapshotAnswer(since: since, ifNoneMatch: tags, deltas: deltas) {
        case .none:
            throw HQError(
                .noSnapshot,
                "HQ has no snapshot yet: run 'access-hq-dev code' or 'access-hq-dev snapshot --seed FILE'"
            )
        case .unchanged(let etag): return Reply.notModified(etag: etag)
        case .signed(let document, let etag): return Reply.cose(document, etag: etag)
        }
    }

    /// One gzip chunk of a published snapshot, as its signed manifest lists it. Immutable.
    func snapshotChunk(_ request: Request, context: BasicRequestContext) async throws(HQError) -> Response {
        _ = try await authenticate(request)
        guard let seq = context.parameters.get("seq").flatMap({ Int64($0) }),
            let index = context.parameters.get("index").flatMap({ Int64($0) })
        else { throw HQError(.malformed, "a chunk is /v1/snapshot/{seq}/chunks/{index}, both integers") }
        guard let chunk = try await db.snapshotChunk(seq: seq, index: index) else {
            throw HQError(.notFound, "snapshot \(seq) has no chunk \(index)")
        }
        return Reply.bytes(chunk, contentType: "application/gzip", status: .ok)
    }

    func uploadEvents(_ request: Request) async throws(HQError) -> Response {
        let gateway = try await authenticate(request)
        let batch = try UploadBatch(body: try await Self.body(request), uploader: gateway)
        return Reply.json(try await db.store(batch, uploader: gateway, now: unixNow()))
    }

    /// Long-polls: answers as soon as there is a command past `after`, else after `wait` seconds.
    func commands(_ request: Request) async throws(HQError) -> Response {
        let gateway = try await authenticate(request)
        let query = Query(request.uri.query)
        let after = try query.integer("after", in: 0...Int64.max) ?? 0
        let wait = try query.integer("wait", in: 0...30) ?? 0
        let deadline = ContinuousClock.now + .seconds(wait)
        while true {
            let batch = try await db.commands(for: gateway, after: after)
            // A shutdown answers pending polls at once rather than holding the server up.
            if !batch.commands.isEmpty || ContinuousClock.now >= deadline || Task.isShuttingDownGracefully
                || Task.isCancelled
            {
                return Reply.json(batch)
            }
            try? await Task.sleep(for: min(Self.pollInterval, deadline - ContinuousClock.now))
        }
    }

    // MARK: - Reference HQ only

    /// Issues a member pass. No authentication: this is a development reference.
    func issuePass(_ request: Request) async throws(HQError) -> Response {
        let order = try PassOrder(body: try await Self.body(request))
        return Reply.json(try db.identity.issue(order, now: unixNow()))
    }

    /// The stored events as a JSON array, each in the upload format. No authentication.
    func listEvents(_ request: Request) async throws(HQError) -> Response {
        let filter = try Self.filter(Query(request.uri.query), defaultLimit: 1000)
        return Reply.rawJSON("[" + (try await db.events(filter)).map(\.body).joined(separator: ",") + "]")
    }

    func page(_ request: Request) async throws(HQError) -> Response {
        let query = Query(request.uri.query)
        var problem: String?
        var filter = EventFilter(limit: EventsPage.rowLimit)
        do { filter = try Self.filter(query, defaultLimit: EventsPage.rowLimit) } catch { problem = error.message }
        filter.order = .newest
        let events = problem == nil ? try await db.events(filter) : []
        let page = EventsPage(
            query: query,
            events: events,
            problem: problem,
            gateways: try await db.gatewayStates(),
            doors: try await db.distinctValues(.door),
            reasons: try await db.distinctValues(.reason),
            limit: filter.limit
        )
        return Reply.html(page.render())
    }

    // MARK: - Helpers

    private func authenticate(_ request: Request) async throws(HQError) -> String {
        try await db.authenticate(authorization: request.headers[.authorization], now: unixNow())
    }

    static func body(_ request: Request) async throws(HQError) -> [UInt8] {
        do {
            let buffer = try await request.body.collect(upTo: maxBody)
            return Array(buffer.readableBytesView)
        } catch {
            throw HQError(.payloadTooLarge, "the body is over \(maxBody) bytes, or was cut off")
        }
    }

    static func filter(_ query: Query, defaultLimit: Int) throws(HQError) -> EventFilter {
        EventFilter(
            gateway: query["gateway"],
            door: query["door"],
            member: query["member"],
            reason: query["reason"],
            since: try query.time("since"),
            until: try query.time("until"),
            limit: Int(try query.integer("limit", in: 1...100_000) ?? Int64(defaultLimit))
        )
    }
}
