/// Decides, frame by frame, whether a camera frame needs the full QR decode.
///
/// Most door frames show an empty doorway that does not change; decoding each of them costs a
/// core's worth of time on a small board for nothing. The gate keeps a coarse signature of the
/// last frame that was decoded — per block of the image, its mean brightness and its detail (the
/// mean step between neighbouring pixels), both divided by the frame's mean brightness, so that
/// exposure flicker and auto-exposure steps cancel out — and lets a frame through to the decoder
/// when:
/// - it is the first frame, or its size changed;
/// - enough blocks changed against that signature (something moved, or a code appeared: a code
///   is a patch of fine detail that the blocks it covers did not have);
/// - the scene moved, or a code was read, within the last ``Settings/holdActive`` (so that a code
///   that stopped moving, or that one frame's decode missed, is tried on the frames after it);
/// - ``Settings/quietInterval`` has passed since the last decode (the slow cadence of a quiet
///   scene, in case a change crept in too slowly to trip the test).
///
/// A block is compared on whole-row samples (every second row), so pixel noise averages out over
/// more than a hundred samples per block. When the frame is too dark to normalise, the gate says
/// decode: it never trades a code for CPU when unsure. Pure: the caller passes the time.
public struct FrameGate: Sendable {
    /// How the gate judges change.
    public struct Settings: Sendable, Equatable {
        /// The side of a square block, in pixels; even.
        public var blockSize: Int
        /// How much a block's mean or detail must move, as a fraction of the frame's mean
        /// brightness, to count as changed.
        public var blockThreshold: Double
        /// How many blocks must change for the frame to count as changed.
        public var changedBlocks: Int
        /// How long every frame is decoded after the scene moved or a code was read.
        public var holdActive: Duration
        /// How often a quiet scene is decoded anyway.
        public var quietInterval: Duration

        /// The defaults: 16-pixel blocks, 10 % of the mean brightness, 3 blocks (the smallest
        /// code, 21 modules of 2 px, covers 2×2 whole blocks and parts of more), every frame for
        /// 1 s after a change, every 0.5 s when quiet.
        public init(
            blockSize: Int = 16,
            blockThreshold: Double = 0.10,
            changedBlocks: Int = 3,
            holdActive: Duration = .seconds(1),
            quietInterval: Duration = .milliseconds(500)
        ) {
            self.blockSize = blockSize
            self.blockThreshold = blockThreshold
            self.changedBlocks = changedBlocks
            self.holdActive = holdActive
            self.quietInterval = quietInterval
        }
    }

    /// Why a frame is decoded.
    public enum Reason: String, Sendable, Equatable, CaseIterable {
        /// No signature yet, or the frame size changed.
        case first
        /// Enough blocks changed against the last decoded frame.
        case changed
        /// Too dark to judge change against the mean brightness.
        case unsure
        /// Within the hold after a change or a read code.
        case active
        /// The quiet scene's slow cadence.
        case cadence
    }

    /// The gate's answer for one frame.
    public enum Verdict: Sendable, Equatable {
        case decode(Reason)
        case skip

        public var decodes: Bool { self != .skip }
    }

    /// A frame's coarse signature: per block, normalised mean then normalised detail.
    struct Signature: Sendable, Equatable {
        var width: Int
        var height: Int
        var blocks: [Float]
        var meanBrightness: Float
    }

    public let settings: Settings
    private var reference: Signature?
    private var lastDecode: Duration?
    private var activeUntil: Duration?
    /// Blocks that changed in the last frame assessed against the reference.
    public private(set) var lastChangedBlocks = 0

    /// Below this mean brightness (of 255) a frame is too dark to normalise reliably.
    static let darkest: Float = 12

    public init(settings: Settings = Settings()) {
        precondition(settings.blockSize >= 4 && settings.blockSize % 2 == 0, "an even block side of 4 or more")
        self.settings = settings
    }

    /// Judges `frame`, shown at `now`. When the verdict decodes, the frame becomes the reference
    /// that later frames are compared with.
    public mutating func assess(_ frame: GreyImage, at now: Duration) -> Verdict {
        let signature = Self.signature(of: frame, blockSize: settings.blockSize)
        let verdict = judge(signature, at: now)
        if verdict.decodes {
            reference = signature
            lastDecode = now
        }
        return verdict
    }

    /// Tells the gate what the decode of the frame it let through found: a read code keeps every
    /// frame decoded for ``Settings/holdActive``, as a code in view is decoded today.
    public mutating func decoded(foundCode: Bool, at now: Duration) {
        if foundCode { activeUntil = now + settings.holdActive }
    }

    private mutating func judge(_ signature: Signature, at now: Duration) -> Verdict {
        guard let reference, reference.width == signature.width, reference.height == signature.height,
            reference.blocks.count == signature.blocks.count
        else { return .decode(.first) }
        guard signature.meanBrightness >= Self.darkest, reference.meanBrightness >= Self.darkest else {
            return .decode(.unsure)
        }
        let threshold = Float(settings.blockThreshold)
        var changed = 0
        signature.blocks.withUnsafeBufferPointer { now in
            reference.blocks.withUnsafeBufferPointer { then in
                var i = 0
                // Mean and detail of one block side by side: either moving counts the block once.
                while i + 1 < now.count {
                    if abs(now[i] - then[i]) > threshold || abs(now[i + 1] - then[i + 1]) > threshold { changed += 1 }
                    i += 2
                }
            }
        }
        lastChangedBlocks = changed
        if changed >= settings.changedBlocks {
            activeUntil = now + settings.holdActive
            return .decode(.changed)
        }
        if let activeUntil, now < activeUntil { return .decode(.active) }
        if let lastDecode, now - lastDecode < settings.quietInterval { return .skip }
        return .decode(.cadence)
    }

    /// The per-block signature of `frame`: every second row, every pixel of it; blocks that the
    /// frame's right or bottom edge cuts are left out (a code is larger than one block).
    static func signature(of frame: GreyImage, blockSize: Int) -> Signature {
        let columns = frame.width / blockSize
        let rows = frame.height / blockSize
        guard columns > 0, rows > 0 else {
            return Signature(width: frame.width, height: frame.height, blocks: [], meanBrightness: 0)
        }
        var sums = [UInt32](repeating: 0, count: columns * rows)
        var steps = [UInt32](repeating: 0, count: columns * rows)
        let width = frame.width
        frame.pixels.withUnsafeBufferPointer { pixels in
            sums.withUnsafeMutableBufferPointer { sums in
                steps.withUnsafeMutableBufferPointer { steps in
                    for y in stride(from: 0, to: rows * blockSize, by: 2) {
                        let rowStart = y * width
                        let blockRow = (y / blockSize) * columns
                        for column in 0..<columns {
                            let start = rowStart + column * blockSize
                            var sum = UInt32(pixels[start])
                            var step: UInt32 = 0
                            var previous = Int32(pixels[start])
                            for x in (start + 1)..<(start + blockSize) {
                                let value = Int32(pixels[x])
                                sum &+= UInt32(value)
                                step &+= UInt32(abs(value &- previous))
                                previous = value
                            }
                            sums[blockRow + column] &+= sum
                            steps[blockRow + column] &+= step
                        }
                    }
                }
            }
        }
        let samplesPerBlock = Float(blockSize * ((blockSize + 1) / 2))
        let stepsPerBlock = Float((blockSize - 1) * ((blockSize + 1) / 2))
        let total = sums.reduce(UInt64(0)) { $0 + UInt64($1) }
        let mean = Float(total) / (samplesPerBlock * Float(sums.count))
        // A dark frame is judged unsure by the caller; dividing by at least 1 keeps the numbers finite.
        let scale = 1 / max(mean, 1)
        var blocks = [Float](repeating: 0, count: 2 * sums.count)
        for i in sums.indices {
            blocks[2 * i] = Float(sums[i]) / samplesPerBlock * scale
            blocks[2 * i + 1] = Float(steps[i]) / stepsPerBlock * scale
        }
        return Signature(width: frame.width, height: frame.height, blocks: blocks, meanBrightness: mean)
    }
}
