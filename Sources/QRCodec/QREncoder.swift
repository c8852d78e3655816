import CQREncode
import Glibc

/// QR error-correction levels.
public enum QRErrorCorrection: String, Sendable, CaseIterable {
    case low = "L"
    case medium = "M"
    case quartile = "Q"
    case high = "H"

    var level: QRecLevel {
        switch self {
        case .low: return QR_ECLEVEL_L
        case .medium: return QR_ECLEVEL_M
        case .quartile: return QR_ECLEVEL_Q
        case .high: return QR_ECLEVEL_H
        }
    }
}

/// A QR symbol's module grid, without quiet zone.
public struct QRMatrix: Sendable, Equatable {
    /// Modules per side.
    public var size: Int
    /// The QR version, 1–40.
    public var version: Int
    /// Row-major; true is a dark module.
    public var modules: [Bool]

    public subscript(x: Int, y: Int) -> Bool { modules[y * size + x] }

    /// Encodes `text` with libqrencode. Characters in the QR alphanumeric set (which Base45 uses)
    /// get alphanumeric mode; others are 8-bit.
    public static func encode(text: String, level: QRErrorCorrection = .medium) throws(QRCodecError) -> QRMatrix {
        // A NUL would end the C string early; such text goes through the byte path.
        if text.utf8.contains(0) { return try encode(bytes: Array(text.utf8), level: level) }
        return try make(byteCount: text.utf8.count) { QRcode_encodeString(text, 0, level.level, QR_MODE_8, 1) }
    }

    /// Encodes `bytes` in 8-bit mode with libqrencode.
    public static func encode(bytes: [UInt8], level: QRErrorCorrection = .medium) throws(QRCodecError) -> QRMatrix {
        try make(byteCount: bytes.count) {
            bytes.withUnsafeBufferPointer { QRcode_encodeData(Int32($0.count), $0.baseAddress, 0, level.level) }
        }
    }

    /// Runs a `QRcode_encode*` call, reads `errno` at once on failure, and copies the grid out.
    private static func make(
        byteCount: Int,
        _ call: () -> UnsafeMutablePointer<QRcode>?
    ) throws(QRCodecError) -> QRMatrix {
        errno = 0
        guard let code = call() else {
            let err = errno
            throw err == ERANGE ? .tooLong(bytes: byteCount) : .encoder(errno: err)
        }
        defer { QRcode_free(code) }
        let size = Int(code.pointee.width)
        // Bit 0 of each byte is the module colour; the other bits describe its function.
        let modules = (0..<size * size).map { code.pointee.data[$0] & 1 == 1 }
        return QRMatrix(size: size, version: Int(code.pointee.version), modules: modules)
    }

    /// Renders to a greyscale image: `moduleSize` pixels per module, `quietZone` modules of margin.
    public func image(moduleSize: Int, quietZone: Int = 4) throws(QRCodecError) -> GreyImage {
        guard (1...64).contains(moduleSize) else { throw .badParameter("module size \(moduleSize) is not in 1…64") }
        guard (0...64).contains(quietZone) else { throw .badParameter("quiet zone \(quietZone) is not in 0…64") }
        let side = (size + 2 * quietZone) * moduleSize
        var image = GreyImage(width: side, height: side, fill: 255)
        for y in 0..<size {
            for x in 0..<size where self[x, y] {
                for py in 0..<moduleSize {
                    let row = ((y + quietZone) * moduleSize + py) * side
                    let col = (x + quietZone) * moduleSize
                    image.pixels.replaceSubrange(
                        row + col..<row + col + moduleSize,
                        with: repeatElement(0, count: moduleSize)
                    )
                }
            }
        }
        return image
    }

    /// Renders for a terminal with UTF-8 half blocks, two module rows per line.
    ///
    /// Light modules are drawn as glyphs, so the code reads correctly on a dark terminal;
    /// pass `lightBackground: true` for a light one.
    public func terminalText(quietZone: Int = 2, lightBackground: Bool = false) -> String {
        let side = size + 2 * quietZone
        func lit(_ x: Int, _ y: Int) -> Bool {
            let xi = x - quietZone
            let yi = y - quietZone
            let dark = (0..<size).contains(xi) && (0..<size).contains(yi) && self[xi, yi]
            return dark == lightBackground
        }
        var lines: [String] = []
        for y in stride(from: 0, to: side, by: 2) {
            var line = ""
            for x in 0..<side {
                switch (lit(x, y), y + 1 < side && lit(x, y + 1)) {
                case (true, true): line += "\u{2588}"
                case (true, false): line += "\u{2580}"
                case (false, true): line += "\u{2584}"
                case (false, false): line += " "
                }
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
