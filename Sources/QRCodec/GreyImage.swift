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
        guard width >= 3 && height >= 3 else { return self }
        var out = pixels
        let w = width
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 1..<(height - 1) {
                    for x in 1..<(w - 1) {
                        let i = y * w + x
                        let v = 5 * Int(src[i]) - Int(src[i - 1]) - Int(src[i + 1]) - Int(src[i - w]) - Int(src[i + w])
                        dst[i] = UInt8(clamping: v)
                    }
                }
            }
        }
        var image = self
        image.pixels = out
        return image
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
