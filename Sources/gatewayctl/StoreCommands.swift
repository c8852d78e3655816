import AccessPolicy
import AccessToken
import ArgumentParser
import Foundation
import HQProtocol
import KeyCache

struct SnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Import and inspect the HQ snapshot.",
        subcommands: [Import.self, Show.self]
    )

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply a full snapshot (ag-snapshot/1) or a delta (ag-snapshot-delta/1) from a file.",
            discussion:
                "Exit status 1 if the document is invalid or refused (older seq, wrong base), 2 on a usage error."
        )

        @OptionGroup var store: StoreOptions

        @Argument(help: "The snapshot JSON file.")
        var file: String

        func run() throws {
            let data = try readFile(file)
            let store = try store.open(create: true)
            do {
                let document = try SnapshotDocument.parse(data)
                let info = try store.apply(document)
                // An unsigned local file is allowed offline, and the log says where it came from.
                try store.appendAudit(
                    AuditEntry(
                        tsMs: Int64(Date().timeIntervalSince1970 * 1000),
                        door: nil,
                        kind: "sync",
                        granted: true,
                        reason: "snapshot_applied",
                        detail: ["seq": String(info.seq), "source": "local", "file": file]
                    )
                )
                let kind = if case .full = document { "full snapshot" } else { "delta" }
                print("applied \(kind) seq \(info.seq): \(Show.counts(info))")
            } catch {
                FileHandle.standardError.write(Data("gatewayctl: \(file): \(error)\n".utf8))
                throw ExitCode(1)
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the stored snapshot's seq, age and counts.")

        @OptionGroup var store: StoreOptions

        @Flag(help: "Print JSON.")
        var json = false

        static func counts(_ info: SnapshotInfo) -> String {
            "\(info.keys) keys, \(info.doors) doors, \(info.members) members, \(info.bookings) bookings, "
                + "\(info.revoked) revoked passes"
        }

        func run() throws {
            let store = try store.open()
            guard let info = try store.snapshotInfo() else {
                FileHandle.standardError.write(Data("gatewayctl: no snapshot imported in \(store.path)\n".utf8))
                throw ExitCode(1)
            }
            let now = Date().timeIntervalSince1970
            if json {
                printJSONLine([
                    "seq": info.seq, "issuer": info.issuer, "generated_at": info.generatedAt,
                    "age_s": Int(info.age(now: now)), "max_age": info.maxAge, "stale": info.isStale(now: now),
                    "keys": info.keys, "doors": info.doors, "members": info.members, "bookings": info.bookings,
                    "revoked": info.revoked,
                ])
                return
            }
            print("seq        \(info.seq)")
            print("issuer     \(info.issuer)")
            print("generated  \(formatTime(Double(info.generatedAt)))")
            print(
                "age        \(Int(info.age(now: now))) s of max \(info.maxAge) s\(info.isStale(now: now) ? "  STALE" : "")"
            )
            print("contents   \(Self.counts(info))")
        }
    }
}

struct DecideCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decide",
        abstract: "Make the full door decision on a pass with the stored snapshot, and record it.",
        discussion: """
            Prints one JSON object. Exit status 0 when granted, 1 when denied, 2 on a usage error. \
            With --lines, decides each line of standard input (a keyboard-wedge scanner, a test feed) \
            and prints one JSON object per line, each written once its event is durable.
            """
    )

    @OptionGroup var store: StoreOptions

    @Option(help: "The door id, LOC/DOOR.")
    var door: String

    @Option(help: "The clock, in UNIX seconds (default: now).")
    var at: Double?

    @Flag(help: "Decide every line of standard input, until it ends.")
    var lines = false

    @Option(help: "Past the snapshot's max_age: deny (snapshot_stale, the default) or grant (keep deciding, noted in the log).")
    var onStale: String = StaleSnapshotPolicy.deny.rawValue

    @Argument(help: "The pass text, or - to read it from standard input.")
    var text: String?

    func validate() throws {
        guard door.split(separator: "/").count == 2 else { throw ValidationError("--door must be LOC/DOOR") }
        guard lines != (text != nil) else { throw ValidationError("give the pass text (or -), or --lines, not both") }
        guard StaleSnapshotPolicy(rawValue: onStale) != nil else {
            throw ValidationError("--on-stale must be grant or deny")
        }
    }

    func run() throws {
        let decider = AccessDecider(
            store: try store.open(create: true),
            stalePolicy: StaleSnapshotPolicy(rawValue: onStale)!
        )
        func decide(_ pass: String) throws -> AccessDecision {
            do { return try decider.decide(pass, door: door, now: at ?? Date().timeIntervalSince1970) } catch {
                throw UsageFailure("\(error)")
            }
        }
        func line(_ d: AccessDecision) -> String {
            jsonLine([
                "granted": d.granted, "reason": d.reason.rawValue, "member": d.member, "pass": d.pass, "seq": d.seq,
                "booking": d.booking, "detail": d.detail, "stale_snapshot": d.staleSnapshot,
            ])
        }
        guard lines else {
            let decision = try decide(text == "-" ? readStandardInputLine() : text!)
            print(line(decision))
            if !decision.granted { throw ExitCode(1) }
            return
        }
        while let input = Swift.readLine() {
            let pass = input.trimmingCharacters(in: .whitespaces)
            if pass.isEmpty { continue }
            // Unbuffered, so that a printed decision is always one whose event was committed.
            FileHandle.standardOutput.write(Data((line(try decide(pass)) + "\n").utf8))
        }
    }
}

/// Reads standard input, without the trailing newline.
func readStandardInputLine() -> String {
    String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        .trimmingCharacters(in: .whitespacesAndNewlines)
}

/// A local time for people: "2026-11-26 15:04:05".
func formatTime(_ seconds: Double) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
    return formatter.string(from: Date(timeIntervalSince1970: seconds))
}
