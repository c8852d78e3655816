import AccessGateway
import ArgumentParser
import Foundation

/// `gatewayctl doctor`: every check of ``Doctor``, for a person or (`--json`) for a script.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the installation: config, cameras, GPIO, clock, HQ, snapshot, disk, database, service.",
        discussion: """
            Each problem is printed with its fix. Exit status: 0 when nothing fails (warnings \
            allowed), 1 when a check fails, 2 on a usage error. --json prints {"ok", "checks"}.
            """
    )

    @Option(help: "The gateway configuration.")
    var config = "/etc/access-gateway/gateway.toml"

    @Flag(help: "Print one JSON document: {\"ok\": bool, \"checks\": [{name, status, detail, fix}]}.")
    var json = false

    @Option(help: "How long to read each camera to measure its frame rate, in seconds.")
    var cameraSeconds: Double = 2

    func validate() throws {
        guard cameraSeconds > 0 && cameraSeconds <= 30 else {
            throw ValidationError("--camera-seconds \(cameraSeconds); allowed: more than 0, up to 30")
        }
    }

    func run() async throws {
        let doctor = Doctor(cameraSeconds: cameraSeconds)
        let report = DoctorReport(checks: await doctor.run(configPath: config))
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            for check in report.checks {
                // FAIL in capitals, so that it stands out among the oks.
                let status = check.status == .fail ? "FAIL" : check.status.rawValue
                print(Self.column(status, 5) + Self.column(check.name, 10) + check.detail)
                if let fix = check.fix, check.status != .ok { print("     fix: \(fix)") }
            }
        }
        if !report.ok { throw ExitCode(1) }
    }

    static func column(_ text: String, _ width: Int) -> String {
        text.padding(toLength: max(width, text.count + 1), withPad: " ", startingAt: 0)
    }
}
