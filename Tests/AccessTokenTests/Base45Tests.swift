import AccessToken
import Testing

@Suite struct Base45Tests {
    /// RFC 9285 §4.3 examples, plus edge cases of our own.
    static let pairs: [(String, String)] = [
        ("AB", "BB8"),
        ("Hello!!", "%69 VD92EX0"),
        ("base-45", "UJCLQE7W581"),
        ("ietf!", "QED8WEX0"),
        ("", ""),
    ]

    @Test(arguments: pairs)
    func encodesRFCExample(plain: String, encoded: String) {
        #expect(Base45.encode(Array(plain.utf8)) == encoded)
    }

    @Test(arguments: pairs)
    func decodesRFCExample(plain: String, encoded: String) throws {
        #expect(try Base45.decode(encoded) == Array(plain.utf8))
    }

    @Test func roundTripsEveryByteValue() throws {
        let all = (0...255).map(UInt8.init)
        for length in [0, 1, 2, 3, 255, 256] {
            let input = Array(all.prefix(length).reversed())
            #expect(try Base45.decode(Base45.encode(input)) == input)
        }
    }

    static let invalid: [(String, String)] = [
        ("GGW", "a triple above 65535"),
        ("GG", "a pair above 255"),
        ("A", "a lone character"),
        ("BB8A", "a lone trailing character"),
        ("bb8", "lower case letters"),
        ("BB#", "a character outside the alphabet"),
        ("BB\u{00E9}", "a non-ASCII character"),
    ]

    @Test(arguments: invalid)
    func rejects(text: String, why: String) {
        #expect(throws: AccessTokenError.self, "\(why)") { try Base45.decode(text) }
    }
}
