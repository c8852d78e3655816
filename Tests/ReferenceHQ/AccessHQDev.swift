import ArgumentParser
import Foundation

/// `access-hq-dev`: the reference HQ. One SQLite database holds its keys, codes, gateways,
/// snapshots, events and commands; `serve` answers the gateways and the other commands are the
/// admin's, usable while the server runs.
@main
struct AccessHQDev: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "access-hq-dev",
        abstract: "The reference HQ for AccessGateway: for development, the demo and the tests. Not the production HQ.",
        discussion: """
            It implements the HQ side of docs/hq-protocol.md ("HTTP API, version 1"; machine-readable \
            in docs/openapi.yaml) on Hummingbird and SQLite: enrolment codes, signed snapshots built \
            from a seed file, device-token checks, audit upload with chain verification, signed \
            commands, and member passes. It is a reference, not the production HQ: it serves plain \
            HTTP (put TLS in front of it, or use loopback), and POST /v1/passes, GET /v1/events, \
            the events page at / and the member pass page at /m/<member> (with its credential \
            endpoint) take no authentication.

            The database is made on first use, with HQ's root key (ES256, kid hq-root-1), its \
            pass-signing key (ES256, kid hq-pass-1) and its issuer name. Every command takes --db; \
            the server and the other commands can share it while the server runs.

            Typical use:
              access-hq-dev serve --db hq.sqlite --listen 127.0.0.1:8080 --seed seed.json
              access-hq-dev site --members 20000 --bookings 200000 --revoked 20000 --doors 40 > seed.json
              access-hq-dev code --db hq.sqlite --doors JKT1/FRONT
              access-hq-dev pass --db hq.sqlite --member member-8812 --door JKT1/FRONT
              access-hq-dev events --db hq.sqlite --gateway gw-1
            """,
        subcommands: [
            ServeCommand.self, CodeCommand.self, EventsCommand.self, PassCommand.self, QueueCommand.self,
            RevokeCommand.self, SnapshotCommand.self, GatewaysCommand.self, RootKeyCommand.self, SiteCommand.self,
        ]
    )

    static func main() async {
        do {
            var command = try parseAsRoot()
            // `serve` is the one command that awaits; the others are plain functions.
            if let server = command as? ServeCommand { try await server.run() } else { try command.run() }
        } catch let error as HQError {
            FileHandle.standardError.write(Data("access-hq-dev: \(error.message)\n".utf8))
            Foundation.exit(error.code == .usage ? 2 : 1)
        } catch {
            exit(withError: error)
        }
    }
}

/// `--db`, which every command takes.
struct DatabaseOption: ParsableArguments {
    @Option(help: "The HQ database (SQLite). Made, with HQ's keys, on first use.")
    var db: String

    func open(issuer: String? = nil) throws(HQError) -> HQDatabase {
        try HQDatabase(path: db, issuer: issuer)
    }
}
