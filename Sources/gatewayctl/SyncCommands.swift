import ArgumentParser
import Dispatch
import Foundation
import HQProtocol
import HQSync
import KeyCache
import QRCodec
import Synchronization

/// The device key's file: beside the database.
func deviceKeyPath(_ store: StoreOptions, _ override: String?) -> String {
    override ?? URL(fileURLWithPath: store.db).deletingLastPathComponent().appendingPathComponent("device-key.pem").path
}

struct ProvisionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "provision",
        abstract: "Enrol this gateway with HQ, using a one-time code, then sync.",
        discussion: """
            Makes the device key on this board (it never leaves it), shows its fingerprint for the HQ \
            admin to confirm, enrols, pins HQ's root key, pulls the first snapshot and uploads the \
            audit log. HQ must be HTTPS; plain HTTP is accepted to loopback only.
            """
    )

    @OptionGroup var store: StoreOptions

    @Option(help: "HQ's base URL, e.g. https://hq.example.com.")
    var hq: String

    @Option(help: "The one-time enrolment code from HQ, or - to read it from standard input (a code on the command line is visible to other local users).")
    var code: String?

    @Option(help: "A file holding the one-time enrolment code.")
    var codeFile: String?

    @Option(help: "A name for this gateway, shown at HQ.")
    var name: String = ProcessInfo.processInfo.hostName

    @Option(help: "The device key file (default: device-key.pem beside the database).")
    var key: String?

    func validate() throws {
        guard (code == nil) != (codeFile == nil) else {
            throw ValidationError("give the enrolment code with --code CODE, --code - (standard input) or --code-file FILE")
        }
    }

    /// The code from wherever it was given, without surrounding white space.
    func enrolmentCode() throws -> String {
        let text: String
        if let codeFile {
            text = String(decoding: try readFile(codeFile), as: UTF8.self)
        } else if code == "-" {
            text = readStandardInputLine()
        } else {
            text = code ?? ""
        }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw UsageFailure("the enrolment code is empty") }
        return trimmed
    }

    func run() async throws {
        let location: HQLocation
        do { location = try HQLocation(hq) } catch { throw UsageFailure("\(error)") }
        let code = try enrolmentCode()
        let db = try store.open(create: true)
        let keyPath = deviceKeyPath(store, key)
        let identity: DeviceIdentity
        do { identity = try DeviceIdentity.load(path: keyPath, create: true) } catch { throw UsageFailure("\(error)") }
        print("device key \(keyPath)")
        print("fingerprint \(identity.fingerprint)   (confirm it with the HQ admin)")
        if let matrix = try? QRMatrix.encode(text: identity.thumbprint) { print(matrix.terminalText()) }
        let clock = ClockTrust(floor: ClockFloor(store: db))
        let name = name
        let record: EnrolmentRecord
        do {
            record = try await GatewaySync.provision(
                store: db,
                keyPath: keyPath,
                hq: location,
                code: code,
                name: name,
                clock: clock
            ).0
        } catch {
            throw UsageFailure(Self.advice(error))
        }
        print("enrolled as \(record.gatewayID) with \(record.issuer); doors: \(record.doors.joined(separator: ", "))")
        // The installer reads this to the HQ admin, who compares it with HQ's own (a man in the
        // middle at enrolment would have handed over another root key).
        print("hq root fingerprint \(DeviceKey.fingerprint(of: record.rootJWK))   (confirm it with the HQ admin)")
        let status = clock.status
        if !status.trusted { print("warning: the clock is not trusted (\(status.detail)); passes will be refused") }
        let sync = try GatewaySync(store: db, enrolment: record, identity: identity, clock: clock)
        do {
            let outcome = try await sync.pullSnapshot()
            if case .applied(let seq) = outcome { print("snapshot \(seq) applied") }
            let uploaded = try await sync.uploadBacklog()
            print("uploaded \(uploaded) audit events")
        } catch {
            throw UsageFailure("enrolled, but the first sync failed: \(Self.advice(error))")
        }
    }

    /// The error, and what to do about it.
    static func advice(_ error: HQSyncError) -> String {
        switch error {
        case .badCode: return "\(error). Ask HQ for a new code; each works once, for 24 hours."
        case .unreachable: return "\(error). Check the URL, the network and the firewall."
        case .tls:
            return "\(error). Check the URL's host name and that the board's clock and CA certificates are right."
        case .unauthorised, .revoked: return "\(error). The board's key is not accepted: provision again with a new code."
        default: return "\(error)"
        }
    }
}

struct SyncCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Sync with HQ now, or show how syncing goes.",
        subcommands: [Now.self, Status.self]
    )

    static func open(_ store: StoreOptions, key: String?) throws -> (GatewayStore, GatewaySync) {
        let db = try store.open()
        let record: EnrolmentRecord
        do {
            guard let stored = try EnrolmentRecord.load(from: db) else { throw HQSyncError.notEnrolled }
            record = stored
            let identity = try DeviceIdentity.load(path: deviceKeyPath(store, key), create: false)
            return (db, try GatewaySync(store: db, enrolment: record, identity: identity, clock: ClockTrust(floor: ClockFloor(store: db))))
        } catch { throw UsageFailure("\(error)") }
    }

    struct Now: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pull the snapshot, upload the audit backlog and take pending commands."
        )

        @OptionGroup var store: StoreOptions

        @Option(help: "The device key file (default: device-key.pem beside the database).")
        var key: String?

        func run() async throws {
            let (_, sync) = try SyncCommand.open(store, key: key)
            var failed = false
            do {
                switch try await sync.pullSnapshot() {
                case .unchanged: print("snapshot: unchanged")
                case .applied(let seq): print("snapshot: \(seq) applied")
                }
            } catch {
                failed = true
                print("snapshot: \(error)")
            }
            do { print("upload: \(try await sync.uploadBacklog()) events acknowledged") } catch {
                failed = true
                print("upload: \(error)")
            }
            do { print("commands: \(try await sync.pollCommands(wait: 0).count) taken") } catch {
                failed = true
                print("commands: \(error)")
            }
            if failed { throw ExitCode(1) }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enrolment, last successes, snapshot seq and age, backlog, clock trust."
        )

        @OptionGroup var store: StoreOptions

        @Option(help: "The device key file (default: device-key.pem beside the database).")
        var key: String?

        @Flag(help: "Print JSON.")
        var json = false

        func run() throws {
            let db = try store.open()
            let record = (try? EnrolmentRecord.load(from: db)) ?? nil
            let values = try db.stateValues([
                .lastSnapshotSync, .lastUpload, .hqRevoked, .snapshotRefused, .snapshotRefusals,
                .snapshotTransfer,
            ])
            let info = try db.snapshotInfo()
            let now = Date().timeIntervalSince1970
            let cursor = try db.uploadCursor()
            let backlog = try db.uploadBacklog()
            let clock = ClockTrust(floor: ClockFloor(store: db)).status
            let fields: KeyValuePairs<String, Any?> = [
                "gateway": record?.gatewayID, "hq": record?.hq.base, "revoked_by_hq": values[.hqRevoked] == "1",
                "last_snapshot_sync": values[.lastSnapshotSync].flatMap(Int.init),
                "last_upload": values[.lastUpload].flatMap(Int.init),
                "snapshot_seq": info?.seq, "snapshot_age_s": info.map { Int(now) - Int($0.generatedAt) },
                "snapshot_stale": info.map { $0.isStale(now: now) },
                // Why HQ's last document was refused (a limit names itself), until one applies.
                "snapshot_refused": values[.snapshotRefused].flatMap { $0.isEmpty ? nil : $0 },
                "snapshot_refusals": Int(values[.snapshotRefusals] ?? "0") ?? 0,
                "snapshot_transfer": values[.snapshotTransfer].flatMap { $0.isEmpty ? nil : $0 },
                "backlog": backlog, "upload_cursor": cursor,
                "clock_trusted": clock.trusted, "clock": clock.detail,
            ]
            if json {
                printJSONLine(fields)
                return
            }
            for (name, value) in fields {
                print("\(name.padding(toLength: 20, withPad: " ", startingAt: 0)) \(value.map { "\($0)" } ?? "-")")
            }
        }
    }
}
