import ArgumentParser
import Foundation
import HQProtocol

/// `access-hq-dev code`: a one-time enrolment code.
struct CodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "code",
        abstract: "Make a one-time enrolment code (valid 24 h) and print it.",
        discussion: """
            The gateway that enrols with it is given these doors, in POST /v1/enrol's answer. When \
            the published snapshot lacks any of them (or there is none yet), a new version is \
            published with them added (mode normal, time zone UTC, no schedule); a note on standard \
            error says so. The code is the last line on standard output.
            """
    )

    @OptionGroup var database: DatabaseOption

    @Option(help: ArgumentHelp("The doors the gateway runs, comma-separated: LOC/DOOR,…", valueName: "id,…"))
    var doors: String

    var doorList: [String] {
        doors.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    }

    func validate() throws {
        guard !doorList.isEmpty else { throw ValidationError("--doors needs at least one door") }
        for door in doorList
        where door.split(separator: "/", omittingEmptySubsequences: false).count != 2 || door.hasPrefix("/")
            || door.hasSuffix("/")
        {
            throw ValidationError("door \"\(door)\" is not LOC/DOOR")
        }
    }

    func run() throws {
        let db = try database.open()
        let code = try db.createCode(doors: doorList, now: unixNow())
        // A fresh HQ publishes the doors it has codes for, so that the gateway's first sync works.
        if let published = try db.ensureDoors(doorList, now: unixNow()) { note(published.description) }
        print(code)
    }
}

/// `access-hq-dev events`: the uploaded events as JSON Lines.
struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Print the uploaded events as JSON Lines, each exactly in the upload format.",
        discussion: "Each gateway's events come in seq order, so that the output can be verified as a chain."
    )

    @OptionGroup var database: DatabaseOption

    @Option(help: "Only this gateway's events (its id, e.g. gw-1).") var gateway: String?

    func run() throws {
        let filter = EventFilter(gateway: gateway, limit: Int.max, order: .chain)
        var out = ""
        for event in try database.open().eventsNow(filter) {
            out += event.body
            out += "\n"
        }
        FileHandle.standardOutput.write(Data(out.utf8))
    }
}

/// `access-hq-dev pass`: a member pass, signed with HQ's pass key.
struct PassCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pass",
        abstract: "Issue an AG1 member pass and print it.",
        discussion: """
            Signed with HQ's pass key (kid hq-pass-1), which every snapshot carries in keys. A member \
            the published snapshot does not know is added to it (a new version, noted on standard \
            error). The pass is the last line on standard output.
            """
    )

    @OptionGroup var database: DatabaseOption

    @Option(help: "The member id (sub).") var member: String
    @Option(help: "The door (LOC/DOOR) or location (LOC) the pass opens (aud).") var door: String

    @Option(help: ArgumentHelp("How long the pass is valid (default 3600).", valueName: "seconds"))
    var validFor: Double?

    @Option(help: "The booking id the pass is for (claim -65537).") var booking: String?
    @Option(help: "How many entries the pass allows (claim -65538).") var maxUses: UInt64?

    @Option(
        help: ArgumentHelp(
            "Issue it as if this many seconds ago (to show an expired pass: --issued-ago 7200).",
            valueName: "seconds"
        )
    )
    var issuedAgo: Double = 0

    func run() throws {
        let order = try PassOrder(member: member, door: door, validFor: validFor, booking: booking, maxUses: maxUses)
        let db = try database.open()
        if let published = try db.ensureMember(member, now: unixNow()) { note(published.description) }
        print(try db.identity.issue(order, now: unixNow() - issuedAgo).pass)
    }
}

/// `access-hq-dev command`: a signed command for a gateway, delivered by its long poll.
struct QueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "command",
        abstract: "Queue a signed command for a gateway and print its id.",
        discussion: """
            unlock needs --door and takes --seconds (default 5, at most 30); lockdown takes --on \
            (default true) and --door (all doors when absent); resync takes neither.
            """
    )

    /// The command kinds of the protocol.
    enum Kind: String, ExpressibleByArgument, CaseIterable {
        case unlock, lockdown, resync
    }

    @OptionGroup var database: DatabaseOption

    @Option(help: "The gateway id, e.g. gw-1.") var gateway: String
    @Option(help: "unlock, lockdown or resync.") var kind: Kind
    @Option(help: "The door (LOC/DOOR).") var door: String?
    @Option(help: "How long an unlock holds the door, in seconds.") var seconds: Double?
    @Option(help: ArgumentHelp("Lockdown on or off.", valueName: "true|false")) var on: Bool?

    @Option(help: ArgumentHelp("How long the command stays valid (at most 3600).", valueName: "seconds"))
    var expiresIn: Double = 60

    var action: HQCommand.Action {
        get throws {
            switch kind {
            case .unlock:
                guard let door else { throw ValidationError("an unlock needs --door") }
                guard on == nil else { throw ValidationError("--on is for lockdown") }
                return .unlock(door: door, seconds: seconds ?? 5)
            case .lockdown:
                guard seconds == nil else { throw ValidationError("--seconds is for unlock") }
                return .lockdown(door: door, on: on ?? true)
            case .resync:
                guard door == nil, seconds == nil, on == nil else {
                    throw ValidationError("resync takes no --door, --seconds or --on")
                }
                return .resync
            }
        }
    }

    func validate() throws {
        _ = try action
        guard expiresIn > 0, expiresIn <= HQCommand.maxLifetime else {
            throw ValidationError("--expires-in must be 1 to \(Int(HQCommand.maxLifetime)) seconds")
        }
    }

    func run() throws {
        print(
            try database.open().queueCommand(gateway: gateway, action: try action, lifetime: expiresIn, now: unixNow())
        )
    }
}

/// `access-hq-dev revoke`: revokes a gateway's key.
struct RevokeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke a gateway's key: its requests get 403 revoked from now on."
    )

    @OptionGroup var database: DatabaseOption

    @Option(help: "The gateway id, e.g. gw-1.") var gateway: String

    func run() throws {
        try database.open().revoke(gateway: gateway, now: unixNow())
        print("revoked \(gateway)")
    }
}

/// `access-hq-dev snapshot`: publishes a snapshot version from a seed file.
struct SnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Publish a new snapshot version from a seed file; a running server serves it at once.",
        discussion: """
            A seed file is a JSON object with the records of an ag-snapshot/1 document \
            (docs/hq-protocol.md, "Snapshot, version 1"):

              {"issuer": "hq.dev.example", "max_age": 604800,
               "doors": [{"id": "JKT1/FRONT", "name": "Front door", "mode": "normal", "tz": "Asia/Jakarta",
                          "schedule": [{"days": ["mon","tue","wed","thu","fri"], "from": "08:00", "to": "20:00"}],
                          "unlock_schedule": [{"days": ["mon","tue","wed","thu","fri"], "from": "09:00", "to": "17:00"}],
                          "first_person_in": true}],
               "members": [{"id": "member-8812", "blocked": false}],
               "bookings": [{"id": "booking-5521", "member": "member-8812", "doors": ["JKT1"],
                             "start": 1800000000, "end": 1800014400, "status": "confirmed"}],
               "revoked": [{"pass": "35d86c5867a67f49c5e8f97c5e6608f1", "until": 1800086400}]}

            Every member is optional: arrays default to empty, max_age to 604800. issuer, when \
            present, must be this HQ's. A door's unlock_schedule (windows in which its relay \
            is held released) and first_person_in (each window from its first grant) are optional. \
            Publishing a changed door reaches a gateway as a delta. HQ adds format, seq (one past the last version), \
            generated_at (now) and keys (its pass key, kid hq-pass-1, plus any keys the seed lists). \
            The document is checked as a gateway checks it before it is signed and stored.
            """
    )

    @OptionGroup var database: DatabaseOption

    @Option(help: ArgumentHelp("The seed file.", valueName: "file")) var seed: String

    func run() throws {
        let db = try database.open()
        print(try db.publishSnapshot(try Seed.load(path: seed), now: unixNow()).description)
    }
}

/// `access-hq-dev gateways`: the enrolled gateways.
struct GatewaysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateways",
        abstract: "List the enrolled gateways: id, name, doors, the events HQ holds, revocation."
    )

    @OptionGroup var database: DatabaseOption

    func run() throws {
        for line in try database.open().gatewaySummaries() { print(line) }
    }
}

/// A note on standard error, so that standard output keeps only the result.
func note(_ text: String) {
    FileHandle.standardError.write(Data("access-hq-dev: \(text)\n".utf8))
}

/// `access-hq-dev site`: a seed file for a site of a given size, for tests and benchmarks.
struct SiteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "site",
        abstract: "Print a seed file (JSON) for a generated site of the given size.",
        discussion: """
            Doors are SITE<l>/DOOR<d> over --locations locations (DOOR1 is at SITE1); members are \
            member-1 … member-N, none blocked; booking i is booking-i for member-((i mod N)+1) at \
            location SITE((i mod L)+1), confirmed, from a day before --now to 30 days after (every \
            97th cancelled); revoked passes are the 16-byte ids 1 … R in hex. The same arguments \
            give the same file. Publish it with 'snapshot --seed' or 'serve --seed'.
            """
    )

    @Option(help: "Members.") var members: Int = 100
    @Option(help: "Bookings.") var bookings: Int = 1000
    @Option(help: "Revoked passes.") var revoked: Int = 100
    @Option(help: "Doors.") var doors: Int = 1
    @Option(help: "Locations the doors are spread over (default: one per 20 doors).") var locations: Int?
    @Option(help: ArgumentHelp("The time bookings are around (default now).", valueName: "unix seconds"))
    var now: Int64?

    func validate() throws {
        guard members >= 1, bookings >= 0, revoked >= 0, doors >= 1, (locations ?? 1) >= 1 else {
            throw ValidationError("--members and --doors must be at least 1, the other counts at least 0")
        }
    }

    func run() throws {
        let places = min(doors, locations ?? max(1, (doors + 19) / 20))
        let at = now ?? Int64(unixNow())
        var out = "{\"doors\":["
        out.reserveCapacity(bookings * 140 + members * 40 + revoked * 70)
        for door in 0..<doors {
            if door > 0 { out += "," }
            out += "{\"id\":\"SITE\(door % places + 1)/DOOR\(door + 1)\",\"mode\":\"normal\",\"tz\":\"UTC\"}"
        }
        out += "],\"members\":["
        for member in 1...members {
            if member > 1 { out += "," }
            out += "{\"id\":\"member-\(member)\",\"blocked\":false}"
        }
        out += "],\"bookings\":["
        for booking in 0..<bookings {
            if booking > 0 { out += "," }
            let status = booking % 97 == 96 ? "cancelled" : "confirmed"
            out += "{\"id\":\"booking-\(booking)\",\"member\":\"member-\(booking % members + 1)\","
            out += "\"doors\":[\"SITE\(booking % places + 1)\"],\"start\":\(at - 86400),\"end\":\(at + 30 * 86400),"
            out += "\"status\":\"\(status)\"}"
        }
        out += "],\"revoked\":["
        for pass in 0..<revoked {
            if pass > 0 { out += "," }
            let hex = String(pass + 1, radix: 16)
            out += "{\"pass\":\"\(String(repeating: "0", count: 32 - hex.count) + hex)\",\"until\":\(at + 90 * 86400)}"
        }
        out += "]}\n"
        FileHandle.standardOutput.write(Data(out.utf8))
    }
}
