import QRCodec
import Testing

@Suite struct PGMTests {
    @Test func parsesBinaryWithComments() throws {
        let file = Array("P5\n# a comment\n3 2\n255\n".utf8) + [0, 1, 2, 253, 254, 255]
        let image = try PGM.parse(file)
        #expect(image.width == 3 && image.height == 2)
        #expect(image.pixels == [0, 1, 2, 253, 254, 255])
    }

    @Test func scalesSixteenBitSamples() throws {
        let file = Array("P5 2 1 65535\n".utf8) + [0xFF, 0xFF, 0x00, 0x00]
        #expect(try PGM.parse(file).pixels == [255, 0])
    }

    @Test func parsesPlainP2() throws {
        let image = try PGM.parse(Array("P2\n2 2\n15\n0 15\n15 0\n".utf8))
        #expect(image.pixels == [0, 255, 255, 0])
    }

    @Test func roundTripsThroughEncode() throws {
        let image = try GreyImage(width: 4, height: 3, pixels: (0..<12).map { UInt8($0 * 20) })
        #expect(try PGM.parse(PGM.encode(image)) == image)
    }

    static let invalid: [(String, [UInt8])] = [
        ("a PPM colour file", Array("P6\n1 1\n255\n".utf8) + [0, 0, 0]),
        ("truncated samples", Array("P5\n4 4\n255\n".utf8) + [0, 0]),
        ("zero width", Array("P5\n0 4\n255\n".utf8)),
        ("missing header fields", Array("P5\n4".utf8)),
        ("a non-numeric size", Array("P5\nx 4\n255\n".utf8)),
        ("an empty file", []),
        ("a huge binary size with no samples", Array("P5\n16384 16384\n255\n".utf8) + [0, 0]),
        ("a huge plain size with no samples", Array("P2\n16384 16384\n255\n0 0".utf8)),
    ]

    @Test(arguments: invalid)
    func rejects(why: String, file: [UInt8]) {
        #expect(throws: QRCodecError.self, "\(why)") { try PGM.parse(file) }
    }

    @Test func rejectsMismatchedFrameBuffer() {
        #expect(throws: QRCodecError.frameSize(expected: 6, actual: 5)) {
            try GreyImage(width: 3, height: 2, pixels: [0, 0, 0, 0, 0])
        }
    }
}
