import AccessToken
import CZlib
import Foundation
import QRCodec
import TestSupport
import Testing

/// One EU DCC test case (`../shared/vectors/dcc/*.json`).
struct DCCCase: CustomTestStringConvertible, Sendable {
    var name: String
    var prefixed: String
    var compressed: [UInt8]?
    var cose: [UInt8]?
    var jwk: [String: String]
    var kid: [UInt8]
    var expected: [String: Bool]

    var testDescription: String { name }

    static let all: [DCCCase] = TestPaths.sharedFiles(in: "vectors/dcc", ext: "json").map { url in
        let json = try! readJSON(url) as! [String: Any]
        return DCCCase(
            name: url.deletingPathExtension().lastPathComponent,
            prefixed: json["prefixed"] as? String ?? "",
            compressed: (json["compressed_hex"] as? String).flatMap { bytes(hex: $0) },
            cose: (json["cose_hex"] as? String).flatMap { bytes(hex: $0) },
            jwk: (json["public_key_jwk"] as? [String: Any])?.compactMapValues { $0 as? String } ?? [:],
            kid: Array(Data(base64Encoded: json["kid_b64"] as? String ?? "") ?? Data()),
            expected: json["expected"] as? [String: Bool] ?? [:]
        )
    }
}

/// Inflates a zlib stream with the system zlib; nil if it is not a complete, valid stream.
func inflateZlib(_ input: [UInt8]) -> [UInt8]? {
    var stream = z_stream()
    guard inflateInit_(&stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
    defer { inflateEnd(&stream) }
    var output: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 16384)
    var source = input
    var status: Int32 = Z_OK
    source.withUnsafeMutableBufferPointer { src in
        stream.next_in = src.baseAddress
        stream.avail_in = UInt32(src.count)
        repeat {
            chunk.withUnsafeMutableBufferPointer { dst in
                stream.next_out = dst.baseAddress
                stream.avail_out = UInt32(dst.count)
                status = inflate(&stream, Z_NO_FLUSH)
                output += dst.prefix(dst.count - Int(stream.avail_out))
            }
        } while status == Z_OK
    }
    return status == Z_STREAM_END && stream.avail_in == 0 ? output : nil
}

/// The pipeline's outcome at each step, mirroring the upstream EXPECTED* flags.
struct DCCOutcome {
    var unprefix = false
    var base45 = false
    var compression = false
    var verify = false
    var compressed: [UInt8]?
    var cose: [UInt8]?

    init(_ c: DCCCase) {
        guard c.prefixed.hasPrefix("HC1:") else { return }
        unprefix = true
        guard let compressed = try? Base45.decode(c.prefixed.dropFirst(4)) else { return }
        base45 = true
        self.compressed = compressed
        guard let cose = inflateZlib(compressed) else { return }
        compression = true
        self.cose = cose
        guard let message = try? COSESign1(cbor: cose), message.kid == c.kid,
            let x = c.jwk["x"].flatMap(Base64URL.decode), let y = c.jwk["y"].flatMap(Base64URL.decode),
            let key = try? VerificationKey(curve: c.jwk["crv"] ?? "", x: x, y: y)
        else { return }
        verify = (try? message.verify(with: key)) != nil
    }
}

@Suite struct DCCTests {
    @Test func corpusIsPresent() {
        #expect(DCCCase.all.count >= 40)
    }

    @Test(arguments: DCCCase.all)
    func everyStepAgreesWithUpstream(vector: DCCCase) {
        let outcome = DCCOutcome(vector)
        let steps: [(String, Bool)] = zip(
            Self.comparedFlags,
            [outcome.unprefix, outcome.base45, outcome.compression, outcome.verify]
        ).map { ($0, $1) }
        for (flag, actual) in steps {
            if let expected = vector.expected[flag] { #expect(actual == expected, "\(flag)") }
        }
    }

    /// The flags ``everyStepAgreesWithUpstream`` compares.
    static let comparedFlags = ["EXPECTEDUNPREFIX", "EXPECTEDB45DECODE", "EXPECTEDCOMPRESSION", "EXPECTEDVERIFY"]

    /// The cases that carry none of those flags: each tests something past the signature
    /// (the flag it carries), and each is a well-formed, correctly signed `HC1:` code. That outcome
    /// was found independently with python's cbor2 and cryptography (zlib, the kid, an ES256
    /// verification), and is what every step must give here.
    static let signedButFlaggedBeyondTheSignature: [String: String] = [
        "common_CBO1": "EXPECTEDDECODE false: the DCC payload's CWT content",
        "common_CO6": "EXPECTEDKEYUSAGE false", "common_CO7": "EXPECTEDKEYUSAGE false",
        "common_CO8": "EXPECTEDKEYUSAGE false", "common_CO9": "EXPECTEDKEYUSAGE false",
        "common_CO10": "EXPECTEDKEYUSAGE false", "common_CO11": "EXPECTEDKEYUSAGE false",
        "common_CO12": "EXPECTEDKEYUSAGE true", "common_CO13": "EXPECTEDKEYUSAGE true",
        "common_CO14": "EXPECTEDKEYUSAGE true", "common_CO15": "EXPECTEDKEYUSAGE true",
        "common_CO16": "EXPECTEDEXPIRATIONCHECK false", "common_CO17": "EXPECTEDEXPIRATIONCHECK false",
        "common_DGC1": "EXPECTEDSCHEMAVALIDATION false", "common_DGC2": "EXPECTEDSCHEMAVALIDATION false",
        "common_DGC3": "EXPECTEDSCHEMAVALIDATION true", "common_DGC4": "EXPECTEDSCHEMAVALIDATION true",
        "common_DGC5": "EXPECTEDSCHEMAVALIDATION true", "common_DGC6": "EXPECTEDSCHEMAVALIDATION true",
        "common_Q1": "EXPECTEDPICTUREDECODE false: the picture, of which the corpus keeps none",
    ]

    /// No vector checks nothing: each carries a compared flag, or is in the table above.
    @Test func everyCaseIsCheckedAgainstSomething() {
        let unflagged = DCCCase.all.filter { vector in !Self.comparedFlags.contains { vector.expected[$0] != nil } }
        #expect(Set(unflagged.map(\.name)) == Set(Self.signedButFlaggedBeyondTheSignature.keys))
    }

    @Test(arguments: DCCCase.all.filter { signedButFlaggedBeyondTheSignature[$0.name] != nil })
    func aCaseFlaggedBeyondTheSignatureDecodesAndVerifies(vector: DCCCase) throws {
        let flag = try #require(Self.signedButFlaggedBeyondTheSignature[vector.name])
        // The flag is the one the table names, so the table stays true to the corpus.
        let named = String(flag.prefix { $0 != " " })
        #expect(vector.expected[named] != nil, "\(vector.name) carries \(vector.expected)")
        let outcome = DCCOutcome(vector)
        #expect(outcome.unprefix && outcome.base45 && outcome.compression, "\(vector.name)")
        #expect(outcome.verify, "\(vector.name): the signature does not verify")
        if let cose = vector.cose { #expect(outcome.cose == cose) }
    }

    @Test(arguments: DCCCase.all.filter { $0.expected["EXPECTEDVERIFY"] == true })
    func intermediatesMatchTheCorpus(vector: DCCCase) {
        let outcome = DCCOutcome(vector)
        if let compressed = vector.compressed { #expect(outcome.compressed == compressed) }
        if let cose = vector.cose { #expect(outcome.cose == cose) }
    }
}
