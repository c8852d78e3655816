import ArgumentParser
import Foundation
import KeyCache

/// The installer's and integrator's command-line tool.
///
/// Exit status: 0 on success (a granted pass), 1 on a denial or a frame with no code (or a failed
/// rule of `hq check`), 2 on a usage error or an unreadable input, 3 when `hq check` cannot reach HQ.
struct GatewayCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gatewayctl",
        abstract: "Work with AccessGateway QR codes and AG1 passes, and check an HQ.",
        subcommands: [
            QRCommand.self, TokenCommand.self, SnapshotCommand.self, DecideCommand.self, LogCommand.self,
            DoorCommandGroup.self, CameraCommand.self, ProvisionCommand.self, SyncCommand.self, DoctorCommand.self,
            HQCommandGroup.self,
        ]
    )

    @OptionGroup var store: StoreOptions

    static func main() async {
        // A parent may have left signals blocked (test runners do); Ctrl-C and SIGTERM must work.
        var none = sigset_t()
        sigemptyset(&none)
        sigprocmask(SIG_SETMASK, &none, nil)
        do {
            var command = try parseAsRoot()
            // Commands that talk to HQ or run the doctor are async; the rest run as they are.
            if var asynchronous = command as? AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            // --help and --version are not errors.
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            // Commands throw ExitCode for the denial and no-code outcomes; they have printed already.
            if let outcome = error as? ExitCode { Foundation.exit(outcome.rawValue) }
            let message = (error as? UsageFailure)?.description ?? fullMessage(for: error)
            FileHandle.standardError.write(Data("gatewayctl: \(message)\n".utf8))
            Foundation.exit(2)
        }
    }
}

/// gatewayctl's entry point: the `gatewayctl` executable, and `access-gateway` when it is run by
/// that name (the package installs one binary under both).
public enum GatewayCtlProgram {
    /// Parses `CommandLine.arguments`, runs the command and exits with its status.
    public static func main() async -> Never {
        await GatewayCtl.main()
        Foundation.exit(0)
    }
}

/// `--db`, accepted before the subcommand: `gatewayctl --db PATH snapshot show`.
struct StoreOptions: ParsableArguments {
    @Option(help: "The gateway database.")
    var db: String = GatewayStore.defaultPath

    /// Opens the store; only commands that write a first record may create it.
    func open(create: Bool = false) throws -> GatewayStore {
        do { return try GatewayStore(path: db, create: create) } catch { throw UsageFailure("\(error)") }
    }
}

/// A failure the user can fix: a file that cannot be read, a key that cannot be loaded.
struct UsageFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Reads a whole file, naming it in the error.
func readFile(_ path: String) throws -> Data {
    guard FileManager.default.fileExists(atPath: path) else { throw UsageFailure("cannot read \(path): no such file") }
    do { return try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
        throw UsageFailure("cannot read \(path): \((error as NSError).localizedDescription)")
    }
}

/// Prints one JSON object on one line, with its keys in the given order and nil as null.
func printJSONLine(_ members: KeyValuePairs<String, Any?>) {
    print(jsonLine(members))
}

/// One JSON object on one line, with its keys in the given order and nil as null.
func jsonLine(_ members: KeyValuePairs<String, Any?>) -> String {
    let body = members.map { key, value -> String in
        let json =
            (try? JSONSerialization.data(
                withJSONObject: value ?? NSNull(),
                options: [.fragmentsAllowed, .withoutEscapingSlashes]
            )).map { String(decoding: $0, as: UTF8.self) } ?? "null"
        return "\"\(key)\":\(json)"
    }
    return "{" + body.joined(separator: ",") + "}"
}
