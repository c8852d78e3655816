import Foundation
import QRCodec

/// Camera-like streams of an empty doorway, for the frame gate's tests and the idle benchmark.
/// Deterministic: frame `i` of a stream is always the same image.
///
/// The background is a textured scene (shading, fixed fine texture, a few hard-edged shapes), so
/// decoders find candidates to reject, as they do in a real doorway. On top of it, per frame:
/// - `still`: sensor noise of σ 2 grey levels (a camera's frames are never identical);
/// - `noisy`: σ 12, a dim doorway at high gain;
/// - `flicker`: σ 3, and the whole frame's exposure swinging ±12 % as mains light (100 Hz)
///   beats against the 30 fps frame rate;
/// - `walkPast`: σ 3, and a person (a dark, textured, upright blob) crossing the view in 2 s,
///   then 2 s with nobody, over and over: someone in view half of the time.
public struct DoorwayStream: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case still, noisy, flicker
        case walkPast = "walk-past"
    }

    public let kind: Kind
    public let width: Int
    public let height: Int
    public let fps: Double
    public private(set) var background: GreyImage
    let seed: UInt64

    /// Frames of one walk-past cycle: 2 s crossing, 2 s empty.
    public var cycle: Int { kind == .walkPast ? Int(4 * fps) : Int(fps) }

    public init(_ kind: Kind, width: Int = 640, height: Int = 480, fps: Double = 30, seed: UInt64 = 1) {
        self.kind = kind
        self.width = width
        self.height = height
        self.fps = fps
        self.seed = seed
        background = Self.doorway(width: width, height: height, seed: seed)
    }

    /// A scene with no code in it: gradients, fine texture and a few hard edges.
    public static func doorway(width: Int = 640, height: Int = 480, seed: UInt64 = 1) -> GreyImage {
        var state = seed
        var image = GreyImage(width: width, height: height, fill: 0)
        let sx = Double(width) / 640
        let sy = Double(height) / 480
        for y in 0..<height {
            for x in 0..<width {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let noise = Int(state >> 59) - 16
                let shade = 120 + Int(50 * sin(Double(x) / (37 * sx)) * cos(Double(y) / (23 * sy))) + noise
                image.pixels[y * width + x] = UInt8(clamping: shade)
            }
        }
        for (x, y, w, h, level) in [(40, 60, 120, 200, 30), (400, 100, 160, 60, 230), (300, 320, 90, 90, 15)] {
            let (x0, y0) = (Int(Double(x) * sx), Int(Double(y) * sy))
            for row in y0..<(y0 + Int(Double(h) * sy)) {
                for col in x0..<(x0 + Int(Double(w) * sx)) { image.pixels[row * width + col] = UInt8(level) }
            }
        }
        return image
    }

    /// Sensor noise σ, in grey levels.
    public var noise: Double {
        switch kind {
        case .still: 2
        case .noisy: 12
        case .flicker, .walkPast: 3
        }
    }

    /// The exposure gain of frame `index`.
    public func gain(_ index: Int) -> Double {
        kind == .flicker ? 1 + 0.12 * sin(2 * Double.pi * 100 * Double(index) / fps) : 1
    }

    /// Where the walking person's left edge is in frame `index`, or nil when nobody is in view.
    public func personX(_ index: Int) -> Int? {
        guard kind == .walkPast else { return nil }
        let crossing = Int(2 * fps)
        let phase = index % cycle
        guard phase < crossing else { return nil }
        let personWidth = width / 6
        // From just off the left edge to just off the right one.
        return -personWidth + (width + personWidth) * phase / crossing
    }

    /// Frame `index` of the stream.
    public func frame(_ index: Int) -> GreyImage {
        var image = background
        if let left = personX(index) { paintPerson(into: &image, left: left) }
        let gain = gain(index)
        let sigma = noise
        // Irwin–Hall: four 16-bit uniforms from one generator step, summed, are close to normal.
        var state = seed &+ UInt64(index + 1) &* 0x9E37_79B9_7F4A_7C15
        let unit = sigma / (65_536 * (4.0 / 12).squareRoot())
        image.pixels.withUnsafeMutableBufferPointer { pixels in
            for i in pixels.indices {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let sum =
                    Int(state & 0xFFFF) + Int((state >> 16) & 0xFFFF) + Int((state >> 32) & 0xFFFF)
                    + Int(state >> 48)
                let value = Double(pixels[i]) * gain + Double(sum - 131_070) * unit
                pixels[i] = UInt8(clamping: Int(value.rounded()))
            }
        }
        return image
    }

    /// The same stream with `code` in view at (`x`, `y`): a phone held up in the same light and
    /// noise as the scene.
    public func showing(_ code: GreyImage, x: Int, y: Int) -> DoorwayStream {
        var stream = self
        stream.background.paste(code, x: x, y: y)
        return stream
    }

    /// A person: an upright dark ellipse with a coarse knit texture, a head above it.
    private func paintPerson(into image: inout GreyImage, left: Int) {
        let personWidth = width / 6
        let top = height / 8
        let bodyHeight = height - top
        let cx = Double(left) + Double(personWidth) / 2
        for y in top..<height {
            let dy = (Double(y - top) - Double(bodyHeight) / 2) / (Double(bodyHeight) / 2)
            let half = Double(personWidth) / 2 * (1 - dy * dy).squareRoot()
            let (from, to) = (max(0, Int(cx - half)), min(width, Int(cx + half) + 1))
            guard from < to else { continue }
            for x in from..<to {
                let knit = ((x / 6) ^ (y / 6)) & 1 == 0 ? 0 : 18
                image.pixels[y * width + x] = UInt8(55 + knit)
            }
        }
    }
}
