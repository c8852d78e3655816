// The camera half of the hardware stage: vivid's loopback on the real kernel's V4L2 code.
//
// scripts/hwtest-init.sh loads vivid with one HDMI input looped from one HDMI output:
// /dev/video0 captures what /dev/video1 shows. /vivid-show (scripts/vivid-show.c) puts a frame on
// the output, as a member's phone would be held up to the camera, and the gateway's own capture
// path (V4L2Camera, ScanLoop, Entrance, DoorController over gpio-sim) must open the door.
import AccessPolicy
import AccessGateway
import DoorDriver
import Foundation
import Glibc
import KeyCache
import QRCodec
import Synchronization
import TestSupport

let captureNode = "/dev/video0"
let outputNode = "/dev/video1"

/// The control that loops vivid's HDMI output 0 to its input 0: "Loop Video" on Debian 12's 6.1;
/// newer kernels (Debian 13's 6.12) replaced it with each input's "Is Connected To" menu, whose
/// item 2 is the first HDMI output (drivers/media/test-drivers/vivid/vivid-core.c).
let vividLoop: (name: String, value: Int) = {
    var name = utsname()
    uname(&name)
    let release = withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    let version = release.split(separator: ".").prefix(2).compactMap { Int($0.prefix { $0.isNumber }) }
    let connectedTo = version.count == 2 && (version[0], version[1]) >= (6, 9)
    return connectedTo ? ("HDMI 000-0 Is Connected To", 2) : ("Loop Video", 1)
}()

/// What the door camera is asked for: vivid's controls make it copy the output exactly.
let vividCamera = CameraSettings(
    device: captureNode,
    width: 640,
    height: 480,
    fps: 30,
    format: .grey,
    controls: [vividLoop.name: vividLoop.value, "OSD Text Mode": 2]
)

/// A frame with `text` as a QR code in the middle of a light background, like a phone held up.
func passFrame(_ text: String) throws -> GreyImage {
    var image = GreyImage(width: 640, height: 480, fill: 190)
    let code = try QRMatrix.encode(text: text).image(moduleSize: 4)
    image.paste(code, x: (640 - code.width) / 2, y: (480 - code.height) / 2)
    return image
}

/// Shows `image` on vivid's output through /vivid-show until the returned process is killed.
func show(_ image: GreyImage, format: CameraPixelFormat = .grey) throws -> pid_t {
    let path = "/tmp/frame.y800"
    guard let file = fopen(path, "wb") else { throw HardwareTestFailure("cannot write \(path)") }
    _ = image.pixels.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, file) }
    fclose(file)
    var pid: pid_t = 0
    let args = ["/vivid-show", outputNode, "640", "480", path, format.rawValue]
    var argv = args.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    guard posix_spawn(&pid, args[0], nil, nil, &argv, environ) == 0 else {
        throw HardwareTestFailure("cannot start /vivid-show")
    }
    return pid
}

func stopShowing(_ pid: pid_t) {
    kill(pid, SIGKILL)
    var status: Int32 = 0
    waitpid(pid, &status, 0)
}

struct HardwareTestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A list appended to from the decision thread.
final class Decisions: Sendable {
    private let items = Mutex<[EntranceDecision]>([])
    func append(_ item: EntranceDecision) { items.withLock { $0.append(item) } }
    var all: [EntranceDecision] { items.withLock { $0 } }
}

/// The gateway's capture path on vivid for door A: the demo site in a store, the door controller
/// over gpio-sim, and the pipeline reading /dev/video0. Call ``stop()`` when done.
final class VividGateway {
    let store: GatewayStore
    let door: DoorControllerThread
    let decisions = Decisions()
    let pipeline: DoorPipeline

    init(_ sim: SimBoard, site: DemoSite, holderBound: HolderBoundPolicy = .optional, name: String) throws {
        store = try GatewayStore(path: "/tmp/\(name)-\(getpid()).sqlite")
        try site.install(in: store)
        let board = BoardConfig(doors: ["a": doorA(sim, pulse: 1)])
        door = try DoorControllerThread.start {
            try DoorController(
                io: try GPIODoorIO(board: board, consumer: "door-hwtest"),
                doors: Array(board.doors.values),
                clock: monotonic
            ) { _, _ in }
        }
        let decisions = decisions
        pipeline = DoorPipeline(
            scan: ScanSettings(decoders: .auto, budget: .milliseconds(200)),
            entrance: Entrance(
                door: site.door,
                decider: AccessDecider(store: store),
                doorInbox: door.inbox,
                holderBound: holderBound,
                report: { decisions.append($0) }
            )
        )
        pipeline.start { try V4L2Camera(vividCamera) }
    }

    func stop() {
        pipeline.stop()
        door.stop()
    }
}

func runCameraTests(_ sim: SimBoard) {
    test("camera list finds vivid's capture node, and leaves its output node out") {
        let (devices, problems) = CameraInventory.list()
        guard problems.isEmpty else { return "problems: \(problems)" }
        guard let vivid = devices.first(where: { $0.driver == "vivid" }) else { return "no vivid device in \(devices)" }
        guard vivid.path == captureNode else { return "vivid capture is \(vivid.path)" }
        guard !devices.contains(where: { $0.path == outputNode }) else { return "the output node was listed" }
        guard let grey = vivid.formats.first(where: { $0.fourcc == "GREY" }), grey.supported else {
            return "no usable GREY format in \(vivid.formats.map(\.fourcc))"
        }
        print("  \(vivid.card): \(vivid.formats.count) formats, GREY sizes \(grey.sizes.count)")
        return nil
    }

    test("a camera control zbar does not know is refused, not passed on") {
        var settings = vividCamera
        settings.controls = ["loop_video": 1]
        do {
            _ = try V4L2Camera(settings)
            return "the camera opened with an unknown control"
        } catch QRCodecError.camera(_, let why, _) {
            return why.contains(vividLoop.name) ? nil : "the error does not list the controls: \(why)"
        }
    }

    test("YUYV frames are converted by zbar and the pass in them is read") {
        let text = "AG1:YUYV-CONVERSION-CHECK"
        let shown = try show(try passFrame(text), format: .yuyv)
        defer { stopShowing(shown) }
        var settings = vividCamera
        settings.format = .yuyv
        let camera = try V4L2Camera(settings)
        let scanner = try QRScanner()
        for _ in 0..<60 {
            guard let frame = try camera.nextFrame() else { return "the camera ended" }
            guard frame.width == 640, frame.height == 480 else { return "frame is \(frame.width)×\(frame.height)" }
            if scanner.scan(frame).map(\.text) == [text] { return nil }
        }
        return "no frame of 60 held the code"
    }

    test("vivid loopback: a valid pass on the output opens the gpio-sim relay; a denied one does not") {
        let site = DemoSite(door: "SIM/A")
        let gateway = try VividGateway(sim, site: site, name: "camera")
        defer { gateway.stop() }
        let (store, decisions, pipeline) = (gateway.store, gateway.decisions, gateway.pipeline)
        let started = monotonic()

        let member = try show(try passFrame(try site.pass(serial: 1)))
        guard let opened = waitFor(30, { sim.value(.relayA) == 1 }) else {
            stopShowing(member)
            let stats = pipeline.scanLoop.statistics
            return "the relay never went high; \(stats.frames) frames, \(stats.symbols) codes, "
                + "decisions \(decisions.all.map { $0.decision?.reason.rawValue ?? $0.failure ?? "?" }), "
                + "camera \(pipeline.scanLoop.failure.map { "\($0)" } ?? "ok")"
        }
        stopShowing(member)
        // The report follows the door command, so it may land just after the relay moved.
        _ = waitFor(5) { !decisions.all.isEmpty }
        guard let granted = decisions.all.first, granted.granted else {
            return "the relay went high without a granted decision: \(decisions.all)"
        }
        guard let toRelay = granted.scanToRelay else { return "the grant has no time to the relay line" }
        print("  relay high \(ms(opened)) after the pass went on screen; frame to relay line \(ms(seconds(toRelay)))")
        guard waitFor(3, { sim.value(.relayA) == 0 }) != nil else { return "the relay did not relock after the pulse" }

        let blocked = try show(try passFrame(try site.pass(member: "m-blocked", serial: 2)))
        defer { stopShowing(blocked) }
        guard waitFor(30, { decisions.all.count >= 2 }) != nil else { return "the blocked pass was never decided" }
        let denied = decisions.all[1]
        guard denied.decision?.reason == .memberBlocked else {
            return "the blocked pass was decided \(denied.decision?.reason.rawValue ?? denied.failure ?? "?")"
        }
        // For two seconds after the denial, the relay never moves.
        if waitFor(2, { sim.value(.relayA) == 1 }) != nil { return "the relay went high for a denied pass" }
        let events = try store.auditEvents(.init())
        guard events.map(\.reason) == ["granted", "member_blocked"] else { return "audit log: \(events.map(\.reason))" }
        let stats = pipeline.scanLoop.statistics
        print(
            "  \(stats.frames) frames in \(ms(seconds(monotonic() - started))), decoded \(stats.decoded), "
                + "decode p50 \(Int(stats.recentDecodeMs.sorted()[stats.recentDecodeMs.count / 2].rounded())) ms under TCG"
        )
        return nil
    }

    test("vivid loopback: a holder-bound pass (AG2) opens the relay at a door that requires one") {
        let site = DemoSite(door: "SIM/A")
        let gateway = try VividGateway(sim, site: site, holderBound: .required, name: "camera-ag2")
        defer { gateway.stop() }
        let decisions = gateway.decisions
        let text = site.holderBoundPass(shownAt: Date().timeIntervalSince1970)
        let version = try QRMatrix.encode(text: text).version
        let shown = try show(try passFrame(text))
        defer { stopShowing(shown) }
        guard let opened = waitFor(30, { sim.value(.relayA) == 1 }) else {
            return "the relay never went high; decisions \(decisions.all.map { $0.decision?.reason.rawValue ?? "?" })"
        }
        _ = waitFor(5) { !decisions.all.isEmpty }
        guard decisions.all.first?.decision?.reason == .granted else { return "decided \(decisions.all)" }
        print("  AG2, QR version \(version): relay high \(ms(opened)) after it went on screen")
        return nil
    }
}
