import Foundation
import Glibc
import HQSync
import KeyCache
import TestSupport
import Testing

/// The reference HQ (`access-hq-dev`) as a real process on a loopback port, with its own SQLite
/// database, for the integration tests. Killed when the test lets go of it.
final class ReferenceHQ: @unchecked Sendable {
    static let binary = TestPaths.productsDirectory.appendingPathComponent("access-hq-dev")
    let directory: URL
    let db: String
    let port: UInt16
    private var process: Process?

    /// The seed `serve` publishes, if any.
    let seedFile: URL?

    /// `seed`: the doors, members and bookings of the site (nil: a fresh HQ with none); `start`
    /// false leaves it down.
    init(seed: [String: Any]?, start: Bool = true) throws {
        directory = try TestPaths.temporaryDirectory()
        db = directory.appendingPathComponent("hq.sqlite").path
        port = try Self.freePort()
        if let seed {
            seedFile = directory.appendingPathComponent("seed.json")
            try JSONSerialization.data(withJSONObject: seed).write(to: directory.appendingPathComponent("seed.json"))
        } else {
            seedFile = nil
        }
        if start { try self.start() }
    }

    /// A site from a seed file (`access-hq-dev site`'s output).
    init(seedFile: URL) throws {
        directory = try TestPaths.temporaryDirectory()
        db = directory.appendingPathComponent("hq.sqlite").path
        port = try Self.freePort()
        self.seedFile = seedFile
        try start()
    }

    deinit { stop() }

    var url: String { "http://127.0.0.1:\(port)" }
    var seedPath: String { seedFile?.path ?? "" }

    /// Starts the server and waits until it answers.
    func start() throws {
        let process = Process()
        process.executableURL = Self.binary
        process.arguments =
            ["serve", "--db", db, "--listen", "127.0.0.1:\(port)", "--issuer", "hq.test.example"]
            + (seedFile.map { ["--seed", $0.path] } ?? [])
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: logFile())
        try process.run()
        self.process = process
        // A site-sized seed takes a while to publish in a debug build on a loaded machine.
        for _ in 0..<2400 where process.isRunning {
            if Self.answers(port) { return }
            usleep(50_000)
        }
        throw ReferenceHQFailure("access-hq-dev did not start: \(log)")
    }

    /// Kills the server (SIGKILL: children of the test runner inherit its blocked SIGTERM).
    func stop() {
        guard let process else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    private func logFile() throws -> URL {
        let url = directory.appendingPathComponent("hq.log")
        if !FileManager.default.fileExists(atPath: url.path) {
            FileManager.default.createFile(atPath: url.path, contents: nil)
        }
        return url
    }

    var log: String { (try? String(contentsOf: directory.appendingPathComponent("hq.log"), encoding: .utf8)) ?? "" }

    /// Runs an `access-hq-dev` admin command on this HQ's database; its output, trimmed.
    func admin(_ arguments: String...) throws -> String {
        let result = try run(Self.binary, [arguments[0], "--db", db] + arguments.dropFirst())
        guard result.status == 0 else {
            throw ReferenceHQFailure("access-hq-dev \(arguments.joined(separator: " ")): \(result.stderr)")
        }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A new enrolment code for `doors`.
    func code(doors: [String]) throws -> String { try admin("code", "--doors", doors.joined(separator: ",")) }

    /// The events HQ stores for `gateway`, as uploaded.
    func events(gateway: String) throws -> [[String: Any]] {
        try admin("events", "--gateway", gateway).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    static func freePort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw ReferenceHQFailure("cannot bind a loopback port") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return UInt16(bigEndian: address.sin_port)
    }

    static func answers(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}

struct ReferenceHQFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The site every test enrols into. Never mutated.
nonisolated(unsafe) let siteSeed: [String: Any] = [
    "issuer": "hq.test.example",
    "doors": [["id": "JKT1/FRONT", "name": "Front", "mode": "normal", "tz": "UTC"]],
    "members": [["id": "m-1", "blocked": false], ["id": "m-blocked", "blocked": true]],
    "bookings": [], "revoked": [],
]

/// `gatewayctl provision` of a fresh database against `hq`, for `doors`, as an installer runs it;
/// returns the database's path, and records an issue unless the first snapshot was applied.
func provisionedByCLI(_ hq: ReferenceHQ, doors: [String], name: String) throws -> String {
    let db = try TestPaths.temporaryDirectory().appendingPathComponent("gateway.sqlite").path
    let code = try hq.code(doors: doors)
    let provisioned = try run(
        TestPaths.productsDirectory.appendingPathComponent("gatewayctl"),
        ["--db", db, "provision", "--hq", hq.url, "--code", code, "--name", name]
    )
    #expect(provisioned.status == 0, "\(provisioned.stderr)")
    #expect(provisioned.stdout.contains("snapshot 1 applied"), "\(provisioned.stdout)")
    return db
}

/// A gateway's store and key in a fresh folder.
struct GatewayRig {
    let directory: URL
    let store: GatewayStore
    var keyPath: String { directory.appendingPathComponent("device-key.pem").path }

    init() throws {
        directory = try TestPaths.temporaryDirectory()
        store = try GatewayStore(path: directory.appendingPathComponent("gateway.sqlite").path)
    }

    /// Enrols with `hq` and returns the sync engine.
    func enrol(
        _ hq: ReferenceHQ,
        clock: ClockTrust = .fromHQOnly(),
        commandSkew: Double = 30
    ) async throws -> GatewaySync {
        let code = try hq.code(doors: ["JKT1/FRONT"])
        let (record, identity) = try await GatewaySync.provision(
            store: store,
            keyPath: keyPath,
            hq: try HQLocation(hq.url),
            code: code,
            name: "test-gateway",
            clock: clock
        )
        return try GatewaySync(
            store: store,
            enrolment: record,
            identity: identity,
            clock: clock,
            commandSkew: commandSkew
        )
    }
}

extension ClockTrust {
    /// A clock trusted only through HQ's `Date`, as on a board whose kernel is not synchronised:
    /// the tests that do not set the kernel's answer never ask this host's.
    static func fromHQOnly() -> ClockTrust { ClockTrust(kernelSynchronised: { false }) }
}
