// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "AccessGateway",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "access-gateway", targets: ["access-gateway"]),
        .executable(name: "gatewayctl", targets: ["gatewayctl"]),
        .executable(name: "access-hq-dev", targets: ["access-hq-dev"]),
        .library(name: "QRCodec", targets: ["QRCodec"]),
        .library(name: "AccessToken", targets: ["AccessToken"]),
        // For the fuzz harnesses' own package (Tests/Fuzz), which builds them against these modules.
        .library(name: "HQProtocol", targets: ["HQProtocol"]),
        .library(name: "AccessPolicy", targets: ["AccessPolicy"]),
    ],
    traits: [
        .trait(
            name: "ZXing",
            description: "zxing-cpp (Debian's libzxing-dev) as the second QR decoder of the default chain"
        ),
        .default(enabledTraits: ["ZXing"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // C libraries from Debian packages, one system-library target each.
        .systemLibrary(name: "CZBar", pkgConfig: "zbar", providers: [.apt(["libzbar-dev"])]),
        .systemLibrary(name: "CQREncode", pkgConfig: "libqrencode", providers: [.apt(["libqrencode-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // glibc's <sys/timex.h>, for the clock-trust check; not in Swift's Glibc module.
        .systemLibrary(name: "CTimex", providers: [.apt(["libc6-dev"])]),
        // zlib: snapshot chunks are gzip (HQSync), and the EU DCC test corpus is zlib.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

        // libgpiod v1 (1.6) or v2 (2.x), whichever libgpiod-dev installed: the shim picks the API
        // from <gpiod.h>, so a plain `swift build` works on Debian 12 and Debian 13 alike.
        .target(name: "CGPIOD", linkerSettings: [.linkedLibrary("gpiod")]),
        // Without the ZXing trait (`--disable-default-traits`) the shim reports zxing missing, and
        // the default chain is zbar's alone.
        .target(
            name: "CZXing",
            cxxSettings: [.define("AG_ZXING", .when(traits: ["ZXing"]))],
            linkerSettings: [.linkedLibrary("ZXing", .when(traits: ["ZXing"]))]
        ),
        .target(name: "QRCodec", dependencies: ["CZBar", "CQREncode", "CZXing"]),
        .target(
            name: "AccessToken",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),
        // What HQ and the gateway exchange: the audit event and its chain hash, the snapshot
        // documents, signed documents and commands, device tokens. The reference HQ builds on it.
        .target(
            name: "HQProtocol",
            dependencies: ["AccessToken", "CZlib", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // The access decision as a function of what the store read; KeyCache applies what it returns.
        .target(name: "AccessPolicy", dependencies: ["AccessToken", "HQProtocol"]),
        .target(
            name: "KeyCache",
            dependencies: [
                "CSQLite", "AccessToken", "HQProtocol", "AccessPolicy", .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .target(name: "DoorDriver", dependencies: ["CGPIOD"]),
        .target(
            name: "HQSync",
            dependencies: [
                "KeyCache", "HQProtocol", "AccessToken", "CTimex",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                // Its error types tell a failed TLS handshake from an unreachable HQ.
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // The composition: frame → decode → decide and record → door. The daemon's entry point is
        // its Daemon folder, so that tests, benchmarks and the hardware stage share the composition.
        .target(
            name: "AccessGateway",
            dependencies: [
                "QRCodec", "AccessToken", "HQProtocol", "AccessPolicy", "KeyCache", "DoorDriver", "HQSync",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                // doctor's probe of the service's /healthz; NIO's error types tell a refused connection.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            exclude: ["Daemon"]
        ),
        // gatewayctl's commands, as a library so that one binary can hold both programs.
        .target(
            name: "GatewayControl",
            dependencies: [
                "AccessGateway", "QRCodec", "AccessToken", "HQProtocol", "AccessPolicy", "KeyCache", "DoorDriver",
                "HQSync",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ],
            path: "Sources/gatewayctl",
            exclude: ["Main"]
        ),
        // One program, two names (like busybox): run as gatewayctl it is gatewayctl, otherwise the
        // daemon. The .deb ships this one binary; /usr/bin/gatewayctl is a symlink to it.
        .executableTarget(
            name: "access-gateway",
            dependencies: ["AccessGateway", "GatewayControl"],
            path: "Sources/AccessGateway/Daemon",
            linkerSettings: [
                // The release binary, which the .deb ships: lld packs its relative relocations
                // (DT_RELR; glibc 2.36, Debian 12, has it) and the binary exports no symbols (the
                // static runtime's link flags ask for -export-dynamic; nothing loads into it). It is
                // 8.7 MB smaller, and the loader touches 3 MB fewer pages at start.
                .unsafeFlags(
                    ["-use-ld=lld", "-Xlinker", "--no-export-dynamic", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"],
                    .when(configuration: .release)
                )
            ]
        ),
        .executableTarget(name: "gatewayctl", dependencies: ["GatewayControl"], path: "Sources/gatewayctl/Main"),

        .target(
            name: "TestSupport",
            dependencies: [
                "QRCodec", "AccessToken", "HQProtocol", "AccessPolicy", "KeyCache",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Tests/TestSupport"
        ),
        // The reference HQ, for development, the demo and the integration tests; not production.
        // It shares the protocol with the gateway, not the gateway's store or its sync.
        .executableTarget(
            name: "access-hq-dev",
            dependencies: [
                "HQProtocol", "AccessToken", "QRCodec",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Tests/ReferenceHQ"
        ),
        // The door and camera tests for a real kernel: `make hwtest` runs it under qemu against
        // gpio-sim and vivid.
        .executableTarget(
            name: "door-hwtest",
            dependencies: [
                "AccessGateway", "DoorDriver", "HQProtocol", "HQSync", "AccessPolicy", "KeyCache", "QRCodec",
                "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/HardwareTests"
        ),
        // `make bench` runs it; the figures go to docs/BENCHMARKS.md.
        .executableTarget(
            name: "ag-bench",
            dependencies: [
                "AccessGateway", "AccessToken", "DoorDriver", "HQProtocol", "HQSync", "AccessPolicy", "KeyCache", "QRCodec",
                "TestSupport",
            ],
            path: "Tests/Benchmarks"
        ),
        .testTarget(name: "SystemLibraryTests", dependencies: ["DoorDriver", "KeyCache", "QRCodec"]),
        .testTarget(name: "DoorDriverTests", dependencies: ["DoorDriver"]),
        .testTarget(name: "AccessPolicyTests", dependencies: ["AccessPolicy", "AccessToken", "HQProtocol", "TestSupport"]),
        .testTarget(
            name: "HQSyncTests",
            dependencies: [
                "HQSync", "HQProtocol", "AccessPolicy", "KeyCache", "AccessToken", "QRCodec", "TestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                // A test client that trusts the fault server's self-signed certificate.
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // Tests that start processes (the reference HQ, the daemon, a misbehaving HQ, a browser) and
        // wait for them: `make test` runs them as a stage of their own, so that their waits never
        // hold the cooperative pool that the unit tests time their async work on.
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "AccessGateway", "HQSync", "HQProtocol", "AccessPolicy", "KeyCache", "AccessToken", "QRCodec",
                "TestSupport", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                // A test client that trusts the fault server's self-signed certificate.
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .testTarget(
            name: "AccessGatewayTests",
            dependencies: [
                "AccessGateway", "DoorDriver", "HQProtocol", "HQSync", "AccessPolicy", "KeyCache", "QRCodec", "TestSupport",
            ]
        ),
        .testTarget(
            name: "KeyCacheTests",
            dependencies: [
                "AccessPolicy", "KeyCache", "HQProtocol", "AccessToken", "QRCodec", "TestSupport",
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(name: "QRCodecTests", dependencies: ["QRCodec", "AccessToken", "TestSupport"]),
        .testTarget(name: "AccessTokenTests", dependencies: ["AccessToken", "QRCodec", "CZlib", "TestSupport"]),
        .testTarget(
            name: "GatewayctlTests",
            dependencies: ["gatewayctl", "access-gateway", "AccessToken", "HQProtocol", "QRCodec", "TestSupport"]
        ),
    ],
    swiftLanguageModes: [.v6],
    cxxLanguageStandard: .cxx17
)
