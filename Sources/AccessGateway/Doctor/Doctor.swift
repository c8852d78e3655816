import DoorDriver
import Foundation
import HQSync
import KeyCache
import QRCodec

/// `gatewayctl doctor`: checks an installation end to end, each problem with a precise fix.
///
/// Everything it touches outside the configuration file and the database comes through
/// ``Environment``, so tests can hand it a wrong line, a missing camera or an untrusted clock.
public struct Doctor: Sendable {
    /// An HTTP answer: the status code and the body.
    public struct HTTPReply: Sendable {
        /// The HTTP status code.
        public var status: Int
        /// The body, its transfer encoding undone.
        public var body: [UInt8]

        /// An answer of `status` with `body`.
        public init(status: Int, body: [UInt8]) {
            self.status = status
            self.body = body
        }
    }

    /// Why an HTTP probe got no answer.
    public enum ProbeError: Error, Sendable, Equatable {
        /// Nothing listens there.
        case refused
        /// Anything else: resolution, timeout, a reset, an unreadable answer.
        case failed(String)
    }

    /// The world outside the configuration and the database.
    public struct Environment: Sendable {
        /// Whether the kernel reports the clock synchronised (adjtimex).
        public var clockSynchronised: @Sendable () -> Bool
        /// The machine's GPIO chips and their lines, with holders.
        public var gpioChips: @Sendable () -> [GPIOChipInfo]
        /// The libgpiod in use, version and API ("libgpiod 2.2.1 (v2 API)").
        public var gpioLibrary: @Sendable () -> String
        /// Whether the kernel drops a dead process's outputs (a Raspberry Pi's `strict_gpiod`).
        public var releaseCheck: @Sendable () -> ReleaseCheck.Result
        /// Opens a camera as the service would.
        public var openCamera: @Sendable (CameraSettings) throws -> any FrameSource
        /// A GET of `path` at `host:port`, plain HTTP, with a short timeout.
        public var httpGet:
            @Sendable (_ host: String, _ port: Int, _ path: String) async throws(ProbeError) -> HTTPReply
        /// The wall clock, in seconds since 1970.
        public var now: @Sendable () -> Double

        /// The real board: adjtimex, libgpiod, V4L2 through zbar, AsyncHTTPClient, the wall clock.
        public init(
            clockSynchronised: @escaping @Sendable () -> Bool = ClockTrust.kernelSynchronisedOrTestOverride,
            gpioChips: @escaping @Sendable () -> [GPIOChipInfo] = GPIOInventory.scan,
            gpioLibrary: @escaping @Sendable () -> String = { LibGPIOD.description },
            releaseCheck: @escaping @Sendable () -> ReleaseCheck.Result = { ReleaseCheck.run() },
            openCamera: @escaping @Sendable (CameraSettings) throws -> any FrameSource = { try V4L2Camera($0) },
            httpGet: @escaping @Sendable (String, Int, String) async throws(ProbeError) -> HTTPReply = {
                (host, port, path) async throws(ProbeError) in
                try await Doctor.plainGet(host: host, port: port, path: path)
            },
            now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
        ) {
            self.clockSynchronised = clockSynchronised
            self.gpioChips = gpioChips
            self.gpioLibrary = gpioLibrary
            self.releaseCheck = releaseCheck
            self.openCamera = openCamera
            self.httpGet = httpGet
            self.now = now
        }
    }

    /// What the checks look at outside the configuration and the database.
    public var environment: Environment
    /// How long each camera is read to measure its frame rate.
    public var cameraSeconds: Double

    /// A doctor for this board, or for the world `environment` stands for.
    public init(environment: Environment = Environment(), cameraSeconds: Double = 2) {
        self.environment = environment
        self.cameraSeconds = cameraSeconds
    }

    static let configFirst = "fix the config first"

    /// Runs every check, in the order an installer fixes things: config, cameras, GPIO, clock, HQ,
    /// snapshot, disk, database, the service. A bad config skips the checks that need it.
    public func run(configPath: String) async -> [DoctorCheck] {
        let (configCheck, loaded) = checkConfig(path: configPath)
        guard let config = loaded else {
            let skipped = ["camera", "gpio", "hq", "snapshot", "disk", "database", "service"].map {
                DoctorCheck.fail($0, "not checked: the config is not valid", fix: Self.configFirst)
            }
            return [configCheck] + skipped.prefix(2) + [checkClock()] + skipped.dropFirst(2)
        }
        // The service's health first: a camera it holds is busy, and that is no fault.
        let service = await checkService(config)
        let cameras = checkCameras(config, serviceRunning: service.status == .ok)
        let opening = openStore(config)
        var floor: Double?
        if case .opened(let store) = opening { floor = ClockFloor.stored(in: store) }
        var checks = [configCheck] + cameras + [checkGPIO(config), checkClock(floor: floor)]
        switch opening {
        case .opened(let store):
            checks += [await checkHQ(config, store), checkSnapshot(config, store), checkDisk(config)]
            checks.append(checkDatabase(store))
        case .failed(let problem):
            checks += ["hq", "snapshot"].map {
                DoctorCheck.fail($0, "not checked: the database cannot be opened", fix: "fix the database first")
            }
            checks += [checkDisk(config), problem]
        }
        checks.append(service)
        return checks
    }

    /// `gatewayctl ` with `--db` when the database is not the default one.
    static func ctl(_ config: GatewayConfig) -> String {
        config.database == GatewayStore.defaultPath ? "gatewayctl " : "gatewayctl --db \(config.database) "
    }
}
