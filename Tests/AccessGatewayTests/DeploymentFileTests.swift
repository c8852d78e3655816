import Foundation
import TestSupport
import Testing

/// The systemd unit and udev rules that installers copy onto the board.
@Suite struct DeploymentFileTests {
    static let unit = TestPaths.packageRoot.appendingPathComponent("systemd/access-gateway.service").path
    static let rules = TestPaths.packageRoot.appendingPathComponent("udev/70-access-gateway.rules").path

    @Test func theUnitScoresAtMostTwoAndAHalfInSystemdsSecurityAnalysis() throws {
        let result = try runTool("systemd-analyze", ["security", "--offline=true", Self.unit])
        let line = try #require(result.stdout.split(separator: "\n").last { $0.contains("Overall exposure level") })
        // "…access-gateway.service: 1.8 OK 🙂"; systemd 257 without a UTF-8 terminal ends it ":-)".
        let score = try #require(line.firstMatch(of: /\.service: ([0-9]+\.[0-9]+)/).flatMap { Double($0.1) })
        #expect(score <= 2.5, "\(line)")
    }

    /// The unit leaves addresses open (HQ's are not known when it is built); the drop-in that
    /// sites install once they know HQ's ranges denies everything else, loopback excepted.
    @Test func theHQOnlyDropInDeniesEveryAddressButLoopbackAndHQs() throws {
        let unit = try String(contentsOfFile: Self.unit, encoding: .utf8)
        let dropIn = try String(
            contentsOfFile: TestPaths.packageRoot.appendingPathComponent("systemd/hq-only.conf").path,
            encoding: .utf8
        )
        let settings = dropIn.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.hasPrefix("[") && !$0.isEmpty }
        #expect(settings.first == "IPAddressDeny=any" && settings.contains("IPAddressAllow=localhost"))
        // The unit as systemd merges it with the drop-in: the allow list is then in force.
        let merged = unit.replacingOccurrences(of: "[Install]", with: settings.joined(separator: "\n") + "\n\n[Install]")
        let file = try TestPaths.temporaryDirectory().appendingPathComponent("access-gateway.service")
        try merged.write(to: file, atomically: true, encoding: .utf8)
        let result = try runTool("systemd-analyze", ["security", "--offline=true", file.path])
        let line = try #require(result.stdout.split(separator: "\n").first { $0.contains("IPAddressDeny=") })
        #expect(line.contains("defines IP address allow list"), "\(line)")
    }

    @Test func theUnitKeepsWhatTheDaemonNeeds() throws {
        let text = try String(contentsOfFile: Self.unit, encoding: .utf8)
        for setting in [
            "Type=notify", "WatchdogSec=", "Restart=on-failure", "RestartPreventExitStatus=78", "NoNewPrivileges=yes",
            "ProtectSystem=strict", "DevicePolicy=closed", "DeviceAllow=char-gpiochip rw",
            "DeviceAllow=char-video4linux rw", "SystemCallFilter=@system-service adjtimex", "CapabilityBoundingSet=\n",
            "StateDirectory=access-gateway", "ConfigurationDirectory=access-gateway",
        ] {
            #expect(text.contains(setting), "missing \(setting)")
        }
        // The clock-trust check reads adjtimex: nothing may filter or hide the clock.
        let settings = text.split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(!settings.contains { $0.hasPrefix("ProtectClock=") })
        #expect(!settings.contains { $0.contains("@clock") })
    }

    /// A udev rule line: comma-separated KEY OP "VALUE" pairs, matches before assignments.
    @Test func everyUdevRuleParses() throws {
        let matchKeys = ["SUBSYSTEM", "KERNEL", "ATTR", "ENV", "ACTION", "DRIVERS", "ATTRS", "SUBSYSTEMS"]
        let assignKeys = ["GROUP", "MODE", "SYMLINK", "TAG", "OWNER", "ENV"]
        let pattern = try Regex(#"^\s*([A-Z]+)(\{[A-Za-z_]+\})?\s*(==|!=|\+=|=|:=)\s*"([^"]*)"\s*$"#)
        var rules = 0
        for line in try String(contentsOfFile: Self.rules, encoding: .utf8).split(separator: "\n") {
            guard !line.hasPrefix("#"), !line.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
            rules += 1
            for pair in line.split(separator: ",") {
                let match = try #require(try pattern.wholeMatch(in: String(pair)), "cannot parse \(pair)")
                let key = String(match.output[1].substring ?? "")
                let op = String(match.output[3].substring ?? "")
                let isMatch = op == "==" || op == "!="
                #expect(isMatch ? matchKeys.contains(key) : assignKeys.contains(key), "\(key)\(op) in \(line)")
            }
        }
        #expect(rules == 4)
    }
}
