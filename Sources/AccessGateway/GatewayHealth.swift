import Foundation
import Synchronization

/// What `/healthz` and the systemd watchdog look at: every camera delivers frames, the door
/// controller holds its lines, and the store takes writes.
public final class GatewayHealth: Sendable {
    /// One check's result.
    public struct Check: Sendable, Equatable, Codable {
        public var name: String
        public var ok: Bool
        public var detail: String
    }

    private struct Camera {
        var lastFrame: ContinuousClock.Instant?
        var frames = 0
        var problem: String?
        var ended = false
    }

    private let cameras = Mutex<[String: Camera]>([:])
    /// Per door, how to read its camera's frame count and last frame when a check runs.
    private let frameReaders = Mutex<[String: @Sendable () -> (count: Int, last: ContinuousClock.Instant?)]>([:])
    private let doorsProblem = Mutex<String?>("the door controller has not started")
    /// How long a camera may go without a frame before it counts as down.
    public let frameTimeout: Duration
    /// The store's write probe runs at most once per this interval; checks in between serve its
    /// last result, so polling `/healthz` cannot turn into a stream of durable writes.
    public let storeProbeInterval: Duration
    private let storeProbe: @Sendable () -> String?
    private let lastProbe = Mutex<(at: ContinuousClock.Instant, problem: String?)?>(nil)

    /// `storeProbe` writes to the store and returns nil, or why it could not.
    public init(
        frameTimeout: Duration = .seconds(5),
        storeProbeInterval: Duration = .seconds(5),
        storeProbe: @escaping @Sendable () -> String?
    ) {
        self.frameTimeout = frameTimeout
        self.storeProbeInterval = storeProbeInterval
        self.storeProbe = storeProbe
    }

    /// Registers a door's camera, not yet delivering.
    public func expectCamera(_ door: String) {
        cameras.withLock { $0[door] = Camera() }
    }

    /// From now on, each check reads the door's frame count and last frame with `read` (the running
    /// scan loop's statistics), so that nothing has to push them.
    public func watchCamera(
        _ door: String,
        frames read: @escaping @Sendable () -> (count: Int, last: ContinuousClock.Instant?)
    ) {
        frameReaders.withLock { $0[door] = read }
    }

    /// The frame count of every watched camera, read now: for `/metrics`.
    public func watchedFrameCounts() -> [String: Int] {
        frameReaders.withLock { $0 }.mapValues { $0().count }
    }

    private func readWatchedCameras() {
        for (door, read) in frameReaders.withLock({ $0 }) {
            let (count, last) = read()
            cameras.withLock { all in
                var camera = all[door] ?? Camera()
                if let last, camera.lastFrame.map({ last > $0 }) ?? true {
                    camera.lastFrame = last
                    camera.problem = nil
                }
                camera.frames = count
                all[door] = camera
            }
        }
    }

    /// The camera failed (it is being reopened), or nil once it works again.
    public func cameraProblem(_ door: String, _ problem: String?) {
        cameras.withLock { $0[door, default: Camera()].problem = problem }
    }

    /// A finite frame source (a folder) has played to its end: not a fault.
    public func cameraEnded(_ door: String) {
        cameras.withLock { $0[door, default: Camera()].ended = true }
    }

    /// nil while the door controller holds its lines; otherwise why not.
    public func doors(_ problem: String?) {
        doorsProblem.withLock { $0 = problem }
    }

    /// Whether the door controller holds its lines: the watchdog's test of life.
    public var doorsHeld: Bool { doorsProblem.withLock { $0 } == nil }

    /// Runs every check now.
    public func checks(now: ContinuousClock.Instant = .now) -> [Check] {
        readWatchedCameras()
        var result: [Check] = []
        for (door, camera) in cameras.withLock({ $0 }).sorted(by: { $0.key < $1.key }) {
            let name = "camera \(door)"
            if camera.ended {
                result.append(Check(name: name, ok: true, detail: "the frame folder has played to its end"))
            } else if let problem = camera.problem {
                result.append(Check(name: name, ok: false, detail: problem))
            } else if let last = camera.lastFrame, now - last <= frameTimeout {
                result.append(Check(name: name, ok: true, detail: "\(camera.frames) frames"))
            } else if let last = camera.lastFrame {
                let seconds = Double((now - last).components.seconds)
                result.append(Check(name: name, ok: false, detail: "no frame for \(Int(seconds)) s"))
            } else {
                result.append(Check(name: name, ok: false, detail: "no frame yet"))
            }
        }
        let doors = doorsProblem.withLock { $0 }
        result.append(Check(name: "doors", ok: doors == nil, detail: doors ?? "the lines are held"))
        let store = storeProblem(now: now)
        result.append(Check(name: "store", ok: store == nil, detail: store ?? "writable"))
        return result
    }

    /// The store probe's result: the cached one while it is younger than the interval.
    private func storeProblem(now: ContinuousClock.Instant) -> String? {
        // Held across the probe, so that concurrent checks wait for one probe rather than each taking one.
        lastProbe.withLock { last in
            if let last, now - last.at < storeProbeInterval, now >= last.at { return last.problem }
            let problem = storeProbe()
            last = (now, problem)
            return problem
        }
    }

    /// The `/healthz` body: `{"ok": …, "checks": [{"name", "ok", "detail"}]}`.
    public static func json(_ checks: [Check]) -> Data {
        struct Body: Codable {
            var ok: Bool
            var checks: [Check]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings and booleans always encode.
        return try! encoder.encode(Body(ok: checks.allSatisfy(\.ok), checks: checks))
    }
}
