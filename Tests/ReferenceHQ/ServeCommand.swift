import ArgumentParser
import Foundation
import Hummingbird

/// `access-hq-dev serve`: the HTTP server.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the HQ API (plain HTTP) until SIGTERM or Ctrl-C.",
        discussion: """
            Prints "listening on http://HOST:PORT" on standard output once it accepts connections; \
            with port 0 the port is the one the system chose. With --seed, and no snapshot in the \
            database yet, the seed is published as snapshot 1; after that, publish new versions \
            with 'access-hq-dev snapshot'. Without a seed, 'access-hq-dev code' publishes the first \
            version (the doors it has codes for), also while the server runs. Seed format: see 'access-hq-dev snapshot --help'.

            It also prints "member pages: http://HOST:PORT/m/<member>": the member pass page, which \
            makes a device key in the browser, registers it (POST /m/<member>/credential) and shows \
            the rotating AG2 code, drawn by GET /qr.svg?text=…. The page has no login: anyone who \
            knows a member id gets that member's credential. It is a reference for development and \
            tests, not production. Browsers give WebCrypto only to secure pages: open it on \
            localhost, or put TLS in front of the server for a phone.
            """
    )

    @OptionGroup var database: DatabaseOption

    @Option(
        help: ArgumentHelp("Where to listen: HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080.", valueName: "host:port")
    )
    var listen: String

    @Option(help: ArgumentHelp("A seed file to publish when the database has no snapshot yet.", valueName: "file"))
    var seed: String?

    @Option(help: "The issuer name, taken when the database is made (default hq.dev.example).") var issuer: String?
    @Flag(help: "Answer GET /v1/snapshot with full snapshots only, never a delta.") var noDeltas = false

    func validate() throws {
        _ = try Self.address(listen)
    }

    /// Splits `HOST:PORT`; IPv6 hosts are bracketed.
    static func address(_ text: String) throws -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else { throw ValidationError("--listen must be HOST:PORT, e.g. 127.0.0.1:8080") }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw ValidationError("--listen must name a host, e.g. 127.0.0.1:8080") }
        return (host, port)
    }

    func run() async throws {
        // A parent may have left signals blocked (test runners do); SIGTERM and Ctrl-C must stop
        // the server.
        var none = sigset_t()
        sigemptyset(&none)
        sigprocmask(SIG_SETMASK, &none, nil)
        let (host, port) = try Self.address(listen)
        let db = try database.open(issuer: issuer)
        if let seed {
            if let seq = try db.latestSnapshotSeq() {
                note(
                    "the database already has snapshot \(seq); --seed is ignored (publish with 'access-hq-dev snapshot')"
                )
            } else {
                note(try db.publishSnapshot(try Seed.load(path: seed), now: unixNow()).description)
            }
        }
        let routes = HQRoutes(db: db, deltas: noDeltas ? nil : DeltaCache())
        let app = Application(
            router: routes.router(),
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "access-hq-dev"),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? port
                let shown = host.contains(":") ? "[\(host)]" : host
                // Unbuffered, so that a test waiting for this line sees it at once.
                let base = "http://\(shown):\(bound)"
                FileHandle.standardOutput.write(Data("listening on \(base)\nmember pages: \(base)/m/<member>\n".utf8))
            }
        )
        // Stops on SIGTERM or SIGINT, letting requests in flight finish (long polls end at once).
        try await app.runService()
    }

}
