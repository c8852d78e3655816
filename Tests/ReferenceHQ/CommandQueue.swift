import AccessToken
import Foundation
import GRDB
import HQProtocol

/// One queued command as `GET /v1/commands` sends it: its cursor and the signed COSE_Sign1,
/// base64url.
struct QueuedCommand: Encodable, Sendable {
    var cursor: Int64
    var signed: String
}

/// What `GET /v1/commands` answers: the commands past the gateway's cursor, and the cursor to ask
/// after next time (the last command's, or the one asked after when there is none).
struct CommandBatch: Encodable, Sendable {
    var commands: [QueuedCommand]
    var cursor: Int64
}

extension HQDatabase {
    /// The most commands one answer carries; the gateway asks again after the last.
    static let commandsPerAnswer = 100

    /// Signs and queues a command for `gateway`, valid from now for `lifetime` seconds; returns
    /// its id, `c-<cursor>`.
    func queueCommand(
        gateway: String,
        action: HQCommand.Action,
        lifetime: Double,
        now: Double
    ) throws(HQError) -> String {
        let identity = self.identity
        let issuedAt = now.rounded(.down)
        return try writeNow { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM gateways WHERE id = ?", arguments: [gateway]) ?? false
            else {
                throw HQError.usage("no gateway \(gateway) is enrolled")
            }
            let cursor =
                (try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'commands'") ?? 0) + 1
            let command = HQCommand(
                id: "c-\(cursor)",
                gateway: gateway,
                action: action,
                issuedAt: issuedAt,
                expiresAt: issuedAt + lifetime
            )
            // The gateway parses it with the same code; refuse here what it would refuse there.
            do { _ = try HQCommand.parse(command.json) } catch { throw HQError.usage("\(error)") }
            let signed = try SignedDocument.sign(command.json, with: identity.rootKey, kid: HQIdentity.rootKid)
            try db.execute(
                sql: "INSERT INTO commands(cursor, id, gateway, json, signed, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [cursor, command.id, gateway, Data(command.json), Data(signed), Int64(now)]
            )
            return command.id
        }
    }

    /// The commands for `gateway` past `cursor`, oldest first. Expired ones are sent too: the
    /// gateway refuses them and records that, which is worth seeing in its audit log.
    func commands(for gateway: String, after cursor: Int64) async throws(HQError) -> CommandBatch {
        let rows = try await read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT cursor, signed FROM commands WHERE gateway = ? AND cursor > ? ORDER BY cursor LIMIT ?",
                arguments: [gateway, cursor, Self.commandsPerAnswer]
            ).map { row in QueuedCommand(cursor: row["cursor"], signed: Base64URL.encode(Array(row["signed"] as Data)))
            }
        }
        return CommandBatch(commands: rows, cursor: rows.last?.cursor ?? cursor)
    }
}
