import Dispatch
import DoorDriver
import Foundation
import HQSync
import Logging
import QRCodec
import ServiceLifecycle

/// Runs blocking work (stopping threads, joining them) off the cooperative pool.
func offloaded(_ work: @escaping @Sendable () -> Void) async {
    await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
        DispatchQueue.global().async {
            work()
            done.resume()
        }
    }
}

/// The door controller's service: its thread already holds the lines when this starts. On
/// shutdown every relay is driven locked; a line that fails ends the daemon (systemd restarts it).
final class DoorControllerService: Service {
    let thread: DoorControllerThread
    let health: GatewayHealth
    let logger: Logger

    init(thread: DoorControllerThread, health: GatewayHealth, logger: Logger) {
        self.thread = thread
        self.health = health
        self.logger = logger
    }

    func run() async throws {
        health.doors(nil)
        let (ends, end) = AsyncStream.makeStream(of: DoorDriverError?.self, bufferingPolicy: .bufferingNewest(1))
        thread.onEnd { error in
            end.yield(error)
            end.finish()
        }
        // Wakes when the controller stops on its own (a line failed) or when shutdown begins.
        let stopped = await cancelWhenGracefulShutdown { await ends.first { _ in true } }
        if case .some(.some(let error)) = stopped {
            health.doors("the door controller stopped: \(error)")
            throw error
        }
        let controller = thread
        await offloaded { controller.stop() }
        health.doors("stopped: every relay is locked")
        logger.notice("doors locked for shutdown")
    }
}

/// One door's camera and scan loop, feeding its ``Entrance``. A camera that fails or vanishes is
/// reopened with backoff while `/healthz` reports it; a frame folder plays once, and its end ends
/// the daemon gracefully (the demo).
final class DoorCameraService: Service {
    let door: String
    let scan: ScanSettings
    let open: @Sendable () throws -> any FrameSource
    let finite: Bool
    let makeEntrance: @Sendable () -> Entrance
    let health: GatewayHealth
    let logger: Logger

    init(
        door: String,
        scan: ScanSettings,
        finite: Bool,
        health: GatewayHealth,
        logger: Logger,
        open: @escaping @Sendable () throws -> any FrameSource,
        makeEntrance: @escaping @Sendable () -> Entrance
    ) {
        self.door = door
        self.scan = scan
        self.finite = finite
        self.health = health
        self.logger = logger
        self.open = open
        self.makeEntrance = makeEntrance
    }

    func run() async throws {
        health.expectCamera(door)
        var backoff = Backoff(base: .seconds(1), cap: .seconds(30))
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let pipeline = DoorPipeline(scan: scan, entrance: makeEntrance())
            pipeline.start(open)
            let loop = pipeline.scanLoop
            // `/healthz` and `/metrics` read the loop's counts when asked; nothing polls them.
            health.watchCamera(door) {
                let statistics = loop.statistics
                return (statistics.frames, statistics.lastFrameAt)
            }
            let (ends, end) = AsyncStream.makeStream(of: Void.self)
            loop.onEnd {
                end.yield()
                end.finish()
            }
            // Wakes when the loop ends (the source ran out or failed) or when shutdown begins.
            await cancelWhenGracefulShutdown { for await _ in ends { break } }
            await offloaded { pipeline.stop() }
            if Task.isShuttingDownGracefully || Task.isCancelled { break }
            if let failure = loop.failure {
                health.cameraProblem(door, "\(failure)")
                let pause = backoff.next()
                logger.error(
                    "camera failed; reopening",
                    metadata: ["door": "\(door)", "error": "\(failure)", "retry_s": "\(pause.components.seconds)"]
                )
                // A shutdown ends the pause at once, not after up to 30 s of backoff.
                await cancelWhenGracefulShutdown { try? await Task.sleep(for: pause) }
                continue
            }
            if finite {
                health.cameraEnded(door)
                logger.notice("the frame folder has played to its end", metadata: ["door": "\(door)"])
                return
            }
            health.cameraProblem(door, "the camera stopped delivering frames")
            let pause = backoff.next()
            await cancelWhenGracefulShutdown { try? await Task.sleep(for: pause) }
        }
    }
}

/// One of the HQ loops (snapshot, upload, commands) as a service. The uploader makes one last
/// attempt on shutdown, bounded to a few seconds, so that little waits on the board for HQ.
final class SyncLoopService: Service {
    enum Kind: String { case snapshot, upload, commands }
    let kind: Kind
    let sync: GatewaySync
    let intervals: GatewaySync.Intervals
    let finalUpload: Duration
    let logger: Logger

    init(_ kind: Kind, sync: GatewaySync, intervals: GatewaySync.Intervals, finalUpload: Duration, logger: Logger) {
        self.kind = kind
        self.sync = sync
        self.intervals = intervals
        self.finalUpload = finalUpload
        self.logger = logger
    }

    func run() async throws {
        let (sync, intervals) = (self.sync, self.intervals)
        switch kind {
        case .snapshot: await cancelWhenGracefulShutdown { await sync.runSnapshotLoop(every: intervals.snapshot) }
        case .upload: await cancelWhenGracefulShutdown { await sync.runUploadLoop(every: intervals.upload) }
        case .commands: await cancelWhenGracefulShutdown { await sync.runCommandLoop(wait: intervals.commandWait) }
        }
        guard kind == .upload else { return }
        let sent = await withTaskGroup(of: Int?.self) { group in
            group.addTask { try? await sync.uploadBacklog() }
            group.addTask { [finalUpload] in
                try? await Task.sleep(for: finalUpload)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        let left = (try? sync.backlog()) ?? -1
        if let sent {
            logger.notice("final upload", metadata: ["sent": "\(sent)", "backlog": "\(left)"])
        } else {
            logger.warning("final upload did not finish; the backlog goes at the next start", metadata: ["backlog": "\(left)"])
        }
    }
}

/// Tells systemd the daemon is ready, keeps its watchdog fed while the doors are held, and says
/// when it is stopping.
final class NotifyService: Service {
    let notifier: SystemdNotifier
    let health: GatewayHealth
    let status: @Sendable () -> String

    init(notifier: SystemdNotifier, health: GatewayHealth, status: @escaping @Sendable () -> String) {
        self.notifier = notifier
        self.health = health
        self.status = status
    }

    func run() async throws {
        notifier.ready(status: status())
        // Without a systemd watchdog there is nothing to feed, but the status line still updates.
        let feed = notifier.watchdogInterval ?? .seconds(10)
        let (notifier, health, status) = (self.notifier, self.health, self.status)
        // Sleeps until the next ping or status line is due; a shutdown cancels the sleep at once.
        await cancelWhenGracefulShutdown {
            var nextFeed = ContinuousClock.now
            var nextStatus = ContinuousClock.now + .seconds(10)
            while !Task.isCancelled {
                let now = ContinuousClock.now
                // A controller that lost its lines stops the pings: systemd then restarts the daemon.
                if now >= nextFeed {
                    if health.doorsHeld { notifier.watchdog() }
                    nextFeed = now + feed
                }
                if now >= nextStatus {
                    notifier.status(status())
                    nextStatus = now + .seconds(10)
                }
                try? await Task.sleep(until: min(nextFeed, nextStatus), clock: .continuous)
            }
        }
        notifier.stopping(status: "stopping: locking the doors, last upload")
    }
}
