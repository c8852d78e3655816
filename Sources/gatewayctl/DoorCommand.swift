import ArgumentParser
import DoorDriver
import Foundation
import Synchronization
import TOMLKit

/// Where a door's lines come from: the gateway's TOML config, or flags for a quick test.
struct DoorSelection: ParsableArguments {
    @Option(help: "The gateway config with [doors.NAME] sections.")
    var config: String = "/etc/access-gateway/gateway.toml"

    @Option(help: "The door: its id (LOC/DOOR) or its section name in the config.")
    var door: String?

    @Option(help: "Instead of a config: the GPIO chip (gpiochip0, /dev/gpiochip0, a label or a number).")
    var chip: String?

    @Option(help: "Instead of a config: the relay line, an offset or a name.")
    var line: String?

    @Flag(help: "With --chip/--line: the relay is active-low.")
    var activeLow = false

    func validate() throws {
        if chip != nil || line != nil {
            guard chip != nil, line != nil else { throw ValidationError("--chip and --line go together") }
        }
    }

    /// The board as the config file describes it.
    func board() throws -> BoardConfig {
        let text: String
        do { text = try String(contentsOfFile: config, encoding: .utf8) } catch {
            throw UsageFailure("cannot read \(config): give --config, or --chip and --line")
        }
        let board: BoardConfig
        do { board = try TOMLDecoder().decode(BoardConfig.self, from: text) } catch {
            throw UsageFailure("\(config): \(error)")
        }
        do { try board.validate() } catch { throw UsageFailure("\(config): \(error)") }
        return board
    }

    /// One door: from the flags, or found in the config by id or section name.
    func selectedDoor() throws -> DoorConfig {
        if let chip, let line {
            return DoorConfig(id: door ?? "TEST/RELAY", relay: LineConfig(chip: chip, line: line, activeLow: activeLow))
        }
        let board = try board()
        guard let door else {
            guard board.doors.count == 1, let only = board.doors.values.first else {
                throw UsageFailure("\(config) has several doors; pick one with --door")
            }
            return only
        }
        guard let found = board.doors[door] ?? board.doors.values.first(where: { $0.id == door }) else {
            throw UsageFailure(
                "\(config) has no door \(door); it has \(board.doors.values.map(\.id).sorted().joined(separator: ", "))"
            )
        }
        return found
    }
}

struct DoorCommandGroup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "door",
        abstract: "Installer tools for door hardware (libgpiod).",
        subcommands: [Info.self, TestRelay.self, Watch.self]
    )

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List GPIO chips and lines, their names and who holds them."
        )

        func run() throws {
            let chips = GPIOInventory.scan()
            print("\(LibGPIOD.description); \(chips.count) chip(s)")
            let release = ReleaseCheck.run()
            print("fail-secure: \(release.advice)")
            if chips.isEmpty {
                print("no /dev/gpiochip* found (is the service allowed to see them? see docs/install.md)")
            }
            for chip in chips {
                print("\(chip.name) [\(chip.label)] \(chip.lines.count) lines")
                for line in chip.lines where line.name != nil || line.used {
                    let direction = line.output ? "output" : "input"
                    let holder = line.used ? "held by \"\(line.consumer ?? "?")\"" : "free"
                    print(
                        "  \(String(line.offset).padding(toLength: 4, withPad: " ", startingAt: 0)) "
                            + "\((line.name ?? "-").padding(toLength: 16, withPad: " ", startingAt: 0)) "
                            + "\(direction)\(line.activeLow ? " active-low" : "")  \(holder)"
                    )
                }
            }
        }
    }

    struct TestRelay: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "test-relay",
            abstract: "Energise a door's relay for N seconds, then lock it.",
            discussion: "The relay is taken locked and left locked. Stop the daemon first: a held line is busy."
        )

        @OptionGroup var selection: DoorSelection

        @Option(help: "How long to energise the relay (up to 30 s).")
        var seconds: Double = 3

        func run() throws {
            let door = try selection.selectedDoor()
            // SIGTERM and Ctrl-C end the test early, with the relay locked first.
            signal(SIGTERM) { _ in stopWatching.store(true, ordering: .relaxed) }
            signal(SIGINT) { _ in stopWatching.store(true, ordering: .relaxed) }
            do {
                try InstallerTools.testRelay(door, seconds: seconds, stop: { stopWatching.load(ordering: .relaxed) }) {
                    status in
                    print("\(door.id) relay \(door.relay.chip):\(door.relay.line): \(status)")
                    fflush(nil)
                }
            } catch {
                throw UsageFailure("\(error)")
            }
        }
    }

    struct Watch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print input changes (DPS, REX, tamper, fire alarm) live, with timestamps. Ctrl-C stops."
        )

        @OptionGroup var selection: DoorSelection

        func run() throws {
            let board = try selection.board()
            signal(SIGINT) { _ in stopWatching.store(true, ordering: .relaxed) }
            do {
                try InstallerTools.watch(board, keepGoing: { !stopWatching.load(ordering: .relaxed) }) {
                    input,
                    level,
                    time in
                    print("\(isoTime(Int64(time * 1000)))  \(input)  \(level ? "active" : "inactive")")
                    fflush(nil)
                }
            } catch {
                throw UsageFailure("\(error)")
            }
        }
    }
}

/// Set from the SIGINT and SIGTERM handlers, which can capture nothing.
private let stopWatching = Atomic<Bool>(false)
