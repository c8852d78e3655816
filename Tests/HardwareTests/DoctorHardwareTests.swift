// `gatewayctl doctor`'s GPIO check against the real kernel's view of gpio-sim: libgpiod's
// inventory, line counts and holders, as an installer's board would report them.
import AccessGateway
import DoorDriver
import QRCodec

/// A one-door configuration whose relay is `line` on the simulated chip; its camera is a frame
/// folder, or vivid's capture node.
private func doctorConfig(_ sim: SimBoard, relay line: String, vivid: Bool = false) throws -> GatewayConfig {
    let camera =
        vivid
        ? #"{ device = "\#(captureNode)", size = "640x480", fps = 30, format = "GREY", controls = { "\#(vividLoop.name)" = \#(vividLoop.value) } }"#
        : #"{ frames = "/tmp" }"#
    return try GatewayConfig.parse(
        """
        [gateway]
        door_io = "gpio"

        [doors.a]
        id = "SIM/A"
        relay = { chip = "\(sim.chip)", line = \(line) }
        camera = \(camera)
        """
    )
}

func runDoctorTests(_ sim: SimBoard) {
    test("doctor: a line beyond gpio-sim's 16 fails, naming the key, the line and the chip's size") {
        let check = Doctor().checkGPIO(try doctorConfig(sim, relay: "16"))
        guard check.status == .fail else { return "status \(check.status): \(check.detail)" }
        let expected = "doors.a.relay: \(sim.chip) has no line 16: it has 16 lines (0–15)"
        return check.detail == expected ? nil : "detail \"\(check.detail)\""
    }

    test("doctor: a free line is ok, and the check names the libgpiod version and API") {
        let check = Doctor().checkGPIO(try doctorConfig(sim, relay: String(Pin.spare.rawValue)))
        print("  \(check.detail)")
        return check.status == .ok && check.detail.contains("; \(LibGPIOD.description); ")
            ? nil : "\(check.status): \(check.detail)"
    }

    test("doctor: a line held by another program, found by its name, names the holder") {
        let board = LiveBoard(BoardConfig(doors: ["a": doorA(sim)]))
        defer { board.stop() }
        let check = Doctor().checkGPIO(try doctorConfig(sim, relay: "\"relay-a\""))
        guard check.status == .fail else { return "status \(check.status): \(check.detail)" }
        return check.detail.contains("line 0 is held by \"door-hwtest\"") ? nil : "detail \"\(check.detail)\""
    }

    test("doctor: vivid's capture node opens and its frame rate is measured") {
        let checks = Doctor(cameraSeconds: 1).checkCameras(
            try doctorConfig(sim, relay: "11", vivid: true),
            serviceRunning: false
        )
        guard let check = checks.first, checks.count == 1 else { return "\(checks.count) camera checks" }
        print("  \(check.status): \(check.detail)")
        // Under TCG vivid may run below half its rate: slow is a warning, not a failure.
        return check.status != .fail && check.detail.contains("(asked 30")
            ? nil : "\(check.status): \(check.detail)"
    }

    test("doctor: a camera another program is streaming from is busy, and named so") {
        let holder = try V4L2Camera(vividCamera)
        _ = try holder.nextFrame()
        let config = try doctorConfig(sim, relay: "11", vivid: true)
        // The holder must stream until both checks have run.
        let (alone, beside) = withExtendedLifetime(holder) {
            (
                Doctor(cameraSeconds: 1).checkCameras(config, serviceRunning: false).first,
                Doctor(cameraSeconds: 1).checkCameras(config, serviceRunning: true).first
            )
        }
        print("  \(alone.map { "\($0.status): \($0.detail)" } ?? "none")")
        guard let alone, alone.status == .fail, alone.detail.contains("is busy") else {
            return "alone: \(String(describing: alone))"
        }
        guard let beside, beside.status == .warn, beside.detail.contains("in use (by the running service?)") else {
            return "beside the service: \(String(describing: beside))"
        }
        return nil
    }
}
