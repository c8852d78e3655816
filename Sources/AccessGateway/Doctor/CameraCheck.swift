import Foundation
import QRCodec

extension Doctor {
    /// One check per door: a camera is opened and read for ``cameraSeconds``; a frame folder must
    /// hold PGM frames.
    public func checkCameras(_ config: GatewayConfig, serviceRunning: Bool) -> [DoctorCheck] {
        let folders = config.frameFolders.sorted { $0.key < $1.key }.map { door, folder in
            checkFrameFolder(door: door, folder)
        }
        return config.cameras.sorted { $0.key < $1.key }.map { door, settings in
            checkCamera(door: door, settings, serviceRunning: serviceRunning)
        } + folders
    }

    func checkCamera(door: String, _ settings: CameraSettings, serviceRunning: Bool) -> DoctorCheck {
        let device = settings.device
        let cableFix =
            "check the camera's cable, then `udevadm info \(device)` (or /dev/videoN) and "
            + "udev/70-access-gateway.rules; `gatewayctl camera list` shows the capture devices"
        guard FileManager.default.fileExists(atPath: device) else {
            return .fail("camera", "\(door): cannot open \(device): no such device", fix: cableFix)
        }
        let source: any FrameSource
        do { source = try environment.openCamera(settings) } catch {
            let why = "\(error)"
            // Busy by the failed call's code, whatever words the driver or zbar chose.
            if case .camera(_, _, let code)? = error as? QRCodecError, code == EBUSY {
                guard serviceRunning else {
                    return .fail(
                        "camera",
                        "\(door): \(device) is busy, and the service is not running: \(why)",
                        fix: "find the other user with `fuser -v \(device)` and stop it"
                    )
                }
                return .warn(
                    "camera",
                    "\(door): \(device) is in use (by the running service?)",
                    fix: "to test it here, `systemctl stop access-gateway` first, then `gatewayctl camera test`"
                )
            }
            return .fail(
                "camera",
                "\(door): cannot open \(device): \(why)",
                fix: cableFix + "; check its format, size and controls against `gatewayctl camera list`"
            )
        }
        // The driver may round the rate asked for; frames are due at the rate it set.
        let granted = (source as? V4L2Camera)?.fps ?? settings.fps
        let measured: (frames: Int, fps: Double)
        do { measured = try Self.measure(source, seconds: cameraSeconds) } catch {
            return .fail(
                "camera",
                "\(door): \(device) opened, but frames do not arrive: \(error)",
                fix: "replug the camera or try another USB port; `dmesg | tail` shows driver errors"
            )
        }
        let rate =
            String(format: "%.1f fps, %d frames (asked %g", measured.fps, measured.frames, settings.fps)
            + (granted == settings.fps ? ")" : String(format: ", the driver set %g)", granted))
        // Low light makes auto exposure stretch frames; below half the rate, passes read slowly.
        guard measured.frames > 1, measured.fps >= granted / 2 else {
            return .warn(
                "camera",
                "\(door): \(device) is slow: \(rate)",
                fix: "add light or fix the exposure (camera controls), check USB bandwidth; `gatewayctl camera test`"
            )
        }
        return .ok("camera", "\(door): \(device) \(rate)")
    }

    /// Frames read and the rate between the first and the last, over about `seconds`.
    static func measure(_ source: any FrameSource, seconds: Double) throws -> (frames: Int, fps: Double) {
        guard try source.nextFrame() != nil else { throw QRCodecError.badParameter("the camera ended") }
        let clock = ContinuousClock()
        let start = clock.now
        var frames = 1
        var last = start
        let window = Duration.milliseconds(Int64(seconds * 1000))
        while clock.now - start < window, try source.nextFrame() != nil {
            frames += 1
            last = clock.now
        }
        let elapsed = last - start
        let span = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return (frames, span > 0 ? Double(frames - 1) / span : 0)
    }

    func checkFrameFolder(door: String, _ folder: GatewayConfig.FrameFolder) -> DoctorCheck {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        let frames = names.filter { $0.hasSuffix(".pgm") }.count
        guard frames > 0 else {
            return .fail(
                "camera",
                "\(door): no .pgm frames in \(folder.path)",
                fix: "put PGM frames in \(folder.path) (`gatewayctl qr encode --pgm FILE TEXT`), or configure a camera"
            )
        }
        return .ok("camera", "\(door): \(frames) frames from \(folder.path) at \(Int(folder.fps)) fps")
    }
}
