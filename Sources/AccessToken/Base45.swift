/// Base45 (RFC 9285): bytes in the QR alphanumeric character set.
///
/// Decoding is strict: a character outside the 45-character alphabet, a length that leaves a single
/// trailing character, or a group whose value does not fit its bytes is an error, never skipped.
public enum Base45 {
    static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:".utf8)

    private static let values: [Int8] = {
        var table = [Int8](repeating: -1, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = Int8(i) }
        return table
    }()

    /// Encodes `bytes` as Base45 text.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 1) / 2 * 3)
        var iterator = bytes.makeIterator()
        while let first = iterator.next() {
            if let second = iterator.next() {
                var n = Int(first) << 8 | Int(second)
                for _ in 0..<3 {
                    out.append(alphabet[n % 45])
                    n /= 45
                }
            } else {
                out.append(alphabet[Int(first) % 45])
                out.append(alphabet[Int(first) / 45])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes Base45 text.
    public static func decode(_ text: some StringProtocol) throws(AccessTokenError) -> [UInt8] {
        let chars = Array(text.utf8)
        guard chars.count % 3 != 1 else { throw .base45("length \(chars.count) leaves a lone character") }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 3 * 2 + 1)
        var i = 0
        while i < chars.count {
            let group = min(3, chars.count - i)
            var n = 0
            var weight = 1
            for j in 0..<group {
                let v = values[Int(chars[i + j])]
                guard v >= 0 else { throw .base45("character at offset \(i + j) is not in the Base45 alphabet") }
                n += Int(v) * weight
                weight *= 45
            }
            if group == 3 {
                guard n <= 0xFFFF else { throw .base45("group at offset \(i) exceeds 65535") }
                out.append(UInt8(n >> 8))
                out.append(UInt8(n & 0xFF))
            } else {
                guard n <= 0xFF else { throw .base45("final pair at offset \(i) exceeds 255") }
                out.append(UInt8(n))
            }
            i += group
        }
        return out
    }
}
