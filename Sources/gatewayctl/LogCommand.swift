import AccessGateway
import ArgumentParser
import Foundation
import HQProtocol
import HQSync
import KeyCache

struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Read and verify the audit log.",
        subcommands: [Show.self, Verify.self],
        defaultSubcommand: Show.self
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json, csv
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Print audit events, oldest first (the default for `gatewayctl log`)."
        )

        @OptionGroup var store: StoreOptions

        @Option(help: "From this time: UNIX seconds or ISO 8601 (2026-11-26T08:00:00Z, 2026-11-26).")
        var since: String?

        @Option(help: "Up to this time: UNIX seconds or ISO 8601.")
        var until: String?

        @Option(help: "Only this member.")
        var member: String?

        @Option(help: "Only this door.")
        var door: String?

        @Option(help: "Only this reason code, e.g. expired.")
        var reason: String?

        @Flag(help: "Only denials.")
        var denied = false

        @Flag(help: "Keep printing new events as they are recorded.")
        var follow = false

        @Option(help: "table (80 columns), json (JSON Lines) or csv.")
        var format: Format = .table

        func validate() throws {
            if let since, parseTime(since) == nil { throw ValidationError("--since \(since) is not UNIX or ISO 8601") }
            if let until, parseTime(until) == nil { throw ValidationError("--until \(until) is not UNIX or ISO 8601") }
        }

        func run() throws {
            let store = try store.open()
            var query = GatewayStore.AuditQuery()
            query.sinceMs = since.flatMap(parseTime).map { Int64($0 * 1000) }
            query.untilMs = until.flatMap(parseTime).map { Int64($0 * 1000) }
            query.member = member
            query.door = door
            query.reason = reason
            query.deniedOnly = denied
            if format == .table { print(tableHeader) }
            if format == .csv { print(csvHeader) }
            while true {
                let events = try store.auditEvents(query)
                for event in events { print(line(event)) }
                guard follow else { return }
                query.afterSeq = events.last?.seq ?? query.afterSeq
                fflush(nil)
                Thread.sleep(forTimeInterval: 0.5)
            }
        }

        var tableHeader: String {
            "SEQ    TIME                DOOR         RESULT           MEMBER       PASS"
        }

        var csvHeader: String { "seq,ts_ms,time,gateway,door,kind,granted,reason,member,pass,booking,detail,hash" }

        func line(_ e: AuditEvent) -> String {
            switch format {
            case .table:
                func cell(_ text: String?, _ width: Int) -> String {
                    let t = text ?? "-"
                    return t.count > width
                        ? String(t.prefix(width - 1)) + "…" : t.padding(toLength: width, withPad: " ", startingAt: 0)
                }
                let result = e.granted ? "granted" : e.reason
                return [
                    cell(String(e.seq), 6), cell(formatTime(Double(e.tsMs) / 1000), 19), cell(e.door, 12),
                    cell(e.kind == "decision" ? result : "\(e.kind):\(e.reason)", 16), cell(e.member, 12),
                    String((e.pass ?? "-").prefix(8)),
                ].joined(separator: " ")
            case .json:
                let members: KeyValuePairs<String, Any?> = [
                    "seq": e.seq, "ts_ms": e.tsMs, "time": isoTime(e.tsMs), "gateway": e.gateway, "door": e.door,
                    "kind": e.kind, "granted": e.granted, "reason": e.reason, "member": e.member, "pass": e.pass,
                    "booking": e.booking,
                    "detail": (try? JSONSerialization.jsonObject(with: Data(e.detail.utf8))) ?? e.detail,
                    "prev_hash": e.prevHash, "hash": e.hash,
                ]
                return jsonLine(members)
            case .csv:
                let fields: [String?] = [
                    String(e.seq), String(e.tsMs), isoTime(e.tsMs), e.gateway, e.door, e.kind, e.granted ? "1" : "0",
                    e.reason, e.member, e.pass, e.booking, e.detail, e.hash,
                ]
                return fields.map { csvField($0 ?? "") }.joined(separator: ",")
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the hash chain of the audit log, and compare its newest events with HQ's copy.",
            discussion: """
                Exit 0 when intact, 1 naming the first bad seq when an event was altered, removed or \
                inserted, or its head is below the upload cursor. Then two witnesses outside the \
                database: the newest decision the daemon logged to the journal (its seq= and hash=), \
                and, when the gateway is enrolled, HQ's newest event of this gateway. Each must be in \
                the log with the same hash: exit 1 when one is not (the newest events were cut). \
                Without a witness (no journal lines, not enrolled, unreachable, or --offline) an \
                intact chain exits 0 and says what was not cross-checked.
                """
        )

        @OptionGroup var store: StoreOptions

        @Option(help: "The device key file (default: device-key.pem beside the database).")
        var key: String?

        @Flag(help: "Do not ask HQ: check the chain in the database (and the journal) only.")
        var offline = false

        @Option(
            help: """
                The daemon's log lines to cross-check, as a file (e.g. saved with journalctl -o cat), \
                or - for standard input (default: journalctl -u --unit, newest 20000 lines).
                """
        )
        var journal: String?

        @Option(help: "The daemon's systemd unit, for the journal cross-check.")
        var unit = "access-gateway.service"

        func run() async throws {
            let db = try store.open()
            switch try db.verifyAuditChain() {
            case .intact(let events):
                print("\(events) events checked: the chain is intact")
            case .broken(let seq, let why):
                print("chain broken at seq \(seq): \(why)")
                throw ExitCode(1)
            }
            switch try journalCheck(db) {
            case .agrees(let seq) where seq == 0:
                print("the journal holds no decision lines of the daemon: not cross-checked with the journal")
            case .agrees(let seq):
                print("the journal agrees: the newest decision it saw, seq \(seq), is in the log with the same hash")
            case .disagrees(let why):
                print("the journal disagrees: \(why)")
                throw ExitCode(1)
            case .notChecked(let why):
                print("not cross-checked with the journal (\(why))")
            }
            switch offline ? .notChecked("--offline") : await crossCheck(db) {
            case .agrees(let seq) where seq == 0:
                print("HQ holds no events of this gateway yet: nothing to cross-check")
            case .agrees(let seq):
                print("HQ's copy agrees: its newest event, seq \(seq), is in the log with the same hash")
            case .disagrees(let why):
                print("HQ's copy disagrees: \(why)")
                throw ExitCode(1)
            case .notChecked(let why):
                print(
                    "not cross-checked with HQ (\(why)): the newest events could have been cut "
                        + "by whoever can write the database"
                )
            }
        }

        /// The newest decision line of the daemon in the journal (or `--journal`), against the log.
        func journalCheck(_ db: GatewayStore) throws -> AuditCrossCheck {
            let text: String
            switch journal {
            case "-":
                text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            case let path?:
                guard let file = FileHandle(forReadingAtPath: path) else {
                    throw ValidationError("--journal \(path): cannot read the file")
                }
                text = String(decoding: file.readDataToEndOfFile(), as: UTF8.self)
            case nil:
                guard let output = journalLines() else { return .notChecked("journalctl is not available") }
                text = output
            }
            guard let witness = JournalWitness.newest(in: text[...]) else { return .agrees(hqSeq: 0) }
            return try AuditCrossCheck.compare(seq: witness.seq, hash: witness.hash, store: db, witness: .journal)
        }

        /// `journalctl -u UNIT -o cat`, newest lines only; nil when journalctl cannot be run.
        func journalLines() -> String? {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/journalctl")
            process.arguments = ["-u", unit, "-o", "cat", "--no-pager", "-q", "-n", "20000"]
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            do { try process.run() } catch { return nil }
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }

        func crossCheck(_ db: GatewayStore) async -> AuditCrossCheck {
            do {
                guard let record = try EnrolmentRecord.load(from: db) else {
                    return .notChecked("this gateway is not enrolled")
                }
                let identity = try DeviceIdentity.load(path: deviceKeyPath(store, key), create: false)
                let sync = try GatewaySync(store: db, enrolment: record, identity: identity, clock: ClockTrust())
                return await sync.crossCheckAuditLog()
            } catch {
                return .notChecked("\(error)")
            }
        }
    }
}

/// UNIX seconds, or ISO 8601 with or without a time (a bare date is midnight UTC).
func parseTime(_ text: String) -> Double? {
    if let seconds = Double(text), seconds.isFinite { return seconds }
    let formatter = ISO8601DateFormatter()
    for options: ISO8601DateFormatter.Options in [
        [.withInternetDateTime], [.withInternetDateTime, .withFractionalSeconds], [.withFullDate],
    ] {
        formatter.formatOptions = options
        if let date = formatter.date(from: text) { return date.timeIntervalSince1970 }
    }
    return nil
}

func isoTime(_ ms: Int64) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
}

func csvField(_ text: String) -> String {
    guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
    return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}
