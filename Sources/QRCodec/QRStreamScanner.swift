/// Scans a live camera stream for QR codes, one polarity per frame.
///
/// Most door frames hold no code, so trying both polarities on each (as zbar's
/// `ZBAR_CFG_TEST_INVERTED` does) would double the CPU spent on empty frames. Instead the
/// polarity alternates from frame to frame until a code is found, and then stays where the code
/// was: a phone in dark mode keeps showing dark-mode codes. A code held up to the camera is in
/// view for many frames, so it is found within two frames in either polarity.
public struct QRStreamScanner: ~Copyable {
    private let scanner: QRScanner
    /// The polarity the next frame is scanned in.
    public private(set) var nextPolarity: Polarity = .normal

    public init() throws(QRCodecError) {
        scanner = try QRScanner()
    }

    /// Scans one frame of the stream.
    public mutating func scan(_ frame: GreyImage) -> [QRSymbol] {
        let symbols = scanner.scan(frame, polarity: nextPolarity)
        if symbols.isEmpty {
            nextPolarity = nextPolarity == .normal ? .inverted : .normal
        }
        return symbols
    }
}
