import AccessGateway
import DoorDriver
import Foundation
import Glibc
import KeyCache
import QRCodec
import Synchronization
import TestSupport

// The scan path from a frame handed over to the relay asserted: capture thread, latest-frame
// mailbox, decode, gate, decision recorded durably in a real store file, door controller on its own
// thread, in-memory board.

/// A camera stand-in at a fixed frame rate: it plays a looped camera-like stream (noise, flicker,
/// someone walking past), with the code the benchmark puts up pasted over the current frame, and
/// notes when a frame carrying that code was first handed to the pipeline.
final class StagedCamera: FrameSource {
    let frames: [GreyImage]
    let stage: Stage
    let interval: Duration
    var due = ContinuousClock.now
    var index = 0

    final class Stage: Sendable {
        let shown = Mutex<
            (code: (image: GreyImage, x: Int, y: Int)?, serial: Int, firstHanded: [Int: ContinuousClock.Instant])
        >((nil, 0, [:]))
        let running = Atomic<Bool>(true)
    }

    init(frames: [GreyImage], stage: Stage, fps: Double) {
        self.frames = frames
        self.stage = stage
        interval = .nanoseconds(Int64(1e9 / fps))
    }

    func nextFrame() throws(QRCodecError) -> GreyImage? {
        guard stage.running.load(ordering: .relaxed) else { return nil }
        let wait = ContinuousClock.now.duration(to: due)
        if wait > .zero { usleep(UInt32(wait.components.attoseconds / 1_000_000_000_000)) }
        due = max(due + interval, .now)
        var frame = frames[index % frames.count]
        index += 1
        return stage.shown.withLock { shown in
            guard let code = shown.code else { return frame }
            // Timed from before the paste: it counts against the latency, not for it.
            if shown.firstHanded[shown.serial] == nil { shown.firstHanded[shown.serial] = .now }
            frame.paste(code.image, x: code.x, y: code.y)
            return frame
        }
    }
}

/// One loop of `kind` at 640×480 and 30 fps, made before any timing starts: a second of frames,
/// or a whole walk-past cycle.
func doorwayFrames(_ kind: DoorwayStream.Kind) -> [GreyImage] {
    let stream = DoorwayStream(kind)
    return (0..<stream.cycle).map(stream.frame)
}

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
        + Double(usage.ru_stime.tv_usec) / 1e6
}

func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) / 1e15 }

/// `trials` passes, one at a time, each held up until the relay is asserted, then taken away.
/// The camera plays `scene`; `gate` turns the ``FrameGate`` on (the daemon's default) or off.
func pipelineBenchmark(
    directory: String,
    trials: Int,
    decoders: QRDecoders,
    gate: Bool = true,
    scene kind: DoorwayStream.Kind = .flicker
) throws -> [String: Any] {
    let site = DemoSite()
    let path = "\(directory)/pipeline-bench-\(getpid()).sqlite"
    defer { for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) } }
    let store = try GatewayStore(path: path, durability: .powerLoss)
    try site.install(in: store)
    let relayOn = Mutex<[ContinuousClock.Instant]>([])
    let relayIsOn = Atomic<Bool>(false)
    let id = site.door
    let door = try DoorControllerThread.start {
        let io = MemoryDoorIO(outputs: [id: [.relay, .green, .red]], inputs: [], blocking: true)
        io.onSet = { _, output, on in
            guard output == .relay else { return }
            if on { relayOn.withLock { $0.append(.now) } }
            relayIsOn.store(on, ordering: .releasing)
        }
        let config = DoorConfig(id: id, relay: LineConfig(chip: "memory", line: "0"), pulseSeconds: 0.2)
        let clock = ContinuousClock()
        let origin = clock.now
        return try DoorController(io: io, doors: [config], clock: { clock.now - origin }) { _, _ in }
    }
    defer { door.stop() }
    let decisions = Mutex<[EntranceDecision]>([])
    let pipeline = DoorPipeline(
        scan: ScanSettings(decoders: decoders, frameGate: gate ? FrameGate.Settings() : nil),
        entrance: Entrance(
            door: site.door,
            decider: AccessDecider(store: store),
            doorInbox: door.inbox,
            report: { decision in decisions.withLock { $0.append(decision) } }
        )
    )
    let stage = StagedCamera.Stage()
    let background = doorwayFrames(kind)
    var codes: [(image: GreyImage, x: Int, y: Int)] = []
    for serial in 0..<trials {
        let code = try QRMatrix.encode(text: try site.pass(serial: UInt64(serial + 1))).image(moduleSize: 4)
        // Anywhere in view, whole.
        codes.append((code, 10 + (serial * 37) % (630 - code.width), 10 + (serial * 53) % (470 - code.height)))
    }
    pipeline.start { StagedCamera(frames: background, stage: stage, fps: 30) }
    var latencies: [Double] = []
    var missed = 0
    for serial in 0..<trials {
        let before = relayOn.withLock { $0.count }
        stage.shown.withLock { $0 = (codes[serial], serial, $0.firstHanded) }
        var waited = 0
        while relayOn.withLock({ $0.count }) == before && waited < 2000 {
            usleep(1000)
            waited += 1
        }
        stage.shown.withLock { $0.code = nil }
        guard let on = relayOn.withLock({ $0.count > before ? $0.last : nil }),
            let handed = stage.shown.withLock({ $0.firstHanded[serial] })
        else {
            missed += 1
            continue
        }
        latencies.append(ms(on - handed))
        // Let the 0.2 s pulse end, so the next grant moves the relay again; then a random pause, so
        // that passes arrive at any point of the frame cycle, as members do.
        while relayIsOn.load(ordering: .acquiring) { usleep(2000) }
        usleep(UInt32.random(in: 50_000...150_000))
    }
    stage.running.store(false, ordering: .relaxed)
    pipeline.stop()
    let recorded = decisions.withLock { $0 }
    let decide = recorded.map { ms($0.commandedAt - $0.code.capturedAt) - ms($0.code.decodeTime) }.sorted()
    let decode = recorded.map { ms($0.code.decodeTime) }.sorted()
    latencies.sort()
    return [
        "decoders": decoders.rawValue, "gate": gate, "scene": kind.rawValue, "trials": trials, "missed": missed,
        "granted": recorded.filter(\.granted).count,
        "scan_to_relay_ms_p50": percentile(latencies, 0.5), "scan_to_relay_ms_p99": percentile(latencies, 0.99),
        "scan_to_relay_ms_max": latencies.last ?? 0,
        "decode_ms_p50": percentile(decode, 0.5), "record_and_command_ms_p50": percentile(decide, 0.5),
        "record_and_command_ms_p99": percentile(decide, 0.99),
    ]
}

/// CPU use of the scan loop on a 30 fps stream of `kind` with no code in view, with the
/// ``FrameGate`` on or off.
func idleBenchmark(seconds: Double, decoders: QRDecoders, scene kind: DoorwayStream.Kind, gate: Bool) -> [String: Any] {
    let stage = StagedCamera.Stage()
    let frames = doorwayFrames(kind)
    let loop = ScanLoop(settings: ScanSettings(decoders: decoders, frameGate: gate ? FrameGate.Settings() : nil))
    loop.start { StagedCamera(frames: frames, stage: stage, fps: 30) }
    usleep(1_000_000)
    let wallStart = ContinuousClock.now
    let cpuStart = cpuSeconds()
    let before = loop.statistics
    usleep(UInt32(seconds * 1e6))
    let cpu = cpuSeconds() - cpuStart
    let wall = ms(ContinuousClock.now - wallStart) / 1000
    let stats = loop.statistics
    stage.running.store(false, ordering: .relaxed)
    loop.stop()
    loop.wait()
    let decode = stats.recentDecodeMs.sorted()
    let decoded = stats.decoded - before.decoded
    let gated = stats.gated - before.gated
    return [
        "decoders": decoders.rawValue, "scene": kind.rawValue, "gate": gate, "seconds": wall,
        "fps": Double(stats.frames - before.frames) / wall, "cpu_percent_of_one_core": cpu / wall * 100,
        "decode_ms_p50": percentile(decode, 0.5), "dropped": stats.dropped,
        "decoded_share": decoded + gated > 0 ? Double(decoded) / Double(decoded + gated) : 1,
    ]
}
