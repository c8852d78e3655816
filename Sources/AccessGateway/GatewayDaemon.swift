import AccessToken
import DoorDriver
import Foundation
import HQProtocol
import HQSync
import KeyCache
import Logging
import QRCodec
import ServiceLifecycle
import Synchronization

/// The `access-gateway` daemon, composed from its configuration: the store and decider, the door
/// controller on its thread, a camera and scan loop per door, the HQ loops when the gateway is
/// enrolled, the metrics and health HTTP server and the systemd notifier, all in one
/// `ServiceGroup` that shuts down gracefully on SIGTERM or SIGINT.
///
/// Shutdown order (the reverse of start): the notifier says STOPPING, cameras stop and their
/// admitted scans are decided, every relay is driven locked, the uploader makes a last attempt of
/// a few seconds, the HTTP server stops; then the database is checkpointed and closed.
public final class GatewayDaemon: Sendable {
    public let config: GatewayConfig
    public let store: GatewayStore
    public let metrics: GatewayMetrics
    public let health: GatewayHealth
    public let clock: ClockTrust
    let decider: AccessDecider
    let doorThread: DoorControllerThread
    let sync: GatewaySync?
    let logger: Logger
    let notifier: SystemdNotifier
    /// Keeps each door's state machine in the mode the decisions see.
    let modes: DoorModeSync
    let boundPort = Mutex<Int?>(nil)
    /// The line `systemctl status` shows.
    let status: GatewayStatus
    /// Upload, snapshot and command intervals; tests shorten them.
    public let intervals: GatewaySync.Intervals
    /// The last upload attempt's bound at shutdown.
    public let finalUpload: Duration

    /// Opens the store, takes the door lines (driving every relay locked), and loads the
    /// enrolment. Nothing runs until ``run()``.
    public init(
        config: GatewayConfig,
        logger: Logger,
        metrics: GatewayMetrics = GatewayMetrics(),
        notifier: SystemdNotifier = SystemdNotifier(),
        clock: ClockTrust? = nil,
        intervals: GatewaySync.Intervals = GatewaySync.Intervals(),
        finalUpload: Duration = .seconds(3)
    ) throws(GatewayError) {
        self.config = config
        self.logger = logger
        self.metrics = metrics
        self.notifier = notifier
        self.intervals = intervals
        self.finalUpload = finalUpload
        do {
            let (opened, recovery) = try GatewayStore.openRecovering(path: config.database)
            store = opened
            if let recovery { logger.critical("database recovered: \(recovery)") }
        } catch { throw .store(error) }
        // The floor lives in the store, so a clock stepped back is caught across restarts too.
        self.clock = clock ?? ClockTrust(floor: ClockFloor(store: store))
        if let forced = ClockTrust.kernelSyncOverride {
            logger.warning(
                "test override: the kernel's clock synchronisation is taken as \(forced ? "synchronised" : "not synchronised")",
                metadata: ["variable": "\(ClockTrust.kernelSyncOverrideVariable)"]
            )
        }
        decider = AccessDecider(store: store, stalePolicy: config.stalePolicy)
        let store = self.store
        health = GatewayHealth { () -> String? in
            do {
                try store.setStateValues([.healthProbe: String(Int(Date().timeIntervalSince1970))])
                return nil
            } catch { return "\(error)" }
        }

        status = GatewayStatus(config: config, store: store, health: health, clock: self.clock)

        let recorder = DoorEventRecorder(store: store, metrics: metrics, logger: logger)
        let doorConfigs = config.board.doors.values.sorted { $0.id < $1.id }
        let board = config.board
        let io = config.doorIO
        let doorLogger = logger
        do {
            doorThread = try DoorControllerThread.start {
                let origin = ContinuousClock.now
                return try DoorController(
                    io: try Self.makeDoorIO(io, board: board, logger: doorLogger),
                    doors: doorConfigs,
                    clock: { ContinuousClock.now - origin },
                    onEvent: { door, event in recorder.record(door: door, event) }
                )
            }
        } catch { throw .doors(error) }

        // HQ's lockdowns outlive restarts, and the snapshot's door modes hold: the doors follow
        // them as the decisions do, from before the first scan.
        let trust = self.clock
        modes = DoorModeSync(
            doors: doorConfigs.map(\.id),
            store: store,
            inbox: doorThread.inbox,
            clock: SystemDoorModeClock { trust.status.trusted }
        )
        modes.apply()

        let enrolment: EnrolmentRecord?
        do { enrolment = try EnrolmentRecord.load(from: store) } catch {
            doorThread.stop()
            throw .enrolment(error)
        }
        if let enrolment {
            let (modeSync, commands) = (self.modes, HQCommandDispatcher(modes: self.modes, logger: logger))
            do {
                let identity = try DeviceIdentity.load(path: config.deviceKey, create: false)
                sync = try GatewaySync(
                    store: store,
                    enrolment: enrolment,
                    identity: identity,
                    clock: self.clock,
                    onCommand: { command in commands.carryOut(command) },
                    // A new snapshot, or HQ's time that changes whether the clock is trusted.
                    onSnapshotPull: { modeSync.refresh() }
                )
            } catch {
                doorThread.stop()
                throw .enrolment(error)
            }
            for door in doorConfigs where !enrolment.doors.contains(door.id) {
                logger.warning(
                    "this door is not among the doors HQ enrolled this gateway for: its passes will be denied wrong_door",
                    metadata: ["door": "\(door.id)", "enrolled": "\(enrolment.doors.joined(separator: ","))"]
                )
            }
        } else {
            sync = nil
            logger.warning("not enrolled with HQ: deciding from the local snapshot only; run 'gatewayctl provision'")
        }
    }

    /// Runs until SIGTERM or SIGINT (or a frame folder's end), then shuts down in order and closes
    /// the store.
    public func run() async throws {
        if let sync {
            // One bounded first sync: a fresh snapshot, and HQ's time for the clock check.
            await withTaskGroup(of: Void.self) { group in
                group.addTask { _ = try? await sync.pullSnapshot() }
                group.addTask { try? await Task.sleep(for: .seconds(5)) }
                await group.next()
                group.cancelAll()
            }
        }
        let routes = GatewayRoutes(
            listen: config.listen,
            store: store,
            metrics: metrics,
            health: health,
            clock: clock,
            logger: logger
        ) { port in self.boundPort.withLock { $0 = port } }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: routes.server()),
            .init(service: DoorControllerService(thread: doorThread, health: health, logger: logger)),
        ]
        if let sync {
            // Listed after the doors so that, stopping in reverse, the doors lock before the last upload.
            for kind in [SyncLoopService.Kind.upload, .snapshot, .commands] {
                services.append(
                    .init(
                        service: SyncLoopService(
                            kind,
                            sync: sync,
                            intervals: intervals,
                            finalUpload: finalUpload,
                            logger: logger
                        )
                    )
                )
            }
        }
        for service in cameraServices() {
            services.append(
                .init(
                    service: service,
                    successTerminationBehavior: service.finite ? .gracefullyShutdownGroup : .ignore
                )
            )
        }
        services.append(.init(service: NotifyService(notifier: notifier, health: health) { [status] in status.line() }))
        services.append(.init(service: DoorModeService(sync: modes)))
        var configuration = ServiceGroupConfiguration(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        // Within the unit's TimeoutStopSec=15: past this the group is cancelled, and the door
        // thread still locks every relay as it ends.
        configuration.maximumGracefulShutdownDuration = .seconds(10)
        let group = ServiceGroup(configuration: configuration)
        logger.notice("started", metadata: ["doors": "\(config.board.doors.count)", "listen": "\(config.listen)"])
        do { try await group.run() } catch {
            logger.error("stopping after a failure", metadata: ["error": "\(error)"])
            closeStore()
            throw error
        }
        closeStore()
    }

    /// The port the HTTP server listens on, once it does.
    public var listeningPort: Int? { boundPort.withLock { $0 } }

    private func closeStore() {
        do {
            try store.close()
            logger.notice("database closed")
        } catch {
            logger.error("database did not close cleanly", metadata: ["error": "\(error)"])
        }
    }

    // MARK: - Composition

    static func makeDoorIO(_ kind: GatewayConfig.DoorIOKind, board: BoardConfig, logger: Logger) throws -> any DoorIO {
        switch kind {
        case .gpio:
            return try GPIODoorIO(board: board)
        case .memory:
            var wired: [String: Set<DoorOutput>] = [:]
            for door in board.doors.values {
                let roles = Set(door.lines.map(\.0))
                wired[door.id] = Set(DoorOutput.allCases.filter { roles.contains($0.rawValue) })
            }
            let io = MemoryDoorIO(outputs: wired, inputs: [], blocking: true)
            io.onSet = { door, output, on in
                logger.info(
                    "\(output.rawValue) \(on ? "on" : "off")",
                    metadata: ["door": "\(door)", "io": "memory"]
                )
            }
            return io
        }
    }

    func cameraServices() -> [DoorCameraService] {
        var services: [DoorCameraService] = []
        // An AG2 code is single-use: held in view, it must be decided once, not again as `replayed`.
        let scan = ScanSettings(
            prefixCooldowns: [HolderBoundPass.prefix: .seconds(Int64(2 * config.proofWindow + 5))],
            frameGate: config.idleGate ? FrameGate.Settings() : nil
        )
        for door in config.board.doors.values.sorted(by: { $0.id < $1.id }) {
            let id = door.id
            let open: @Sendable () throws -> any FrameSource
            let finite: Bool
            if let folder = config.frameFolders[id] {
                open = { try PGMFolderSource(folder: folder.path, fps: folder.fps) }
                finite = true
            } else if let camera = config.cameras[id] {
                open = { try V4L2Camera(camera) }
                finite = false
            } else {
                continue
            }
            let (decider, inbox, clock, reporter, modes) = (
                decider, doorThread.inbox, clock, DecisionReporter(metrics: metrics, logger: logger), modes
            )
            let (policy, window) = (config.holderBound[id] ?? .optional, config.proofWindow)
            services.append(
                DoorCameraService(
                    door: id,
                    scan: scan,
                    finite: finite,
                    health: health,
                    logger: logger,
                    open: open
                ) {
                    Entrance(
                        door: id,
                        decider: decider,
                        doorInbox: inbox,
                        clockTrusted: { clock.status.trusted },
                        holderBound: policy,
                        proofWindow: window,
                        // First-person-in: the door must know whether its window is open when the grant arrives.
                        beforeGrant: { _ = modes.apply() },
                        report: { outcome in reporter.report(outcome) }
                    )
                }
            )
        }
        return services
    }
}
