import Foundation
import QRCodec
import Testing
import TestSupport

/// One photo of `../shared/realqr`, converted as a door camera delivers it.
struct RealPhoto: CustomStringConvertible, Sendable {
    var id: String
    var note: String
    var description: String { id }

    /// Every photo in the set's manifest.
    static let all: [RealPhoto] = {
        let manifest = (try? String(contentsOf: TestPaths.sharedFile("realqr/manifest.tsv"), encoding: .utf8)) ?? ""
        return manifest.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            return fields.count >= 5 ? RealPhoto(id: String(fields[0]), note: String(fields[4])) : nil
        }
    }()

    /// The photos converted once per test process by `scripts/realqr_corpus.py` (Pillow): alpha over
    /// white, 8-bit greyscale, the long side at most 1280 px. Holds why when it could not run.
    static let converted: Result<URL, ConversionFailure> = {
        do {
            let out = try TestPaths.temporaryDirectory()
            let script = TestPaths.packageRoot.appendingPathComponent("scripts/realqr_corpus.py").path
            let result = try runTool("python3", [script, TestPaths.sharedFile("realqr").path, out.path])
            guard result.status == 0 else {
                return .failure(ConversionFailure(
                    why: "realqr_corpus.py exited \(result.status) (is pip's pillow installed? scripts/install-deps.sh installs it): \(result.stderr)"
                ))
            }
            return .success(out)
        } catch {
            return .failure(ConversionFailure(why: "cannot run python3 (Debian's python3 package): \(error)"))
        }
    }()

    struct ConversionFailure: Error, CustomStringConvertible {
        var why: String
        var description: String { why }
    }

    /// The frame and the exact bytes the code holds.
    func load() throws -> (GreyImage, [UInt8]) {
        let folder = try Self.converted.get()
        let image = try PGM.parse(Array(Data(contentsOf: folder.appendingPathComponent("\(id).pgm"))))
        let expected = Array(try Data(contentsOf: folder.appendingPathComponent("payload_\(id).txt")))
        return (image, expected)
    }
}

/// `../shared/realqr` as a regression set: real phone and camera photos, taken by other people.
@Suite struct RealPhotoTests {
    @Test func theSetIsThere() {
        #expect(RealPhoto.all.count >= 100, "../shared/realqr/manifest.tsv lists \(RealPhoto.all.count) photos")
    }

    @Test(arguments: RealPhoto.all)
    func theDefaultChainReadsThePhoto(_ photo: RealPhoto) throws {
        let (image, expected) = try photo.load()
        let scanner = try QRScanner()
        let found = scanner.scanStill(image, decoders: .auto)
        #expect(found.contains { $0.bytes == expected }, "\(photo.id) (\(photo.note)): read \(found.map(\.text))")
    }

    /// A printed code on a dark object with a thin white margin: the global threshold stage reads it.
    /// With zxing-cpp 1.4 (Debian 12) every earlier pass misses it; 2.3 (Debian 13) reads it sharpened.
    @Test func aCodeOnADarkObjectIsReadAfterAGlobalThreshold() throws {
        let (image, expected) = try RealPhoto(id: "jsqr_cupcake-2", note: "").load()
        let scanner = try QRScanner()
        try #require(QRScanner.zxingAvailable, "the global-threshold stage uses zxing-cpp")
        let sharp = image.sharpened()
        let earlier = [Polarity.normal, .inverted].flatMap { polarity in
            scanner.scanZXing(image, polarity: polarity) + scanner.scan(image, polarity: polarity)
                + scanner.scanZXing(sharp, polarity: polarity)
        }
        // With Debian 12's zxing-cpp 1.4 nothing earlier reads it; Debian 13's 2.3 reads it sharpened.
        if QRScanner.zxingVersion?.hasPrefix("1.") == true {
            #expect(earlier.isEmpty, "an earlier pass already reads it")
        }
        let cut = try #require(image.smoothed().thresholded())
        #expect((scanner.scanZXing(cut) + scanner.scan(cut)).contains { $0.bytes == expected })
    }

    /// The door's stream scanner reaches the same stage as its fourth extra turn: extra passes run
    /// every third frame, so on frame 12.
    @Test func theStreamScannerReadsACodeOnADarkObjectWithinTwelveFrames() throws {
        try #require(QRScanner.zxingAvailable, "the extra passes run only with zxing-cpp")
        let (image, expected) = try RealPhoto(id: "jsqr_cupcake-2", note: "").load()
        var stream = try QRStreamScanner(decoders: .auto, budget: .seconds(5))
        let frames = (1...12).map { _ in stream.scan(image).contains { $0.bytes == expected } }
        // Frames 3, 6 and 9 carry zbar normal, zbar inverted and the sharpened pass; 12 the threshold,
        // which is what reads it with zxing-cpp 1.4 (2.3 reads it sharpened, on frame 9).
        let first = frames.firstIndex(of: true).map { $0 + 1 }
        #expect(first.map { $0 % 3 == 0 } == true, "first read on frame \(first ?? 0), which has no extra pass")
        if QRScanner.zxingVersion?.hasPrefix("1.") == true { #expect(first == 12) }
    }
}
