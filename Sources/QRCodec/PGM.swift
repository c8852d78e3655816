/// Netpbm greymap files: binary P5 (8- or 16-bit) and plain P2 are read; P5 8-bit is written.
public enum PGM {
    /// Parses a PGM file's bytes.
    public static func parse(_ bytes: [UInt8]) throws(QRCodecError) -> GreyImage {
        var cursor = 0
        func token() throws(QRCodecError) -> String {
            // Skip whitespace and comments, which may sit between any two header fields.
            while cursor < bytes.count {
                if bytes[cursor] == UInt8(ascii: "#") {
                    while cursor < bytes.count && bytes[cursor] != 0x0A { cursor += 1 }
                } else if isSpace(bytes[cursor]) {
                    cursor += 1
                } else {
                    break
                }
            }
            let start = cursor
            while cursor < bytes.count && !isSpace(bytes[cursor]) && bytes[cursor] != UInt8(ascii: "#") { cursor += 1 }
            guard cursor > start else { throw .pgm("header ends early") }
            return String(decoding: bytes[start..<cursor], as: UTF8.self)
        }
        func number(_ name: String, _ range: ClosedRange<Int>) throws(QRCodecError) -> Int {
            let t = try token()
            guard let n = Int(t), range.contains(n) else { throw .pgm("\(name) \"\(t)\" is not in \(range)") }
            return n
        }
        let magic = String(decoding: bytes.prefix(2), as: UTF8.self)
        guard magic == "P5" || magic == "P2", bytes.count > 2, isSpace(bytes[2]) || bytes[2] == UInt8(ascii: "#") else {
            throw .pgm("the file does not start with P5 or P2")
        }
        cursor = 2
        let width = try number("width", 1...16384)
        let height = try number("height", 1...16384)
        let maxval = try number("maxval", 1...65535)
        let count = width * height
        func scale(_ v: Int) -> UInt8 { UInt8((v * 255 + maxval / 2) / maxval) }
        if magic == "P2" {
            // Each plain sample takes at least two bytes: check before allocating for a hostile size.
            guard (bytes.count - cursor) / 2 >= count - 1 else {
                throw .pgm("\(width)×\(height) samples do not fit the file")
            }
            var pixels = [UInt8](repeating: 0, count: count)
            for i in 0..<count { pixels[i] = scale(try number("sample", 0...maxval)) }
            return try GreyImage(width: width, height: height, pixels: pixels)
        }
        // Exactly one whitespace byte separates the header from binary samples.
        guard cursor < bytes.count, isSpace(bytes[cursor]) else { throw .pgm("no whitespace before the samples") }
        cursor += 1
        let sampleSize = maxval < 256 ? 1 : 2
        guard bytes.count - cursor >= count * sampleSize else {
            throw .pgm("\(bytes.count - cursor) sample bytes, \(count * sampleSize) needed")
        }
        if sampleSize == 1 && maxval == 255 {
            return try GreyImage(width: width, height: height, pixels: Array(bytes[cursor..<cursor + count]))
        }
        var pixels = [UInt8](repeating: 0, count: count)
        for i in 0..<count {
            let at = cursor + i * sampleSize
            let v = sampleSize == 1 ? Int(bytes[at]) : Int(bytes[at]) << 8 | Int(bytes[at + 1])
            guard v <= maxval else { throw .pgm("sample \(v) exceeds maxval \(maxval)") }
            pixels[i] = scale(v)
        }
        return try GreyImage(width: width, height: height, pixels: pixels)
    }

    /// Serializes `image` as a binary P5 file with maxval 255.
    public static func encode(_ image: GreyImage) -> [UInt8] {
        Array("P5\n\(image.width) \(image.height)\n255\n".utf8) + image.pixels
    }

    private static func isSpace(_ b: UInt8) -> Bool {
        b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0x0B || b == 0x0C
    }
}
