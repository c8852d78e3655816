// swift-tools-version:6.1
// The libFuzzer targets, a package of their own so that the root package's `swift build` and
// `swift test` never see executables whose `main` only libFuzzer supplies. scripts/fuzz.sh builds
// it with `-Xswiftc -sanitize=fuzzer,address`, which instruments the root package's modules that
// the harnesses import as well as the harnesses.
import PackageDescription

let accessToken = Target.Dependency.product(name: "AccessToken", package: "AccessGateway")
let hqProtocol = Target.Dependency.product(name: "HQProtocol", package: "AccessGateway")
let accessPolicy = Target.Dependency.product(name: "AccessPolicy", package: "AccessGateway")
let crypto = Target.Dependency.product(name: "Crypto", package: "swift-crypto")

/// One libFuzzer binary, `fuzz-<name>`, from the harness in Harnesses/<name>.
func harness(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .executableTarget(name: "fuzz-\(name)", dependencies: ["FuzzSupport"] + dependencies, path: "Harnesses/\(name)")
}

let package = Package(
    name: "AccessGatewayFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "AccessGateway", path: "../.."),
        // The ag1 and hqcommand harnesses sign their seeds with fixed keys; the root's requirement.
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    ],
    targets: [
        // libFuzzer's LLVMFuzzerRunDriver, to which each harness's `main` hands its input function.
        .target(name: "CLibFuzzer", path: "Harnesses/CLibFuzzer"),
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzer"], path: "Harnesses/FuzzSupport"),
        harness("cbor", [accessToken]),
        harness("cose", [accessToken]),
        harness("ag1", [accessToken, crypto]),
        harness("base45", [accessToken]),
        // DoorSchedule (AccessPolicy) evaluates the schedules that a snapshot carries, as apply does.
        harness("snapshot", [hqProtocol, accessPolicy]),
        harness("hqcommand", [accessToken, hqProtocol, crypto]),
    ],
    swiftLanguageModes: [.v6]
)
