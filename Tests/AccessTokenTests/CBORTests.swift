import AccessToken
import TestSupport
import Testing

@Suite struct CBORTests {
    /// RFC 8949 Appendix A examples that decode and re-encode to the same bytes.
    static let roundTrips: [(String, CBORValue)] = [
        ("00", .unsigned(0)),
        ("1819", .unsigned(25)),
        ("1b000000e8d4a51000", .unsigned(1_000_000_000_000)),
        ("3903e7", .int(-1000)),
        ("3bffffffffffffffff", .negative(UInt64.max)),
        ("4401020304", .bytes([1, 2, 3, 4])),
        ("62225c", .text("\"\\")),
        ("64f0908591", .text("\u{10151}")),
        ("83010203", .array([.unsigned(1), .unsigned(2), .unsigned(3)])),
        ("a201020304", .map([CBORMapEntry(.unsigned(1), .unsigned(2)), CBORMapEntry(.unsigned(3), .unsigned(4))])),
        ("c11a514b67b0", .tagged(1, .unsigned(1_363_896_240))),
        ("f4", .bool(false)),
        ("f6", .null),
        ("f7", .undefined),
        ("f0", .simple(16)),
        ("f8ff", .simple(255)),
    ]

    @Test(arguments: roundTrips)
    func decodesAndReencodes(hex: String, value: CBORValue) throws {
        let encoded = try #require(bytes(hex: hex))
        #expect(try CBORDecoder().decode(encoded) == value)
        #expect(CBOREncoder.encode(value) == encoded)
    }

    static let floats: [(String, Double)] = [
        ("f93c00", 1.0), ("f90001", 5.960464477539063e-8), ("f97bff", 65504.0), ("f9c400", -4.0),
        ("fa47c35000", 100000.0), ("fb3ff199999999999a", 1.1),
    ]

    @Test(arguments: floats)
    func decodesFloats(hex: String, value: Double) throws {
        #expect(try CBORDecoder().decode(bytes(hex: hex)!) == .float(value))
    }

    /// Indefinite-length items (RFC 8949 Appendix A).
    static let indefinite: [(String, CBORValue)] = [
        ("5f42010243030405ff", .bytes([1, 2, 3, 4, 5])),
        ("7f657374726561646d696e67ff", .text("streaming")),
        (
            "9f018202039f0405ffff",
            .array([.unsigned(1), .array([.unsigned(2), .unsigned(3)]), .array([.unsigned(4), .unsigned(5)])])
        ),
        (
            "bf61610161629f0203ffff",
            .map([
                CBORMapEntry(.text("a"), .unsigned(1)), CBORMapEntry(.text("b"), .array([.unsigned(2), .unsigned(3)])),
            ])
        ),
    ]

    @Test(arguments: indefinite)
    func decodesIndefiniteLengths(hex: String, value: CBORValue) throws {
        #expect(try CBORDecoder().decode(bytes(hex: hex)!) == value)
    }

    static let invalid: [(String, String, CBORError)] = [
        ("trailing byte", "0000", .trailingBytes(count: 1)),
        ("empty input", "", .truncated),
        ("truncated uint", "19ff", .truncated),
        ("truncated string", "6461", .truncated),
        ("array longer than input", "9bffffffffffffffff", .truncated),
        ("reserved additional info", "1c", .reservedAdditionalInfo(28)),
        ("indefinite uint", "1f", .reservedAdditionalInfo(31)),
        ("break outside indefinite item", "ff", .unexpectedBreak),
        ("text chunk in a byte string", "5f6161ff", .badIndefiniteChunk),
        ("nested indefinite chunk", "5f5fffff", .badIndefiniteChunk),
        ("invalid UTF-8", "62c328", .invalidUTF8),
        ("duplicate map key", "a201020103", .duplicateMapKey),
        ("duplicate text key", "a2616101616102", .duplicateMapKey),
        ("two-byte simple below 32", "f818", .invalidSimpleValue(24)),
        ("unterminated indefinite array", "9f01", .truncated),
    ]

    @Test(arguments: invalid)
    func rejects(why: String, hex: String, error: CBORError) {
        #expect(throws: error, "\(why)") { try CBORDecoder().decode(bytes(hex: hex)!) }
    }

    @Test func enforcesDepthLimit() {
        let deep = [UInt8](repeating: 0x81, count: 20) + [0x00]
        #expect(throws: CBORError.tooDeep(limit: 16)) { try CBORDecoder().decode(deep) }
        #expect(throws: Never.self) { try CBORDecoder(limits: .init(maxDepth: 32)).decode(deep) }
    }

    @Test func enforcesItemLimit() {
        let many = [0x99, 0x01, 0x00] + [UInt8](repeating: 0x00, count: 256)
        #expect(throws: CBORError.tooManyItems(limit: 100)) {
            try CBORDecoder(limits: .init(maxItems: 100)).decode(many)
        }
    }

    @Test func enforcesSizeLimit() {
        let big = [0x59, 0x10, 0x00] + [UInt8](repeating: 0, count: 4096)
        #expect(throws: CBORError.tooLarge(limit: 1024)) { try CBORDecoder(limits: .init(maxBytes: 1024)).decode(big) }
    }
}

@Suite struct HexTests {
    @Test func roundTripsBothCases() {
        #expect([UInt8](hex: "00ff10Ab") == [0x00, 0xFF, 0x10, 0xAB])
        #expect([UInt8](hex: "00ff10ab")?.hexString == "00ff10ab")
        #expect([UInt8](hex: "") == [])
    }

    @Test(arguments: ["0", "abc", "zz", "0g", " 0", "+1"])
    func rejects(text: String) {
        #expect([UInt8](hex: text) == nil)
    }
}
