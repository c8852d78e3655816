/// A decoded CBOR data item (RFC 8949).
///
/// Maps keep their encoded order, so that a value decoded and encoded again produces
/// the same bytes when its producer used the preferred serialization.
public indirect enum CBORValue: Sendable, Hashable {
    case unsigned(UInt64)
    /// A negative integer, stored as its CBOR argument: the value is `-1 - n`.
    case negative(UInt64)
    case bytes([UInt8])
    case text(String)
    case array([CBORValue])
    case map([CBORMapEntry])
    case tagged(UInt64, CBORValue)
    case bool(Bool)
    case null
    case undefined
    /// A simple value other than false, true, null and undefined.
    case simple(UInt8)
    case float(Double)

    /// Builds an integer value.
    public static func int(_ value: Int64) -> CBORValue {
        value >= 0 ? .unsigned(UInt64(value)) : .negative(UInt64(-(value + 1)))
    }

    /// The value as a signed integer, when it is an integer that fits `Int64`.
    public var intValue: Int64? {
        switch self {
        case .unsigned(let n): return n <= UInt64(Int64.max) ? Int64(n) : nil
        case .negative(let n): return n <= UInt64(Int64.max) ? -1 - Int64(n) : nil
        default: return nil
        }
    }

    public var bytesValue: [UInt8]? {
        if case .bytes(let b) = self { return b }
        return nil
    }

    public var mapValue: [CBORMapEntry]? {
        if case .map(let m) = self { return m }
        return nil
    }

}

/// One key/value pair of a CBOR map.
public struct CBORMapEntry: Sendable, Hashable {
    public var key: CBORValue
    public var value: CBORValue

    public init(_ key: CBORValue, _ value: CBORValue) {
        self.key = key
        self.value = value
    }
}

extension Array where Element == CBORMapEntry {
    /// The value stored under `key`, if any. Maps here are small, so a linear search is fine.
    public subscript(cbor key: CBORValue) -> CBORValue? {
        first(where: { $0.key == key })?.value
    }

    /// The value stored under the integer label `label`.
    public subscript(label label: Int64) -> CBORValue? {
        self[cbor: .int(label)]
    }
}

/// Why a byte string is not an acceptable CBOR item.
public enum CBORError: Error, Sendable, Equatable, CustomStringConvertible {
    case truncated
    case trailingBytes(count: Int)
    case reservedAdditionalInfo(UInt8)
    case unexpectedBreak
    case badIndefiniteChunk
    case invalidUTF8
    case duplicateMapKey
    case tooDeep(limit: Int)
    case tooManyItems(limit: Int)
    case tooLarge(limit: Int)
    case invalidSimpleValue(UInt8)

    public var description: String {
        switch self {
        case .truncated: return "CBOR item is truncated"
        case .trailingBytes(let n): return "\(n) trailing byte(s) after the CBOR item"
        case .reservedAdditionalInfo(let v): return "reserved CBOR additional information \(v)"
        case .unexpectedBreak: return "CBOR break outside an indefinite-length item"
        case .badIndefiniteChunk: return "indefinite-length string holds a chunk of the wrong type"
        case .invalidUTF8: return "CBOR text string is not valid UTF-8"
        case .duplicateMapKey: return "CBOR map has a duplicate key"
        case .tooDeep(let l): return "CBOR nesting deeper than \(l)"
        case .tooManyItems(let l): return "CBOR item holds more than \(l) items"
        case .tooLarge(let l): return "CBOR input larger than \(l) bytes"
        case .invalidSimpleValue(let v): return "invalid CBOR simple value \(v)"
        }
    }
}

/// A strict, bounded CBOR decoder.
///
/// It accepts definite and indefinite lengths, and rejects trailing bytes, duplicate map keys,
/// invalid UTF-8, reserved encodings, and input beyond its depth, item-count and size limits.
public struct CBORDecoder: Sendable {
    public struct Limits: Sendable {
        public var maxDepth: Int
        public var maxItems: Int
        public var maxBytes: Int

        public init(maxDepth: Int = 16, maxItems: Int = 4096, maxBytes: Int = 65536) {
            self.maxDepth = maxDepth
            self.maxItems = maxItems
            self.maxBytes = maxBytes
        }
    }

    public var limits: Limits

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Decodes exactly one item that spans all of `bytes`.
    public func decode(_ bytes: [UInt8]) throws(CBORError) -> CBORValue {
        guard bytes.count <= limits.maxBytes else { throw .tooLarge(limit: limits.maxBytes) }
        var reader = Reader(bytes: bytes, limits: limits)
        let value = try reader.item(depth: 0)
        guard reader.offset == bytes.count else { throw .trailingBytes(count: bytes.count - reader.offset) }
        return value
    }
}

private let breakByte: UInt8 = 0xFF

private struct Reader {
    let bytes: [UInt8]
    let limits: CBORDecoder.Limits
    var offset = 0
    var items = 0

    init(bytes: [UInt8], limits: CBORDecoder.Limits) {
        self.bytes = bytes
        self.limits = limits
    }

    mutating func byte() throws(CBORError) -> UInt8 {
        guard offset < bytes.count else { throw .truncated }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func take(_ count: UInt64) throws(CBORError) -> ArraySlice<UInt8> {
        guard count <= UInt64(bytes.count - offset) else { throw .truncated }
        let n = Int(count)
        defer { offset += n }
        return bytes[offset..<offset + n]
    }

    mutating func uint(_ size: Int) throws(CBORError) -> UInt64 {
        var value: UInt64 = 0
        for b in try take(UInt64(size)) { value = value << 8 | UInt64(b) }
        return value
    }

    /// Reads the argument for `info`; nil means an indefinite length.
    mutating func argument(_ info: UInt8) throws(CBORError) -> UInt64? {
        switch info {
        case 0..<24: return UInt64(info)
        case 24: return try uint(1)
        case 25: return try uint(2)
        case 26: return try uint(4)
        case 27: return try uint(8)
        case 31: return nil
        default: throw .reservedAdditionalInfo(info)
        }
    }

    mutating func countItem() throws(CBORError) {
        items += 1
        guard items <= limits.maxItems else { throw .tooManyItems(limit: limits.maxItems) }
    }

    mutating func atBreak() throws(CBORError) -> Bool {
        guard offset < bytes.count else { throw .truncated }
        if bytes[offset] == breakByte {
            offset += 1
            return true
        }
        return false
    }

    mutating func item(depth: Int) throws(CBORError) -> CBORValue {
        guard depth <= limits.maxDepth else { throw .tooDeep(limit: limits.maxDepth) }
        try countItem()
        let initial = try byte()
        let major = initial >> 5
        let info = initial & 0x1F
        switch major {
        case 0:
            guard let n = try argument(info) else { throw .reservedAdditionalInfo(info) }
            return .unsigned(n)
        case 1:
            guard let n = try argument(info) else { throw .reservedAdditionalInfo(info) }
            return .negative(n)
        case 2:
            return .bytes(try string(major: 2, info: info))
        case 3:
            let raw = try string(major: 3, info: info)
            guard let text = String(validating: raw, as: UTF8.self) else { throw .invalidUTF8 }
            return .text(text)
        case 4:
            var elements: [CBORValue] = []
            if let n = try argument(info) {
                // Each element takes at least one byte, so a count beyond the input is truncation.
                guard n <= UInt64(bytes.count - offset) else { throw .truncated }
                elements.reserveCapacity(Int(n))
                for _ in 0..<n { elements.append(try item(depth: depth + 1)) }
            } else {
                while try !atBreak() { elements.append(try item(depth: depth + 1)) }
            }
            return .array(elements)
        case 5:
            var entries: [CBORMapEntry] = []
            // Keys compare by their encoding: text byte-wise, not by Unicode equivalence.
            var seen = Set<[UInt8]>()
            func add(_ key: CBORValue, _ value: CBORValue) throws(CBORError) {
                guard seen.insert(CBOREncoder.encode(key)).inserted else { throw .duplicateMapKey }
                entries.append(CBORMapEntry(key, value))
            }
            if let n = try argument(info) {
                guard n <= UInt64(bytes.count - offset) / 2 else { throw .truncated }
                for _ in 0..<n {
                    let key = try item(depth: depth + 1)
                    try add(key, try item(depth: depth + 1))
                }
            } else {
                while try !atBreak() {
                    let key = try item(depth: depth + 1)
                    try add(key, try item(depth: depth + 1))
                }
            }
            return .map(entries)
        case 6:
            guard let tag = try argument(info) else { throw .reservedAdditionalInfo(info) }
            return .tagged(tag, try item(depth: depth + 1))
        default:
            return try simpleOrFloat(info)
        }
    }

    mutating func string(major: UInt8, info: UInt8) throws(CBORError) -> [UInt8] {
        if let n = try argument(info) {
            guard n <= UInt64(limits.maxBytes) else { throw .tooLarge(limit: limits.maxBytes) }
            return Array(try take(n))
        }
        var out: [UInt8] = []
        while try !atBreak() {
            try countItem()
            let chunkHead = try byte()
            // Chunks must be definite-length strings of the same major type.
            guard chunkHead >> 5 == major, let n = try argument(chunkHead & 0x1F) else { throw .badIndefiniteChunk }
            out += try take(n)
        }
        return out
    }

    mutating func simpleOrFloat(_ info: UInt8) throws(CBORError) -> CBORValue {
        switch info {
        case 20: return .bool(false)
        case 21: return .bool(true)
        case 22: return .null
        case 23: return .undefined
        case 0..<20: return .simple(info)
        case 24:
            let v = try byte()
            // RFC 8949 §3.3: values below 32 must use the one-byte form.
            guard v >= 32 else { throw .invalidSimpleValue(v) }
            return .simple(v)
        case 25: return .float(halfToDouble(UInt16(try uint(2))))
        case 26: return .float(Double(Float(bitPattern: UInt32(try uint(4)))))
        case 27: return .float(Double(bitPattern: try uint(8)))
        case 31: throw .unexpectedBreak
        default: throw .reservedAdditionalInfo(info)
        }
    }
}

private func halfToDouble(_ half: UInt16) -> Double {
    let exponent = Int(half >> 10) & 0x1F
    let mantissa = Double(half & 0x3FF)
    let magnitude: Double
    switch exponent {
    case 0: magnitude = mantissa * 0x1p-24
    case 31: magnitude = mantissa == 0 ? .infinity : .nan
    default: magnitude = (mantissa + 1024) * Double(sign: .plus, exponent: exponent - 25, significand: 1)
    }
    return half & 0x8000 != 0 ? -magnitude : magnitude
}

/// Encodes CBOR items in the preferred (shortest) serialization, with definite lengths.
public enum CBOREncoder {
    public static func encode(_ value: CBORValue) -> [UInt8] {
        var out: [UInt8] = []
        append(value, to: &out)
        return out
    }

    private static func head(_ major: UInt8, _ n: UInt64, to out: inout [UInt8]) {
        let m = major << 5
        switch n {
        case 0..<24: out.append(m | UInt8(n))
        case 24...0xFF: out += [m | 24, UInt8(n)]
        case 0x100...0xFFFF:
            out.append(m | 25)
            bigEndian(n, 2, &out)
        case 0x1_0000...0xFFFF_FFFF:
            out.append(m | 26)
            bigEndian(n, 4, &out)
        default:
            out.append(m | 27)
            bigEndian(n, 8, &out)
        }
    }

    private static func bigEndian(_ n: UInt64, _ size: Int, _ out: inout [UInt8]) {
        for i in stride(from: size - 1, through: 0, by: -1) { out.append(UInt8(truncatingIfNeeded: n >> (8 * i))) }
    }

    private static func append(_ value: CBORValue, to out: inout [UInt8]) {
        switch value {
        case .unsigned(let n): head(0, n, to: &out)
        case .negative(let n): head(1, n, to: &out)
        case .bytes(let b):
            head(2, UInt64(b.count), to: &out)
            out += b
        case .text(let s):
            let utf8 = Array(s.utf8)
            head(3, UInt64(utf8.count), to: &out)
            out += utf8
        case .array(let a):
            head(4, UInt64(a.count), to: &out)
            for v in a { append(v, to: &out) }
        case .map(let m):
            head(5, UInt64(m.count), to: &out)
            for e in m {
                append(e.key, to: &out)
                append(e.value, to: &out)
            }
        case .tagged(let tag, let v):
            head(6, tag, to: &out)
            append(v, to: &out)
        case .bool(let b): out.append(b ? 0xF5 : 0xF4)
        case .null: out.append(0xF6)
        case .undefined: out.append(0xF7)
        case .simple(let v):
            if v < 24 { out.append(0xE0 | v) } else { out += [0xF8, v] }
        case .float(let d):
            out.append(0xFB)
            bigEndian(d.bitPattern, 8, &out)
        }
    }
}
