import ArgumentParser
import Foundation
import QRCodec

struct QRCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qr",
        abstract: "Decode and encode QR codes.",
        subcommands: [Decode.self, Encode.self, Bench.self]
    )

    struct Decode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decode the QR codes in PGM frames.",
            discussion: """
                Prints each decoded text on its own line. Each frame is scanned in both polarities \
                (printed codes and phones in dark mode). Exit status 1 if a frame held no code, 2 if \
                one could not be read.
                """
        )

        @Flag(help: "Print one JSON object per file: {\"file\",\"texts\",\"ms\"}.")
        var json = false

        @Option(help: "auto: zxing-cpp first when built in, then zbar; zbar: zbar only.")
        var decoder: String = QRDecoders.auto.rawValue

        @Argument(help: "PGM (P5 or P2) files.")
        var files: [String]

        func validate() throws {
            guard QRDecoders(rawValue: decoder) != nil else { throw ValidationError("--decoder must be auto or zbar") }
        }

        func run() throws {
            let scanner = try QRScanner()
            var unreadable = false
            var empty = false
            for file in files {
                let image: GreyImage
                do {
                    image = try PGM.parse(Array(try readFile(file)))
                } catch let error as QRCodecError {
                    unreadable = true
                    FileHandle.standardError.write(Data("gatewayctl: \(file): \(error)\n".utf8))
                    if json {
                        printJSONLine(["file": file, "texts": [String](), "ms": 0, "error": "\(file): \(error)"])
                    }
                    continue
                } catch {
                    unreadable = true
                    FileHandle.standardError.write(Data("gatewayctl: \(error)\n".utf8))
                    if json { printJSONLine(["file": file, "texts": [String](), "ms": 0, "error": "\(error)"]) }
                    continue
                }
                // Time the decode alone, on this thread, excluding the file read.
                let clock = ContinuousClock()
                let start = clock.now
                let symbols = scanner.scanStill(image, decoders: QRDecoders(rawValue: decoder)!)
                let elapsed = clock.now - start
                let ms = Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000
                empty = empty || symbols.isEmpty
                if json {
                    printJSONLine(["file": file, "texts": symbols.map(\.text), "ms": (ms * 1000).rounded() / 1000])
                } else {
                    for symbol in symbols { print(symbol.text) }
                }
            }
            if unreadable { throw ExitCode(2) }
            if empty { throw ExitCode(1) }
        }
    }

    struct Encode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Encode text as a QR code, to the terminal or to a PGM file."
        )

        @Option(help: "Write a binary PGM here instead of drawing on the terminal.")
        var pgm: String?

        @Option(name: .customLong("module"), help: "Pixels per module in the PGM (1–64).")
        var moduleSize = 4

        @Option(help: "Error-correction level: L, M, Q or H.")
        var level: String = "M"

        @Option(help: "Place the code in the middle of a grey camera frame of this size, e.g. 640x480.")
        var frame: String?

        @Flag(help: "Draw for a light terminal background.")
        var light = false

        @Argument(help: "The text to encode.")
        var text: String

        func validate() throws {
            guard QRErrorCorrection(rawValue: level) != nil else {
                throw ValidationError("--level must be L, M, Q or H")
            }
            guard (1...64).contains(moduleSize) else { throw ValidationError("--module must be 1–64") }
            if frame != nil && pgm == nil { throw ValidationError("--frame needs --pgm") }
            if let frame, Self.frameSize(frame) == nil { throw ValidationError("--frame must look like 640x480") }
        }

        static func frameSize(_ text: String) -> (Int, Int)? {
            let parts = text.split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2, (16...8192).contains(parts[0]), (16...8192).contains(parts[1]) else { return nil }
            return (parts[0], parts[1])
        }

        func run() throws {
            let matrix = try QRMatrix.encode(text: text, level: QRErrorCorrection(rawValue: level)!)
            guard let pgm else {
                print(matrix.terminalText(lightBackground: light), terminator: "")
                return
            }
            var image = try matrix.image(moduleSize: moduleSize)
            if let frame, let (width, height) = Self.frameSize(frame) {
                guard image.width <= width && image.height <= height else {
                    throw UsageFailure("a \(image.width)px code does not fit a \(frame) frame; lower --module")
                }
                var canvas = GreyImage(width: width, height: height, fill: 128)
                canvas.paste(image, x: (width - image.width) / 2, y: (height - image.height) / 2)
                image = canvas
            }
            do { try Data(PGM.encode(image)).write(to: URL(fileURLWithPath: pgm)) } catch {
                throw UsageFailure("cannot write \(pgm): \((error as NSError).localizedDescription)")
            }
        }
    }

    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decode a folder of PGM frames and report success and time per frame, as JSON.",
            discussion: """
                With a qrcorpus manifest.tsv (and its payload_*.txt) in the folder, a frame succeeds when \
                its expected payload is found; otherwise when any code is found. `ms` is the decode alone.
                """
        )

        @Option(help: "The folder of frames.")
        var frames: String

        @Option(help: "auto or zbar.")
        var decoder: String = QRDecoders.auto.rawValue

        func validate() throws {
            guard QRDecoders(rawValue: decoder) != nil else { throw ValidationError("--decoder must be auto or zbar") }
        }

        /// (path, expected payload) for each frame: from the manifest when there is one.
        func plan() throws -> [(String, String?)] {
            let folder = URL(fileURLWithPath: frames)
            let manifest = folder.appendingPathComponent("manifest.tsv")
            guard let text = try? String(contentsOf: manifest, encoding: .utf8) else {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: frames)) ?? []
                let pgms = names.filter { $0.hasSuffix(".pgm") }.sorted()
                guard !pgms.isEmpty else { throw UsageFailure("no manifest.tsv and no .pgm frames in \(frames)") }
                return pgms.map { (folder.appendingPathComponent($0).path, nil) }
            }
            var payloads: [String: String] = [:]
            let rows = text.split(separator: "\n").dropFirst().map { $0.split(separator: "\t").map(String.init) }
            return try rows.filter { $0.count >= 5 }.map { row in
                let key = row[4]
                if payloads[key] == nil {
                    let file = folder.appendingPathComponent("payload_\(key).txt")
                    guard let payload = try? String(contentsOf: file, encoding: .utf8) else {
                        throw UsageFailure("cannot read \(file.path)")
                    }
                    payloads[key] = payload
                }
                let path = row[1].hasPrefix("/") ? row[1] : folder.appendingPathComponent(row[1]).path
                return (path, payloads[key])
            }
        }

        func run() throws {
            let scanner = try QRScanner()
            let chain = QRDecoders(rawValue: decoder)!
            var perFrame: [[String: Any]] = []
            var times: [Double] = []
            var successes = 0
            let clock = ContinuousClock()
            for (path, expected) in try plan() {
                let image = try PGM.parse(Array(try readFile(path)))
                let start = clock.now
                let texts = scanner.scanStill(image, decoders: chain).map(\.text)
                let elapsed = clock.now - start
                let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
                let ok = expected.map { texts.contains($0) } ?? !texts.isEmpty
                successes += ok ? 1 : 0
                times.append(ms)
                perFrame.append(["file": path, "ok": ok, "ms": (ms * 1000).rounded() / 1000])
            }
            let sorted = times.sorted()
            func percentile(_ p: Double) -> Double {
                (sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))] * 1000).rounded() / 1000
            }
            let report: [String: Any] = [
                "decoder": decoder, "frames": times.count, "zxing_version": QRScanner.zxingVersion ?? "",
                "success": (Double(successes) / Double(max(1, times.count)) * 10000).rounded() / 100,
                "median_ms": percentile(0.5), "p95_ms": percentile(0.95), "per_frame": perFrame,
            ]
            let data = try JSONSerialization.data(
                withJSONObject: report,
                options: [.sortedKeys, .withoutEscapingSlashes]
            )
            print(String(decoding: data, as: UTF8.self))
        }
    }
}
