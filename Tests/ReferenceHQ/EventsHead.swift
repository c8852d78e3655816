import Foundation
import GRDB
import HQProtocol
import Hummingbird

/// `GET /v1/events/head`: the newest seq and hash HQ holds for the calling gateway, so that
/// `gatewayctl log verify` can tell, from outside the board's database, whether its newest events
/// were cut.
struct EventsHead: Encodable, Sendable, Equatable {
    /// 0 when HQ holds no events of this gateway.
    var seq: Int64
    /// The hash of event `seq`; the genesis hash when HQ holds none.
    var hash: String
}

extension HQDatabase {
    func eventsHead(of gateway: String) async throws(HQError) -> EventsHead {
        try await read { db in
            let row = try Row.fetchOne(db, sql: "SELECT head_seq, head_hash FROM gateways WHERE id = ?", arguments: [gateway])
            guard let seq: Int64 = row?["head_seq"], let hash: String = row?["head_hash"] else {
                return EventsHead(seq: 0, hash: AuditEvent.genesis)
            }
            return EventsHead(seq: seq, hash: hash)
        }
    }
}

extension HQRoutes {
    func eventsHead(_ request: Request) async throws(HQError) -> Response {
        let gateway = try await db.authenticate(authorization: request.headers[.authorization], now: unixNow())
        return Reply.json(try await db.eventsHead(of: gateway))
    }
}
