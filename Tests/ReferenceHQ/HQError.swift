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
        /// The CLI's: a bad option or input file. Never sent by the server.
        case usage
        case `internal`
    }

    var code: Code
    var message: String

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
        case .internal: return .internalServerError
        }
    }

    var description: String { message }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        Reply.json(["error": code.rawValue, "message": message], status: status)
    }
}

/// Turns whatever a handler or the router throws into an ``HQError``, so that every error the
/// server sends has the protocol's JSON shape, 404s and 500s included.
struct HQErrorMiddleware<Context: RequestContext>: RouterMiddleware {
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
            throw HQError(.notFound, "no such endpoint: \(request.method) \(request.uri.path)")
        } catch {
            context.logger.error("internal error: \(error)")
            throw HQError(.internal, "internal error: \(error)")
        }
    }
}
