import AccessToken
import Foundation
import QRCodec
import TestSupport
import Testing

/// A pass-sized text in the QR alphanumeric set, like an AG1 pass.
let passSizedText = "AG1:" + Base45.encode((0..<170).map { UInt8(($0 * 37 + 11) % 256) })

/// Places `code` in the middle of a mid-grey 640×480 frame, as a camera would see it.
func frame(with code: GreyImage, background: UInt8 = 128) -> GreyImage {
    var frame = GreyImage(width: 640, height: 480, fill: background)
    frame.paste(code, x: (640 - code.width) / 2, y: (480 - code.height) / 2)
    return frame
}

@Suite struct QRRoundTripTests {
    @Test(arguments: 2...8)
    func decodesWhatItEncodes(moduleSize: Int) throws {
        let matrix = try QRMatrix.encode(text: passSizedText)
        let scanner = try QRScanner()
        let symbols = scanner.scan(frame(with: try matrix.image(moduleSize: moduleSize)))
        #expect(symbols.map(\.text) == [passSizedText])
    }

    @Test(arguments: [2, 4, 8])
    func decodesDarkModeCodesInAStill(moduleSize: Int) throws {
        let code = try QRMatrix.encode(text: passSizedText).image(moduleSize: moduleSize).inverted()
        let scanner = try QRScanner()
        let still = frame(with: code, background: 20)
        #expect(scanner.scan(still, polarity: .normal).isEmpty)
        let symbols = scanner.scanStill(still)
        #expect(symbols.map(\.text) == [passSizedText])
        #expect(symbols.first?.polarity == .inverted)
    }

    @Test func returnsRawBytesOfBinaryPayloads() throws {
        let payload: [UInt8] = [0x00, 0xFF, 0x80, 0xC3, 0x28, 0x0A, 0x41] + (0..<64).map { UInt8($0) }
        let code = try QRMatrix.encode(bytes: payload).image(moduleSize: 4)
        let symbols = try QRScanner().scan(frame(with: code))
        #expect(symbols.map(\.bytes) == [payload])
    }

    @Test func returnsEverySymbolInAFrame() throws {
        var image = GreyImage(width: 640, height: 480, fill: 255)
        image.paste(try QRMatrix.encode(text: "LEFT-CODE").image(moduleSize: 6), x: 20, y: 100)
        image.paste(try QRMatrix.encode(text: "RIGHT-CODE").image(moduleSize: 6), x: 400, y: 100)
        let texts = try QRScanner().scan(image).map(\.text).sorted()
        #expect(texts == ["LEFT-CODE", "RIGHT-CODE"])
    }

    @Test func findsNothingInAnEmptyFrame() throws {
        #expect(try QRScanner().scanStill(GreyImage(width: 640, height: 480, fill: 90)).isEmpty)
    }

    @Test func defaultsToLevelMAndGrowsWithLevel() throws {
        let m = try QRMatrix.encode(text: passSizedText)
        let h = try QRMatrix.encode(text: passSizedText, level: .high)
        #expect(h.version > m.version)
        #expect(m.size == 17 + 4 * m.version)
    }

    @Test func refusesTextBeyondQRCapacity() {
        #expect(throws: QRCodecError.tooLong(bytes: 5000)) {
            try QRMatrix.encode(bytes: [UInt8](repeating: 0x55, count: 5000))
        }
    }

    @Test func rendersPGMWithQuietZone() throws {
        let m = try QRMatrix.encode(text: "HELLO")
        let image = try m.image(moduleSize: 3, quietZone: 4)
        #expect(image.width == (m.size + 8) * 3)
        // The quiet zone is white and the top-left finder corner is black.
        #expect(image.pixels[0] == 255)
        #expect(image.pixels[(4 * 3) * image.width + 4 * 3] == 0)
    }

    @Test func terminalRenderingEncodesEveryModule() throws {
        let m = try QRMatrix.encode(text: "TERMINAL")
        let text = m.terminalText(quietZone: 0, lightBackground: true)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count == (m.size + 1) / 2)
        for (row, line) in lines.enumerated() {
            for (x, glyph) in line.enumerated() {
                let top = m[x, 2 * row]
                let bottom = 2 * row + 1 < m.size && m[x, 2 * row + 1]
                let expected: Character =
                    top ? (bottom ? "\u{2588}" : "\u{2580}") : (bottom ? "\u{2584}" : " ")
                #expect(glyph == expected, "row \(row) column \(x)")
            }
        }
    }
}

@Suite struct DCCImageTests {
    static let images = TestPaths.sharedFiles(in: "vectors/dcc", ext: "pgm")

    @Test func corpusIsPresent() {
        #expect(Self.images.count >= 10, "expected the DCC PGM corpus in \(TestPaths.shared.path)")
    }

    /// zbar alone, which must always work, and the default chain.
    @Test(arguments: images, QRDecoders.allCases)
    func decodesToPrefixedText(pgm: URL, decoders: QRDecoders) throws {
        let json = try readJSON(pgm.deletingPathExtension().appendingPathExtension("json")) as! [String: Any]
        let expected = try #require(json["prefixed"] as? String)
        let image = try PGM.parse(Array(try Data(contentsOf: pgm)))
        let texts = try QRScanner().scanStill(image, decoders: decoders).map(\.text)
        #expect(texts == [expected])
    }
}

@Suite struct ZXingBackendTests {
    /// The build links zxing-cpp exactly when libzxing-dev is installed.
    @Test func isBuiltInWhenInstalled() {
        #expect(QRScanner.zxingAvailable == FileManager.default.fileExists(atPath: "/usr/include/ZXing/ReadBarcode.h"))
    }

    /// zxing-cpp 1.4 (Debian 12) and 2.x (Debian 13, whose reader options API changed) both build:
    /// the version built in is the installed header's.
    @Test func reportsTheVersionOfTheInstalledHeader() throws {
        try #require(QRScanner.zxingAvailable, "libzxing-dev is not installed")
        let versionHeader = ["/usr/include/ZXing/Version.h", "/usr/include/ZXing/ZXVersion.h"]
            .first { FileManager.default.fileExists(atPath: $0) }
        let header = try String(contentsOfFile: try #require(versionHeader), encoding: .utf8)
        let parts = ["MAJOR", "MINOR", "PATCH"].map { part in
            header.split(separator: "\n").first { $0.hasPrefix("#define ZXING_VERSION_\(part) ") }
                .map { String($0.split(separator: " ").last!) } ?? "?"
        }
        #expect(QRScanner.zxingVersion == parts.joined(separator: "."))
    }

    @Test(arguments: [2, 4, 8])
    func decodesBothPolarities(moduleSize: Int) throws {
        try #require(QRScanner.zxingAvailable, "libzxing-dev is not installed")
        let code = try QRMatrix.encode(text: passSizedText).image(moduleSize: moduleSize)
        let scanner = try QRScanner()
        #expect(scanner.scanZXing(frame(with: code)).map(\.text) == [passSizedText])
        let dark = frame(with: code.inverted(), background: 20)
        #expect(scanner.scanZXing(dark, polarity: .inverted).map(\.text) == [passSizedText])
        #expect(scanner.scanZXing(dark, polarity: .normal).isEmpty)
    }

    @Test func returnsRawBytes() throws {
        try #require(QRScanner.zxingAvailable, "libzxing-dev is not installed")
        let payload: [UInt8] = [0x00, 0xFF, 0x80, 0xC3, 0x28] + (0..<40).map { UInt8($0) }
        let code = try QRMatrix.encode(bytes: payload).image(moduleSize: 4)
        #expect(try QRScanner().scanZXing(frame(with: code)).map(\.bytes) == [payload])
    }

    /// A code seen at an angle (keystone and shear): zxing-cpp reads it and zbar does not, so the
    /// default chain finds it and the zbar-only chain, which never calls zxing, finds nothing.
    @Test func theZbarOnlyChainDoesNotReadWhatOnlyZXingReads() throws {
        try #require(QRScanner.zxingAvailable, "libzxing-dev is not installed")
        let text = "AG1:6BFOXN*TS0BI$ZD4N9:9S6RCVN5+O30K3/XIV0W23NTDEXWK G2EP4J0B6BFOXN*TS0BI"
        let code = try QRMatrix.encode(text: text).image(moduleSize: 4)
        var flat = GreyImage(width: 320, height: 240, fill: 128)
        flat.paste(code, x: (320 - code.width) / 2, y: (240 - code.height) / 2)
        let tilted = try Self.tilt(flat, keystone: 0.2, shear: 0.2)
        let scanner = try QRScanner()
        #expect(scanner.scanStill(tilted, decoders: .auto).map(\.text) == [text])
        #expect(scanner.scan(tilted, polarity: .normal).isEmpty && scanner.scan(tilted, polarity: .inverted).isEmpty)
        #expect(scanner.scanStill(tilted, decoders: .zbar).isEmpty)
    }

    /// `image` as a camera at an angle sees it: rows scaled by distance from the centre column
    /// (keystone), columns shifted by distance from the centre row (shear); outside is light grey.
    static func tilt(_ image: GreyImage, keystone: Double, shear: Double) throws -> GreyImage {
        let (width, height) = (image.width, image.height)
        let (cx, cy) = (Double(width) / 2, Double(height) / 2)
        var pixels = [UInt8](repeating: 200, count: width * height)
        for y in 0..<height {
            for x in 0..<width {
                let scale = 1 + keystone * (Double(x) - cx) / Double(width)
                let sx = Int(Double(x) + shear * (Double(y) - cy))
                let sy = Int(cy + (Double(y) - cy) * scale)
                if (0..<width).contains(sx), (0..<height).contains(sy) { pixels[y * width + x] = image.pixels[sy * width + sx] }
            }
        }
        return try GreyImage(width: width, height: height, pixels: pixels)
    }
}

@Suite struct SharpenTests {
    @Test func appliesTheLaplacianKernelInside() throws {
        // A single bright pixel on grey: centre 5×200 − 4×100 = 600 → 255; its neighbours 500 − 200 − 300 = 0.
        var pixels = [UInt8](repeating: 100, count: 25)
        pixels[12] = 200
        let sharp = try GreyImage(width: 5, height: 5, pixels: pixels).sharpened()
        #expect(sharp.pixels[12] == 255)
        #expect(sharp.pixels[7] == 0 && sharp.pixels[11] == 0)
        #expect(sharp.pixels[6] == 100)  // a diagonal neighbour is untouched by this kernel
        #expect(sharp.pixels[0] == 100)  // borders are kept
    }

    @Test func leavesAFlatImageFlat() {
        #expect(GreyImage(width: 8, height: 8, fill: 90).sharpened() == GreyImage(width: 8, height: 8, fill: 90))
    }
}

@Suite struct GlobalThresholdTests {
    @Test func cutsBetweenTheTwoModesOfTheHistogram() throws {
        // Dark modules around 40–60 and paper around 180–200, on a wide dark surround of 90: one cut
        // between the paper and everything darker.
        let pixels: [UInt8] = [40, 60, 50, 190, 180, 200, 195, 90, 90, 90, 90, 55]
        let cut = try #require(try GreyImage(width: 4, height: 3, pixels: pixels).thresholded())
        #expect(cut.pixels == [0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 0, 0])
    }

    @Test func aFlatImageHasNoThreshold() {
        #expect(GreyImage(width: 8, height: 8, fill: 90).thresholded() == nil)
    }
}

@Suite struct DoubledImageTests {
    @Test func twiceTheSizeWithTheCornersAndAFlatFieldKept() throws {
        let image = try GreyImage(width: 3, height: 2, pixels: [0, 100, 200, 50, 150, 250])
        let large = image.doubled()
        #expect(large.width == 6 && large.height == 4)
        #expect(large.pixels[0] == 0 && large.pixels[5] == 200 && large.pixels[18] == 50 && large.pixels[23] == 250)
        #expect(GreyImage(width: 5, height: 3, fill: 77).doubled() == GreyImage(width: 10, height: 6, fill: 77))
    }

    @Test func interpolatesBetweenNeighbours() throws {
        // Output pixel 2 samples source x = 0.75 between 0 and 100: 75.
        let large = try GreyImage(width: 2, height: 1, pixels: [0, 100]).doubled()
        #expect(large.pixels[0...3] == [0, 25, 75, 100])
    }
}

@Suite struct QRStreamScannerTests {
    @Test func findsADarkModeCodeByTheSecondFrame() throws {
        let still = frame(
            with: try QRMatrix.encode(text: passSizedText).image(moduleSize: 4).inverted(),
            background: 20
        )
        var stream = try QRStreamScanner()
        #expect(stream.scan(still).isEmpty)
        #expect(stream.scan(still).map(\.text) == [passSizedText])
        // It stays in the polarity that found the code.
        #expect(stream.nextPolarity == .inverted)
        #expect(stream.scan(still).map(\.text) == [passSizedText])
    }

    @Test func scansEachEmptyFrameOnceAlternating() throws {
        var stream = try QRStreamScanner()
        let empty = GreyImage(width: 320, height: 240, fill: 128)
        var seen: [Polarity] = []
        for _ in 0..<4 {
            seen.append(stream.nextPolarity)
            #expect(stream.scan(empty).isEmpty)
        }
        #expect(seen == [.normal, .inverted, .normal, .inverted])
    }

    @Test func keepsFindingANormalCodeEveryFrame() throws {
        let still = frame(with: try QRMatrix.encode(text: passSizedText).image(moduleSize: 3))
        var stream = try QRStreamScanner()
        for _ in 0..<3 { #expect(stream.scan(still).map(\.text) == [passSizedText]) }
    }
}

@Suite struct StillPolarityTests {
    @Test func aStillWithBothPolaritiesYieldsBothCodes() throws {
        var image = GreyImage(width: 640, height: 480, fill: 255)
        image.paste(try QRMatrix.encode(text: "NORMAL-CODE").image(moduleSize: 6), x: 20, y: 100)
        var dark = GreyImage(width: 300, height: 300, fill: 0)
        dark.paste(try QRMatrix.encode(text: "DARK-CODE").image(moduleSize: 6).inverted(), x: 20, y: 20)
        image.paste(dark, x: 330, y: 80)
        let symbols = try QRScanner().scanStill(image)
        #expect(symbols.map(\.text) == ["NORMAL-CODE", "DARK-CODE"])
        #expect(symbols.map(\.polarity) == [.normal, .inverted])
    }
}
