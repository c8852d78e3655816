import AccessToken
import Foundation
import QRCodec
import Testing

/// `image` blurred by a Gaussian of `sigma` px (separable, kernel to 3σ, edges clamped), rounded back
/// to 8 bits: a lens out of focus, as the shared corpus generator's `blur2` variant draws it.
func gaussianBlurred(_ image: GreyImage, sigma: Double) throws -> GreyImage {
    let radius = Int((3 * sigma).rounded(.up))
    let weights = (-radius...radius).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
    let total = weights.reduce(0, +)
    let kernel = weights.map { $0 / total }
    let w = image.width, h = image.height
    var rows = [Double](repeating: 0, count: w * h)
    for y in 0..<h {
        for x in 0..<w {
            var sum = 0.0
            for (k, weight) in kernel.enumerated() {
                sum += weight * Double(image.pixels[y * w + min(max(x + k - radius, 0), w - 1)])
            }
            rows[y * w + x] = sum
        }
    }
    var out = [UInt8](repeating: 0, count: w * h)
    for y in 0..<h {
        for x in 0..<w {
            var sum = 0.0
            for (k, weight) in kernel.enumerated() { sum += weight * rows[min(max(y + k - radius, 0), h - 1) * w + x] }
            out[y * w + x] = UInt8(clamping: Int(sum.rounded()))
        }
    }
    return try GreyImage(width: w, height: h, pixels: out)
}

@Suite struct UnsharpMaskTests {
    @Test func leavesAFlatImageFlat() {
        #expect(GreyImage(width: 40, height: 30, fill: 90).unsharpMasked() == GreyImage(width: 40, height: 30, fill: 90))
    }

    @Test func steepensASoftEdgeAndLeavesFlatGroundAlone() throws {
        // A dark half and a light half, softened by σ 2: near the edge the mask pushes the dark side
        // darker and the light side lighter; far from it both sides keep their level.
        var pixels = [UInt8](repeating: 200, count: 60 * 20)
        for y in 0..<20 { for x in 0..<30 { pixels[y * 60 + x] = 40 } }
        let soft = try gaussianBlurred(try GreyImage(width: 60, height: 20, pixels: pixels), sigma: 2)
        let mask = soft.unsharpMasked()
        let row = 10 * 60
        #expect(mask.pixels[row + 28] < soft.pixels[row + 28])
        #expect(mask.pixels[row + 31] > soft.pixels[row + 31])
        #expect(mask.pixels[row + 5] == soft.pixels[row + 5] && mask.pixels[row + 55] == soft.pixels[row + 55])
    }
}

@Suite struct DefocusedCodeTests {
    /// A version-11 code (the member page's AG2 size) at 3 px per module, defocused by σ 1.8 px on a
    /// 640×480 frame: zxing and zbar read it neither as it is nor 3×3-sharpened. (The text is a fixed
    /// AG2-sized string, not a pass.)
    func defocusedCode() throws -> (GreyImage, [UInt8]) {
        let text = "AG2:" + Base45.encode((0..<236).map { UInt8(($0 * 53 + 7) % 256) })
        let matrix = try QRMatrix.encode(text: text)
        try #require(matrix.version == 11, "the text was meant to need version 11, got \(matrix.version)")
        return (try gaussianBlurred(frame(with: try matrix.image(moduleSize: 3)), sigma: 1.8), Array(text.utf8))
    }

    @Test func theStillChainReadsADefocusedCodeThatSharpeningDoesNot() throws {
        try #require(QRScanner.zxingAvailable, "the unsharp-mask stage uses zxing-cpp")
        let (image, expected) = try defocusedCode()
        let scanner = try QRScanner()
        let sharp = image.sharpened()
        let earlier = [Polarity.normal, .inverted].flatMap { polarity in
            scanner.scanZXing(image, polarity: polarity) + scanner.scan(image, polarity: polarity)
                + scanner.scanZXing(sharp, polarity: polarity)
        }
        // Made against Debian 12's zxing-cpp 1.4; a newer zxing may read it earlier.
        if QRScanner.zxingVersion?.hasPrefix("1.") == true {
            #expect(!earlier.contains { $0.bytes == expected }, "an earlier pass already reads it")
        }
        #expect(scanner.scanZXing(image.unsharpMasked()).contains { $0.bytes == expected })
        #expect(scanner.scanStill(image, decoders: .auto).contains { $0.bytes == expected })
    }
}
