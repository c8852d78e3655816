/// An 8-bit greyscale frame (Y800): one byte per pixel, rows top to bottom, no padding.
public struct GreyImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var pixels: [UInt8]

    /// Wraps a Y800 buffer; `pixels.count` must be `width * height`.
    public init(width: Int, height: Int, pixels: [UInt8]) throws(QRCodecError) {
        guard width > 0, height > 0 else { throw .badParameter("image size \(width)×\(height) is empty") }
        guard pixels.count == width * height else { throw .frameSize(expected: width * height, actual: pixels.count) }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// A blank image of one grey level.
    public init(width: Int, height: Int, fill: UInt8) {
        self.width = width
        self.height = height
        self.pixels = [UInt8](repeating: fill, count: width * height)
    }

    /// The image with every grey level inverted, as a dark-mode code looks to a normal one.
    public func inverted() -> GreyImage {
        var copy = self
        for i in copy.pixels.indices { copy.pixels[i] = 255 &- copy.pixels[i] }
        return copy
    }

    /// The image sharpened with a 3×3 Laplacian kernel (centre 5, edges −1), borders kept; brings
    /// back module edges that camera blur softened.
    public func sharpened() -> GreyImage {
        filtered3x3 { src, i, w in
            UInt8(clamping: 5 * Int(src[i]) - Int(src[i - 1]) - Int(src[i + 1]) - Int(src[i - w]) - Int(src[i + w]))
        }
    }

    /// Every pixel inside the one-pixel border replaced by `kernel` of the source, the border kept.
    @inline(__always)
    private func filtered3x3(
        _ kernel: (_ source: UnsafeBufferPointer<UInt8>, _ index: Int, _ width: Int) -> UInt8
    ) -> GreyImage {
        guard width >= 3 && height >= 3 else { return self }
        var out = pixels
        let w = width
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 1..<(height - 1) {
                    for x in 1..<(w - 1) { dst[y * w + x] = kernel(src, y * w + x, w) }
                }
            }
        }
        var image = self
        image.pixels = out
        return image
    }

    /// The image cut into black and white at one global threshold, chosen by Otsu's method (the
    /// level that best separates the histogram's dark and light halves). A printed code on a dark
    /// object, with little white around it, fools a local threshold near its edges; one level for the
    /// whole frame does not. Nil when the frame is flat (one grey level), where no level separates.
    public func thresholded() -> GreyImage? {
        var histogram = [Int](repeating: 0, count: 256)
        pixels.withUnsafeBufferPointer { for value in $0 { histogram[Int(value)] += 1 } }
        let total = Double(pixels.count)
        let sum = histogram.indices.reduce(0.0) { $0 + Double($1 * histogram[$1]) }
        var below = 0.0, belowSum = 0.0, best = -1.0, level = -1
        for value in 0..<255 {
            below += Double(histogram[value])
            belowSum += Double(value * histogram[value])
            let above = total - below
            guard below > 0, above > 0 else { continue }
            let gap = belowSum / below - (sum - belowSum) / above
            let spread = below * above * gap * gap
            if spread > best { best = spread; level = value }
        }
        guard level >= 0 else { return nil }
        var image = self
        let cut = UInt8(level)
        for i in image.pixels.indices { image.pixels[i] = image.pixels[i] > cut ? 255 : 0 }
        return image
    }

    /// The image smoothed with a 3×3 binomial kernel (1 2 1 / 2 4 2 / 1 2 1, over 16), borders kept;
    /// takes sensor noise and print grain off module edges before a global threshold.
    public func smoothed() -> GreyImage {
        filtered3x3 { src, i, w in
            let corners = Int(src[i - w - 1]) + Int(src[i - w + 1]) + Int(src[i + w - 1]) + Int(src[i + w + 1])
            let edges = Int(src[i - w]) + Int(src[i + w]) + Int(src[i - 1]) + Int(src[i + 1])
            return UInt8((corners + 2 * edges + 4 * Int(src[i]) + 8) >> 4)
        }
    }

    /// The image with an unsharp mask: each pixel pushed `amount` times its difference away from its
    /// neighbourhood's mean, borders included (the edge pixels repeat outwards). The neighbourhood is
    /// a 5×5 box applied twice, which is close to a Gaussian of σ 2 px, in running sums: a few passes
    /// over the frame whatever its size. Restores the module contrast that a defocused lens spread over
    /// several pixels, where the 3×3 sharpening reaches too little.
    public func unsharpMasked(amount: Int = 3) -> GreyImage {
        let w = width, h = height
        var a = pixels.map { Int32($0) }
        var b = [Int32](repeating: 0, count: w * h)
        // Two box passes across the rows, then two down the columns; the sums carry the scale (5⁴).
        for _ in 0..<2 {
            Self.box5(&a, into: &b, count: w, lines: h, step: 1, lineStep: w)
            swap(&a, &b)
        }
        for _ in 0..<2 {
            Self.box5(&a, into: &b, count: h, lines: w, step: w, lineStep: 1)
            swap(&a, &b)
        }
        var out = pixels
        for i in out.indices {
            let mean = (Int(a[i]) + 312) / 625
            out[i] = UInt8(clamping: Int(pixels[i]) + amount * (Int(pixels[i]) - mean))
        }
        return GreyImage(unchecked: w, h, out)
    }

    /// Sums of 5 neighbours along each of `lines` lines of `count` values (`step` apart; lines
    /// `lineStep` apart), the end values repeated outwards.
    private static func box5(_ src: inout [Int32], into dst: inout [Int32], count: Int, lines: Int, step: Int, lineStep: Int) {
        src.withUnsafeBufferPointer { s in
            dst.withUnsafeMutableBufferPointer { d in
                for line in 0..<lines {
                    let base = line * lineStep
                    func at(_ k: Int) -> Int32 { s[base + min(max(k, 0), count - 1) * step] }
                    var sum = at(-2) + at(-1) + at(0) + at(1) + at(2)
                    for k in 0..<count {
                        d[base + k * step] = sum
                        sum += at(k + 3) - at(k - 2)
                    }
                }
            }
        }
    }

    /// The image at twice its width and height, bilinear. Gives the decoders more pixels per module
    /// where a small frame holds a small code.
    public func doubled() -> GreyImage {
        let w = width * 2, h = height * 2
        var out = [UInt8](repeating: 0, count: w * h)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<h {
                    // Sample centres: output pixel y maps to source (y + 0.5) / 2 - 0.5.
                    let sy = max(0, Double(y) * 0.5 - 0.25)
                    let y0 = min(Int(sy), height - 1), y1 = min(y0 + 1, height - 1)
                    let fy = sy - Double(y0)
                    for x in 0..<w {
                        let sx = max(0, Double(x) * 0.5 - 0.25)
                        let x0 = min(Int(sx), width - 1), x1 = min(x0 + 1, width - 1)
                        let fx = sx - Double(x0)
                        let top = Double(src[y0 * width + x0]) * (1 - fx) + Double(src[y0 * width + x1]) * fx
                        let bottom = Double(src[y1 * width + x0]) * (1 - fx) + Double(src[y1 * width + x1]) * fx
                        dst[y * w + x] = UInt8((top * (1 - fy) + bottom * fy).rounded())
                    }
                }
            }
        }
        return GreyImage(unchecked: w, h, out)
    }

    private init(unchecked width: Int, _ height: Int, _ pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Copies `other` into this image with its top-left corner at (`x`, `y`), clipped to the bounds.
    public mutating func paste(_ other: GreyImage, x: Int, y: Int) {
        for row in 0..<other.height where (0..<height).contains(y + row) {
            for col in 0..<other.width where (0..<width).contains(x + col) {
                pixels[(y + row) * width + x + col] = other.pixels[row * other.width + col]
            }
        }
    }
}
