/// The installer's tools behind `gatewayctl door test-relay` and `door watch`, kept here so that the
/// hardware stage runs the same code on the emulated board.
public enum InstallerTools {
    /// Energises one door's relay for `seconds`, then locks it. `status` hears "energised" and
    /// "locked". It stops early, locking first, once `stop` returns true (the caller's SIGTERM or
    /// SIGINT handler sets it). If the process dies instead, the kernel releases the line.
    public static func testRelay(
        _ door: DoorConfig,
        seconds: Double,
        stop: () -> Bool = { false },
        status: (String) -> Void
    ) throws(DoorDriverError) {
        guard seconds > 0 && seconds <= 30 else { throw .badConfig("--seconds \(seconds); allowed: 0–30") }
        let relayOnly = DoorConfig(id: door.id, relay: door.relay)
        let io = try GPIODoorIO(board: BoardConfig(doors: ["test": relayOnly]), consumer: "gatewayctl test-relay")
        try io.set(.relay, of: door.id, on: true)
        status("energised")
        // Short sleeps, so that a stop request is honoured within 50 ms.
        let slices = Int((seconds / 0.05).rounded(.up))
        for _ in 0..<slices where !stop() {
            var request = timespec(tv_sec: 0, tv_nsec: 50_000_000)
            var remaining = timespec()
            while nanosleep(&request, &remaining) != 0 && errno == EINTR && !stop() { request = remaining }
        }
        try io.set(.relay, of: door.id, on: false)
        status("locked")
    }

    /// Prints raw input changes as they arrive, with `CLOCK_REALTIME` timestamps, until
    /// `keepGoing` returns false.
    public static func watch(
        _ board: BoardConfig,
        keepGoing: () -> Bool,
        report: (_ input: InputID, _ level: Bool, _ unixSeconds: Double) -> Void
    ) throws(DoorDriverError) {
        // Outputs are not watched; taking only inputs leaves relays to whoever drives them.
        var inputsOnly = board
        for (name, door) in board.doors {
            inputsOnly.doors[name] = DoorConfig(
                id: door.id,
                relay: door.relay,
                dps: door.dps,
                rex: door.rex,
                tamper: door.tamper
            )
        }
        let io = try GPIODoorIO(board: inputsOnly, consumer: "gatewayctl watch", takeOutputs: false)
        for input in io.inputs { report(input, try io.level(input), now()) }
        while keepGoing() {
            for input in try io.wait(timeout: .milliseconds(500)).sorted(by: { $0.description < $1.description }) {
                report(input, try io.level(input), now())
            }
        }
    }

    private static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

#if canImport(Glibc)
import Glibc
#endif
