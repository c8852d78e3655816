import DoorDriver
import Foundation
import Testing

@Suite struct ReleaseCheckTests {
    /// A fake /proc and /sys tree.
    func tree(model: String?, parameters: [String: String]) throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("release-\(UUID().uuidString)").path
        if let model {
            try FileManager.default.createDirectory(
                atPath: root + "/proc/device-tree",
                withIntermediateDirectories: true
            )
            try Data((model + "\0").utf8).write(to: URL(fileURLWithPath: root + "/proc/device-tree/model"))
        }
        for (path, value) in parameters {
            let full = root + "/sys/module/" + path
            try FileManager.default.createDirectory(
                atPath: (full as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true
            )
            try Data((value + "\n").utf8).write(to: URL(fileURLWithPath: full))
        }
        return root
    }

    static let cases: [(String, String?, [String: String], Bool)] = [
        ("a PC", nil, [:], true),
        (
            "a Pi 5 with strict_gpiod", "Raspberry Pi 5 Model B Rev 1.0", ["pinctrl_rp1/parameters/strict_gpiod": "Y"],
            true
        ),
        (
            "a Pi 4 without it", "Raspberry Pi 4 Model B Rev 1.4", ["pinctrl_bcm2835/parameters/strict_gpiod": "N"],
            false
        ),
        (
            "a newer Pi kernel persisting outputs", "Raspberry Pi 4 Model B",
            ["pinctrl_bcm2835/parameters/persist_gpio_outputs": "Y"], false
        ),
        (
            "a newer Pi kernel releasing them", "Raspberry Pi 4 Model B",
            ["pinctrl_bcm2835/parameters/persist_gpio_outputs": "N"], true
        ),
        ("a Pi that says nothing", "Raspberry Pi 3 Model B", [:], false),
    ]

    @Test(arguments: cases)
    func detectsWhetherReleasedOutputsDrop(
        name: String,
        model: String?,
        parameters: [String: String],
        safe: Bool
    ) throws {
        let result = ReleaseCheck.run(root: try tree(model: model, parameters: parameters))
        #expect(result.isSafe == safe, "\(name): \(result)")
        if !safe { #expect(result.advice.contains("dtparam=strict_gpiod"), "\(name)") }
    }
}
