/// Scans a live camera stream for QR codes within a time budget per frame.
///
/// Most door frames hold no code, so the work on each frame is kept small and spread out. A code
/// held up to the camera stays in view for many frames, so a pass that one frame skips, the next
/// few frames try.
///
/// - zbar only: one polarity per frame, alternating until a code is found, then staying where the
///   code was (a phone in dark mode keeps showing dark-mode codes). Trying both on each frame, as
///   zbar's `ZBAR_CFG_TEST_INVERTED` does, would double the CPU spent on empty frames.
/// - `.auto` with zxing-cpp built in: zxing in both polarities on every frame (it is fast and
///   reads tilted codes), then, on one frame in three and only while the budget lasts, one extra
///   pass in turn: zbar normal, zbar inverted (both read low-contrast codes zxing misses), zxing
///   on a sharpened copy (blur), zxing on a smoothed copy cut at one global threshold (a phone or a
///   printed code with a thin margin on a dark body).
///
/// A pass never starts once the frame's budget is spent; a pass that has started runs to its end.
public struct QRStreamScanner: ~Copyable {
    private let scanner: QRScanner
    public let decoders: QRDecoders
    /// The time one frame may take before further passes are skipped.
    public let budget: Duration
    /// The polarity zbar scans the next frame in, when zbar is the only decoder.
    public private(set) var nextPolarity: Polarity = .normal
    private var frameCount = 0
    private var extraTurn = 0
    /// Passes skipped because a frame's budget was spent.
    public private(set) var skippedPasses = 0

    /// Every this many frames, one extra pass runs after zxing.
    static let extraEvery = 3

    public init(decoders: QRDecoders = .zbar, budget: Duration = .milliseconds(20)) throws(QRCodecError) {
        scanner = try QRScanner()
        self.decoders = decoders
        self.budget = budget
    }

    /// Scans one frame of the stream.
    public mutating func scan(_ frame: GreyImage) -> [QRSymbol] {
        frameCount += 1
        guard decoders == .auto, QRScanner.zxingAvailable else {
            let symbols = scanner.scan(frame, polarity: nextPolarity)
            if symbols.isEmpty { nextPolarity = nextPolarity == .normal ? .inverted : .normal }
            return symbols
        }
        let clock = ContinuousClock()
        let start = clock.now
        for polarity in [Polarity.normal, .inverted] {
            guard clock.now - start < budget else {
                skippedPasses += 1
                return []
            }
            let symbols = scanner.scanZXing(frame, polarity: polarity)
            if !symbols.isEmpty { return symbols }
        }
        guard frameCount % Self.extraEvery == 0 else { return [] }
        guard clock.now - start < budget else {
            skippedPasses += 1
            return []
        }
        extraTurn = (extraTurn + 1) % 4
        switch extraTurn {
        case 1: return scanner.scan(frame, polarity: .normal)
        case 2: return scanner.scan(frame, polarity: .inverted)
        case 3:
            let sharp = frame.sharpened()
            let symbols = scanner.scanZXing(sharp, polarity: .normal)
            return symbols.isEmpty ? scanner.scanZXing(sharp, polarity: .inverted) : symbols
        default:
            guard let cut = frame.smoothed().thresholded() else { return [] }
            let symbols = scanner.scanZXing(cut, polarity: .normal)
            return symbols.isEmpty ? scanner.scanZXing(cut, polarity: .inverted) : symbols
        }
    }
}
