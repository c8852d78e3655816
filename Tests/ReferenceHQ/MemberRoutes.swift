import Foundation
import HQProtocol
import Hummingbird

/// The member pass page's endpoints: `GET /m/{member}`, `POST /m/{member}/credential` and
/// `GET /qr.svg`. No login: a reference for development and tests, not production.
extension HQRoutes {
    func memberPage(_ request: Request, context: BasicRequestContext) async throws(HQError) -> Response {
        let member = Self.member(context)
        switch try await db.standing(of: member) {
        case .active: return MemberPage.reply(MemberPage(member: member).render(), status: .ok)
        case .refused(let reason):
            return MemberPage.reply(MemberPage.notFound(member: member, reason: reason), status: .notFound)
        }
    }

    func memberCredential(_ request: Request, context: BasicRequestContext) async throws(HQError) -> Response {
        let member = Self.member(context)
        let snapshot: Snapshot
        switch try await db.standing(of: member) {
        case .active(let latest): snapshot = latest
        case .refused(let reason): throw HQError(.notFound, reason)
        }
        let holder = try HolderKeyJWK(body: try await Self.body(request))
        let doors = snapshot.doors.map(\.id)
        return Reply.json(try db.identity.issueCredential(member: member, doors: doors, holder: holder, now: unixNow()))
    }

    func qrSVG(_ request: Request) throws(HQError) -> Response {
        let svg = try QRImage.svg(text: try QRImage.textParameter(request.uri.query))
        var response = Reply.bytes(Array(svg.utf8), contentType: "image/svg+xml", status: .ok)
        // Every code is fresh for 10 s; a cached one would be refused at the door.
        response.headers[.cacheControl] = "no-store"
        return response
    }

    /// The `{member}` path segment, percent-decoded.
    private static func member(_ context: BasicRequestContext) -> String {
        let raw = context.parameters.get("member") ?? ""
        return raw.removingPercentEncoding ?? raw
    }
}
