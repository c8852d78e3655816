import Foundation
import Hummingbird

/// Everything that goes wrong in the reference HQ, in the API's terms (docs/hq-protocol.md,
/// "HTTP API, version 1"): a code, an HTTP status and a message. The server sends it as
/// `{"error": CODE, "message": TEXT}`; the CLI prints the message.
struct HQError: Error, HTTPResponseError, CustomStringConvertible, Equatable {
    /// The `error` codes of the protocol, and the few this reference adds.
    enum Code: String, Sendable {
        case malformed
        case unauthorised
        case badCode = "bad_code"
        case revoked
        case chainBreak = "chain_break"
        case badChain = "bad_chain"
        // The protocol does not name these; they are documented in docs/openapi.yaml.
        case noSnapshot = "no_snapshot"
        case notFound = "not_found"
        case payloadTooLarge = "payload_too_large"
        /// A known path asked with a method it does not answer; the reply names the ones it does.
        case methodNotAllowed = "method_not_allowed"
        /// The CLI's: a bad option or input file. Never sent by the server.
        case usage
        case `internal`
    }

    var code: Code
    var message: String
    /// The methods the path answers, sent as `Allow` with `method_not_allowed`.
    var allow: [String] = []

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    static func malformed(_ message: String) -> HQError { HQError(.malformed, message) }
    static func unauthorised(_ message: String) -> HQError { HQError(.unauthorised, message) }
    static func usage(_ message: String) -> HQError { HQError(.usage, message) }
    static func database(_ error: any Error) -> HQError {
        (error as? HQError) ?? HQError(.internal, "database: \(error)")
    }

    var status: HTTPResponse.Status {
        switch code {
        case .malformed, .usage: return .badRequest
        case .unauthorised: return .unauthorized
        case .badCode, .revoked: return .forbidden
        case .chainBreak: return .conflict
        case .badChain: return .unprocessableContent
        case .noSnapshot, .notFound: return .notFound
        case .payloadTooLarge: return .contentTooLarge
        case .methodNotAllowed: return .methodNotAllowed
        case .internal: return .internalServerError
        }
    }

    var description: String { message }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = Reply.json(["error": code.rawValue, "message": message], status: status)
        if !allow.isEmpty { response.headers[.allow] = allow.joined(separator: ", ") }
        return response
    }
}

/// Turns whatever a handler or the router throws into an ``HQError``, so that every error the
/// server sends has the protocol's JSON shape, 404s and 500s included.
struct HQErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let methods: MethodTable

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HQError {
            throw error
        } catch let error as HTTPError where error.status == .notFound {
            let allowed = methods.allowed(path: request.uri.path)
            guard allowed.isEmpty else {
                var refusal = HQError(
                    .methodNotAllowed,
                    "\(request.uri.path) answers \(allowed.joined(separator: ", ")), not \(request.method)"
                )
                refusal.allow = allowed
                throw refusal
            }
            throw HQError(.notFound, "no such endpoint: \(request.method) \(request.uri.path)")
        } catch {
            context.logger.error("internal error: \(error)")
            throw HQError(.internal, "internal error: \(error)")
        }
    }
}

/// The methods each route answers, by path pattern (`:name` matches one segment).
struct MethodTable: Sendable {
    private let routes: [(segments: [Substring], method: String)]

    init(_ routes: [(method: HTTPRequest.Method, path: String)]) {
        self.routes = routes.map { ($0.path.split(separator: "/"), $0.method.rawValue) }
    }

    /// The methods answered at `path`, in registration order; empty for an unknown path.
    func allowed(path: String) -> [String] {
        let segments = path.split(separator: "/")
        var methods: [String] = []
        for route in routes where route.segments.count == segments.count && !methods.contains(route.method) {
            let matches = zip(route.segments, segments).allSatisfy { pattern, segment in
                pattern.hasPrefix(":") || pattern == segment
            }
            if matches { methods.append(route.method) }
        }
        return methods
    }
}
