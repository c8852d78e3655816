import CZBar
import CZXing

/// Which way round a frame is scanned: dark modules on light, or light on dark (phone dark mode).
public enum Polarity: Sendable, Hashable {
    case normal
    case inverted
}

/// Which decoders a still is scanned with.
public enum QRDecoders: String, Sendable, CaseIterable {
    /// zbar only: the default decoder, always built in.
    case zbar
    /// zxing-cpp first when it was built in (it reads tilted codes zbar misses, and is faster),
    /// then zbar for what zxing did not find (low contrast), then zxing on a sharpened copy (blur),
    /// on a smoothed copy cut at one global threshold (a code on a dark object), and, for a small
    /// still, on a copy at twice the size (a small code).
    case auto
}

/// One QR symbol found in a frame.
public struct QRSymbol: Sendable, Hashable {
    /// The symbol's payload bytes, exactly as encoded.
    public var bytes: [UInt8]
    /// The polarity the symbol was found in.
    public var polarity: Polarity

    public init(bytes: [UInt8], polarity: Polarity) {
        self.bytes = bytes
        self.polarity = polarity
    }

    /// The payload as text: UTF-8 when it is valid UTF-8, otherwise ISO-8859-1, the QR byte-mode default.
    public var text: String {
        if let utf8 = String(validating: bytes, as: UTF8.self) { return utf8 }
        return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    }
}

/// A zbar image scanner configured for QR codes only, returning raw payload bytes.
///
/// It owns its `zbar_image_scanner_t` and is not thread-safe: keep one per task.
public struct QRScanner: ~Copyable {
    private let scanner: OpaquePointer

    /// Creates the scanner (`zbar_image_scanner_create`).
    public init() throws(QRCodecError) {
        guard let scanner = zbar_image_scanner_create() else { throw .scannerUnavailable }
        zbar_image_scanner_set_config(scanner, ZBAR_NONE, ZBAR_CFG_ENABLE, 0)
        zbar_image_scanner_set_config(scanner, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1)
        // Binary mode keeps zbar from re-encoding byte-mode payloads through iconv.
        zbar_image_scanner_set_config(scanner, ZBAR_QRCODE, ZBAR_CFG_BINARY, 1)
        self.scanner = scanner
    }

    deinit {
        zbar_image_scanner_destroy(scanner)
    }

    /// Scans `image` in one polarity and returns every QR symbol found.
    public func scan(_ image: GreyImage, polarity: Polarity = .normal) -> [QRSymbol] {
        let frame = polarity == .normal ? image : image.inverted()
        guard let zimage = zbar_image_create() else { return [] }
        defer { zbar_image_destroy(zimage) }
        // 'Y800' as zbar_fourcc() builds it; the C macro is not visible to Swift.
        zbar_image_set_format(zimage, 0x3030_3859)
        zbar_image_set_size(zimage, UInt32(frame.width), UInt32(frame.height))
        return frame.pixels.withUnsafeBufferPointer { buffer -> [QRSymbol] in
            zbar_image_set_data(zimage, buffer.baseAddress, UInt(buffer.count), nil)
            guard zbar_scan_image(scanner, zimage) > 0 else { return [] }
            var symbols: [QRSymbol] = []
            var symbol = zbar_image_first_symbol(zimage)
            while let current = symbol {
                if zbar_symbol_get_type(current) == ZBAR_QRCODE, let data = zbar_symbol_get_data(current) {
                    let length = Int(zbar_symbol_get_data_length(current))
                    let bytes = data.withMemoryRebound(to: UInt8.self, capacity: length) {
                        Array(UnsafeBufferPointer(start: $0, count: length))
                    }
                    symbols.append(QRSymbol(bytes: bytes, polarity: polarity))
                }
                symbol = zbar_symbol_next(current)
            }
            return symbols
        }
    }

    /// Whether the optional zxing-cpp decoder was built in (Debian's libzxing-dev at build time).
    public static var zxingAvailable: Bool { czx_available() == 1 }

    /// The zxing-cpp version built in ("1.4.0" on Debian 12, "2.3.0" on Debian 13), or nil.
    public static var zxingVersion: String? { zxingAvailable ? String(cString: czx_version()) : nil }

    /// Scans a still image in both polarities and returns every distinct symbol, normal ones first.
    /// A still (a file, a single frame) may hold a printed code beside a phone in dark mode.
    public func scanStill(_ image: GreyImage, decoders: QRDecoders = .auto) -> [QRSymbol] {
        let zxing = decoders == .auto && Self.zxingAvailable
        if zxing {
            let found = scanZXingBothWays(image)
            if !found.isEmpty { return found }
        }
        let found = merge(scan(image, polarity: .normal), scan(image, polarity: .inverted))
        guard found.isEmpty, zxing else { return found }
        // Then, for blurred codes: sharpen and try zxing again. Only frames nothing else read pay for it.
        let sharp = image.sharpened()
        let sharpFound = scanZXingBothWays(sharp)
        if !sharpFound.isEmpty { return sharpFound }
        // A defocused lens spreads a module over more pixels than the 3×3 kernel reaches.
        let deblurFound = scanZXingBothWays(image.unsharpMasked())
        if !deblurFound.isEmpty { return deblurFound }
        // A code printed on a dark object, with a thin white margin: one global threshold.
        let cutFound = scanCut(image)
        if !cutFound.isEmpty { return cutFound }
        // Last, a small code in the frame: twice the pixels per module, as it is, sharpened and cut.
        guard max(image.width, image.height) <= Self.doubleBelow else { return [] }
        let large = image.doubled()
        let largeFound = scanZXingBothWays(large)
        if !largeFound.isEmpty { return largeFound }
        let largeSharpFound = scanZXingBothWays(large.sharpened())
        return largeSharpFound.isEmpty ? scanCut(large) : largeSharpFound
    }

    /// zxing in both polarities, merged.
    private func scanZXingBothWays(_ image: GreyImage) -> [QRSymbol] {
        merge(scanZXing(image, polarity: .normal), scanZXing(image, polarity: .inverted))
    }

    /// zxing in both polarities, then zbar, on `image` smoothed and cut at its global threshold.
    private func scanCut(_ image: GreyImage) -> [QRSymbol] {
        guard let cut = image.smoothed().thresholded() else { return [] }
        let found = scanZXingBothWays(cut)
        return found.isEmpty ? merge(scan(cut, polarity: .normal), scan(cut, polarity: .inverted)) : found
    }

    /// Stills whose long side is at most this many pixels (a 1280×720 frame; photos boxed to 1280 px)
    /// are also tried at twice their size.
    static let doubleBelow = 1280

    private func merge(_ first: [QRSymbol], _ second: [QRSymbol]) -> [QRSymbol] {
        var symbols = first
        for symbol in second where !symbols.contains(where: { $0.bytes == symbol.bytes }) { symbols.append(symbol) }
        return symbols
    }

    /// Scans with zxing-cpp (`czx_decode`); empty when it is not built in.
    public func scanZXing(_ image: GreyImage, polarity: Polarity = .normal) -> [QRSymbol] {
        guard Self.zxingAvailable else { return [] }
        let frame = polarity == .normal ? image : image.inverted()
        var found = [czx_symbol](repeating: czx_symbol(), count: 8)
        let count = frame.pixels.withUnsafeBufferPointer { pixels in
            czx_decode(pixels.baseAddress, Int32(frame.width), Int32(frame.height), Int32(frame.width), &found, 8)
        }
        guard count > 0 else { return [] }
        defer { czx_free(&found, count) }
        return found.prefix(Int(count)).map { symbol in
            QRSymbol(
                bytes: Array(UnsafeBufferPointer(start: symbol.bytes, count: Int(symbol.length))),
                polarity: polarity
            )
        }
    }
}
