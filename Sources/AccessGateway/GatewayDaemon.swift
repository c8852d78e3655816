import AccessToken
import DoorDriver
import Foundation
import HQProtocol
import HQSync
import Hummingbird
import KeyCache
import Logging
import QRCodec
import ServiceLifecycle
import Synchronization

/// Why the daemon cannot start; each case says what to fix.
public enum GatewayError: Error, Sendable, CustomStringConvertible {
    /// The configuration is wrong: exit 78, not restarted.
    case config(GatewayConfigError)
    /// The database cannot be opened or written.
    case store(KeyCacheError)
    /// The door lines cannot be taken (missing, or held by another program).
    case doors(DoorDriverError)
    /// The enrolment or the device key is unusable.
    case enrolment(HQSyncError)

    public var description: String {
        switch self {
        case .config(let error): "configuration: \(error)"
        case .store(let error): "database: \(error); check the path and its permissions, or run 'gatewayctl doctor'"
        case .doors(let error): "doors: \(error); 'gatewayctl door info' lists the lines and who holds them"
        case .enrolment(let error): "enrolment: \(error); re-provision with 'gatewayctl provision'"
        }
    }

    /// The process exit status: 78 (EX_CONFIG) for a configuration error, 1 otherwise.
    public var exitStatus: Int32 {
        if case .config = self { return GatewayConfigError.exitStatus }
        return 1
    }
}

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
            let (modeSync, commandLogger) = (self.modes, logger)
            do {
                let identity = try DeviceIdentity.load(path: config.deviceKey, create: false)
                sync = try GatewaySync(
                    store: store,
                    enrolment: enrolment,
                    identity: identity,
                    clock: self.clock,
                    onCommand: { command in Self.carryOut(command, modes: modeSync, logger: commandLogger) },
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
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: httpServer()),
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
        services.append(.init(service: NotifyService(notifier: notifier, health: health) { [self] in statusLine() }))
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

    /// One line for `systemctl status`.
    func statusLine() -> String {
        let info = try? store.snapshotHeader()
        let backlog = (try? store.uploadBacklog()) ?? 0
        let failing = health.checks().filter { !$0.ok }.map(\.name)
        var line = "\(config.board.doors.count) doors"
        let now = Date().timeIntervalSince1970
        line +=
            info.map { ", snapshot \($0.seq), \(Doctor.offlineBound($0, now: now, policy: config.stalePolicy))" }
            ?? ", no snapshot"
        line += ", backlog \(backlog)"
        line += clock.status.trusted ? "" : ", clock untrusted"
        line += failing.isEmpty ? ", healthy" : ", failing: \(failing.joined(separator: ", "))"
        return line
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

    /// HQ's accepted commands, as door stimuli. Lockdowns are already stored for the decisions, so
    /// bringing the doors to their modes carries a lockdown (or its lifting) out; an unlock follows
    /// that, so a door in lockdown refuses it (and its state machine reports the refusal).
    public static func carryOut(_ command: HQCommand, modes: DoorModeSync, logger: Logger) {
        switch command.action {
        case .unlock(let door, let seconds):
            let target = modes.apply()[door]
            if target?.mode == .lockdown {
                logger.warning("HQ unlock refused: the door is in lockdown", metadata: ["door": "\(door)", "id": "\(command.id)"])
            } else {
                logger.notice("HQ unlock", metadata: ["door": "\(door)", "seconds": "\(seconds)", "id": "\(command.id)"])
            }
            modes.inbox.send(.stimulus(.remoteUnlock(seconds: seconds)), to: door)
        case .lockdown(let door, let on):
            logger.notice("HQ lockdown \(on ? "on" : "off")", metadata: ["door": "\(door ?? "*")", "id": "\(command.id)"])
            // A door stays locked while `*` or the snapshot still holds it.
            modes.apply()
        case .resync:
            logger.notice("HQ asked for a resync", metadata: ["id": "\(command.id)"])
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
            let (decider, inbox, clock, metrics, logger, modes) = (
                decider, doorThread.inbox, clock, metrics, logger, modes
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
                        report: { outcome in Self.report(outcome, metrics: metrics, logger: logger) }
                    )
                }
            )
        }
        return services
    }

    /// One log line and the metrics for a decided scan. The log names the pass by its id: a whole
    /// pass is a credential and never goes to the journal.
    static func report(_ outcome: EntranceDecision, metrics: GatewayMetrics, logger: Logger) {
        let decodeMs = Double(outcome.code.decodeTime.components.attoseconds) / 1e15
            + Double(outcome.code.decodeTime.components.seconds) * 1000
        let latency = outcome.commandedAt - outcome.code.capturedAt
        let relayMs = Double(latency.components.seconds) * 1000 + Double(latency.components.attoseconds) / 1e15
        guard let decision = outcome.decision else {
            metrics.scanned(door: outcome.door, reason: "not_recorded", granted: false, decodeMs: decodeMs, scanToRelayMs: nil)
            logger.error(
                "scan not decided; the door stays shut",
                metadata: ["door": "\(outcome.door)", "error": "\(outcome.failure ?? "unknown")"]
            )
            return
        }
        metrics.scanned(
            door: outcome.door,
            reason: decision.reason.rawValue,
            granted: decision.granted,
            decodeMs: decodeMs,
            scanToRelayMs: decision.granted ? relayMs : nil
        )
        var metadata: Logger.Metadata = [
            "door": "\(outcome.door)", "reason": "\(decision.reason.rawValue)", "seq": "\(decision.seq)",
            "hash": "\(decision.hash)",
            "decode_ms": "\(String(format: "%.1f", decodeMs))",
        ]
        if let pass = decision.pass { metadata["pass"] = "\(pass)" }
        if let member = decision.member { metadata["member"] = "\(member)" }
        if decision.granted { metadata["scan_to_relay_ms"] = "\(String(format: "%.1f", relayMs))" }
        logger.info(decision.granted ? "granted" : "denied", metadata: metadata)
    }

    /// `GET /metrics` (Prometheus text) and `GET /healthz` (200 or 503, JSON).
    func httpServer() -> some Service {
        let router = Router()
        let (metrics, health, store, clock) = (self.metrics, self.health, self.store, self.clock)
        router.get("metrics") { _, _ -> Response in
            // The gauges are read when scraped, so they are never older than the scrape; each is
            // a kept value (the header, head less cursor), never a count over a table.
            let info = try? store.snapshotHeader()
            metrics.snapshotAge(info.map { Date().timeIntervalSince1970 - Double($0.generatedAt) })
            metrics.backlog((try? store.uploadBacklog()) ?? 0)
            metrics.clockTrusted(clock.status.trusted)
            for (door, total) in health.watchedFrameCounts() { metrics.framesDelivered(door: door, total: total) }
            let refusals = (try? store.stateValues([.snapshotRefusals, .snapshotRefused])) ?? [:]
            metrics.snapshotRefusals(
                total: refusals[.snapshotRefusals].flatMap(Int.init) ?? 0,
                refusedNow: !(refusals[.snapshotRefused] ?? "").isEmpty
            )
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.exposition()))
            )
        }
        router.get("healthz") { _, _ -> Response in
            let checks = health.checks()
            return Response(
                status: checks.allSatisfy(\.ok) ? .ok : .serviceUnavailable,
                headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(data: GatewayHealth.json(checks)))
            )
        }
        var httpLogger = logger
        httpLogger.logLevel = .warning
        let (logger, listen) = (logger, config.listen)
        return Application(
            router: router,
            configuration: ApplicationConfiguration(
                address: .hostname(listen.host, port: listen.port),
                serverName: "access-gateway"
            ),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? listen.port
                self.boundPort.withLock { $0 = bound }
                logger.notice("metrics and health", metadata: ["url": "http://\(ListenAddress(host: listen.host, port: bound))/healthz"])
            },
            logger: httpLogger
        )
    }
}

/// Door events: a log line each, alarms in the metrics, and the audit log for everything a
/// security officer asks about after an incident (alarms, REX and remote unlocks, openings, mode
/// changes). A grant's own unlock is already the decision's event. Appends run off the door thread.
final class DoorEventRecorder: Sendable {
    let store: GatewayStore
    let metrics: GatewayMetrics
    let logger: Logger
    let queue = DispatchQueue(label: "door events")

    init(store: GatewayStore, metrics: GatewayMetrics, logger: Logger) {
        self.store = store
        self.metrics = metrics
        self.logger = logger
    }

    func record(door: String?, _ event: DoorEvent) {
        let (reason, detail) = Self.describe(event)
        let at = Int64(Date().timeIntervalSince1970 * 1000)
        if case .alarm(let alarm, let raised) = event {
            metrics.doorAlarm(door: door ?? "*", alarm: alarm.rawValue, raised: raised)
            logger.warning("alarm \(alarm.rawValue) \(raised ? "raised" : "cleared")", metadata: ["door": "\(door ?? "*")"])
        } else {
            var metadata: Logger.Metadata = ["door": "\(door ?? "*")"]
            for (key, value) in detail { metadata[key] = "\(value)" }
            logger.info("door \(reason)", metadata: metadata)
        }
        switch event {
        case .unlocked(.grant), .locked(.pulseEnded), .locked(.doorClosed): return
        default: break
        }
        let (store, logger) = (store, logger)
        queue.async {
            do {
                _ = try store.appendAudit(
                    AuditEntry(tsMs: at, door: door, kind: "door", granted: false, reason: reason, detail: detail)
                )
            } catch {
                logger.error("door event not recorded", metadata: ["door": "\(door ?? "*")", "error": "\(error)"])
            }
        }
    }

    /// The audit reason and detail for a door event.
    static func describe(_ event: DoorEvent) -> (String, [String: String]) {
        switch event {
        case .unlocked(let cause): ("unlocked", ["cause": cause.rawValue])
        case .locked(let cause): ("locked", ["cause": cause.rawValue])
        case .opened: ("opened", [:])
        case .closed: ("closed", [:])
        case .grantRefused(let why): ("grant_not_carried_out", ["why": why])
        case .rexPressed(let unlocks): ("rex_pressed", ["unlocks": unlocks ? "true" : "false"])
        case .alarm(let alarm, let raised): (raised ? "alarm_raised" : "alarm_cleared", ["alarm": alarm.rawValue])
        case .modeChanged(let mode): ("mode_changed", ["mode": mode.rawValue])
        }
    }
}
