import ArgumentParser
import Foundation
import HQProtocol
import QRCodec

struct CameraCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "camera",
        abstract: "Find, test and aim door cameras.",
        discussion: """
            Frames stay in memory. Only 'camera snapshot' writes one, to the file you name.
            """,
        subcommands: [List.self, Test.self, Snapshot.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the video capture devices, with their formats, sizes and frame rates."
        )

        @Flag(help: "Print JSON.")
        var json = false

        func run() throws {
            let (devices, problems) = CameraInventory.list()
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(devices), as: UTF8.self))
            } else {
                if devices.isEmpty { print("no video capture devices") }
                for device in devices {
                    print("\(device.path)  \(device.card)  (\(device.driver), \(device.bus))")
                    for format in device.formats {
                        let usable = format.supported ? "" : "  (not usable by the gateway)"
                        print("  \(format.fourcc)  \(format.description)\(usable)")
                        for size in format.sizes {
                            let rates = size.fps.map { String(format: "%g", $0) }.joined(separator: ", ")
                            print("    \(size.width)x\(size.height)" + (rates.isEmpty ? "" : "  fps: \(rates)"))
                        }
                    }
                }
            }
            for problem in problems { FileHandle.standardError.write(Data("gatewayctl: \(problem)\n".utf8)) }
        }
    }

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the scan loop on a camera: frame rate, decode time, and the codes seen.",
            discussion: """
                Nothing is decided and nothing is recorded. A code is shown once, then again after \
                the cooldown. With --frames, a folder of PGM frames stands in for the camera.
                """
        )

        @OptionGroup var camera: CameraOptions

        @Option(help: "How long to run, in seconds.")
        var seconds: Double = 10

        @Option(help: "A folder of PGM frames to play instead of the camera, at --fps.")
        var frames: String?

        @Option(help: "auto: zxing-cpp first when built in, then zbar; zbar: zbar only.")
        var decoder: String = QRDecoders.auto.rawValue

        @Flag(help: "Print JSON: one line per code seen, then a summary line.")
        var json = false

        func validate() throws {
            guard seconds > 0, seconds <= 86400 else { throw ValidationError("--seconds must be in 0…86400") }
            guard QRDecoders(rawValue: decoder) != nil else { throw ValidationError("--decoder must be auto or zbar") }
            _ = try camera.settings()
        }

        func run() throws {
            let settings = try camera.settings()
            let loop = ScanLoop(settings: ScanSettings(decoders: QRDecoders(rawValue: decoder)!))
            let folder = frames
            loop.start {
                if let folder { return try PGMFolderSource(folder: folder, fps: settings.fps, loop: true) }
                return try V4L2Camera(settings)
            }
            let clock = ContinuousClock()
            let start = clock.now
            let deadline = start + .milliseconds(Int64(seconds * 1000))
            if !json {
                print("scanning \(folder ?? settings.device) for \(String(format: "%g", seconds)) s …")
            }
            while clock.now < deadline {
                guard let code = loop.codes.take(timeout: min(.milliseconds(200), deadline - clock.now)) else {
                    if loop.wait(timeout: .zero) { break }
                    continue
                }
                let at =
                    Double((code.capturedAt - start).components.attoseconds) / 1e18
                    + Double((code.capturedAt - start).components.seconds)
                let shown = Self.redacted(code.text)
                if json {
                    printJSONLine([
                        "t": (at * 1000).rounded() / 1000, "code": shown, "length": code.text.count,
                        "polarity": code.symbol.polarity == .normal ? "normal" : "inverted",
                        "decode_ms": milliseconds(code.decodeTime),
                    ])
                } else {
                    let polarity = code.symbol.polarity == .normal ? "" : ", inverted"
                    print(String(format: "%7.2f s  ", at) + "\(shown)  (\(code.text.count) characters\(polarity))")
                }
            }
            let elapsed = clock.now - start
            loop.stop()
            loop.wait()
            let stats = loop.statistics
            let times = stats.recentDecodeMs.sorted()
            func quantile(_ q: Double) -> Double {
                times.isEmpty ? 0 : (times[min(times.count - 1, Int(Double(times.count) * q))] * 100).rounded() / 100
            }
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let fps = (Double(stats.frames) / max(seconds, 0.001) * 10).rounded() / 10
            if json {
                printJSONLine([
                    "frames": stats.frames, "fps": fps, "decoded": stats.decoded, "dropped": stats.dropped,
                    "codes": stats.admitted, "decode_ms_p50": quantile(0.5), "decode_ms_p95": quantile(0.95),
                    "error": loop.failure.map { "\($0)" },
                ])
            } else {
                print(
                    "\(stats.frames) frames, \(fps) fps; decoded \(stats.decoded), dropped \(stats.dropped); "
                        + "decode ms p50 \(quantile(0.5)), p95 \(quantile(0.95)); \(stats.admitted) codes seen"
                )
            }
            if let failure = loop.failure { throw UsageFailure("\(failure)") }
        }

        /// Enough of a code to recognise it, never a whole pass: a screen may be photographed.
        static func redacted(_ text: String) -> String {
            text.count <= 24 ? text : String(text.prefix(16)) + "…" + String(text.suffix(4))
        }
    }

    struct Snapshot: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Save one camera frame as a PGM file, for aiming and focusing the camera.",
            discussion: """
                The first frames are skipped while the camera settles its exposure. This is the only \
                command that writes a frame anywhere.
                """
        )

        @OptionGroup var camera: CameraOptions

        @Option(help: "The PGM file to write.")
        var pgm: String

        @Option(help: "Frames to skip first, while exposure settles.")
        var skip: Int = 5

        func run() throws {
            let source = try V4L2Camera(try camera.settings())
            var frame: GreyImage?
            for _ in 0...max(0, skip) { frame = try source.nextFrame() }
            guard let frame else { throw UsageFailure("camera \(camera.device) gave no frame") }
            do { try Data(PGM.encode(frame)).write(to: URL(fileURLWithPath: pgm)) } catch {
                throw UsageFailure("cannot write \(pgm): \((error as NSError).localizedDescription)")
            }
            print("wrote \(pgm): \(frame.width)x\(frame.height) from \(camera.device)")
        }
    }
}

/// The camera to open, shared by the camera commands.
struct CameraOptions: ParsableArguments {
    @Option(help: "The video device.")
    var device: String = "/dev/video0"

    @Option(help: "Frame size, WIDTHxHEIGHT.")
    var size: String = "640x480"

    @Option(help: "Frames per second to ask for.")
    var fps: Double = 30

    @Option(help: "Pixel format: GREY, YUYV or MJPG.")
    var format: String = CameraPixelFormat.yuyv.rawValue

    @Option(name: .customLong("control"), help: "A V4L2 control to set, NAME=VALUE (repeatable).")
    var controls: [String] = []

    func settings() throws -> CameraSettings {
        let parts = size.lowercased().split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2 else { throw ValidationError("--size must be WIDTHxHEIGHT, like 640x480") }
        guard let pixelFormat = CameraPixelFormat(rawValue: format.uppercased()) else {
            throw ValidationError("--format must be GREY, YUYV or MJPG")
        }
        var values: [String: Int] = [:]
        for control in controls {
            let pair = control.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, let value = Int(pair[1].trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--control must be NAME=VALUE with an integer value, like \"Brightness=120\"")
            }
            values[String(pair[0])] = value
        }
        return CameraSettings(
            device: device,
            width: parts[0],
            height: parts[1],
            fps: fps,
            format: pixelFormat,
            controls: values
        )
    }
}

/// A duration in milliseconds, to two decimals.
func milliseconds(_ duration: Duration) -> Double {
    let ms = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    return (ms * 100).rounded() / 100
}
