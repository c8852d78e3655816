// libFuzzer target `cose`: COSE_Sign1 parsing, then everything a verifier reads before the
// signature: crit, alg in either bucket, kid, the Sig_structure, and the AG1 profile's structural
// checks (AG1Pass(cose:)). A parsed message must encode to bytes that parse to the same message.
import AccessToken
import FuzzSupport

@main enum COSEFuzz {
    static func main() { runFuzzer(fuzzCOSE) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCOSE(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let message = try? COSESign1(cbor: bytes) {
        _ = try? message.checkCritical()
        _ = try? message.algorithm(protectedOnly: true)
        _ = try? message.algorithm(protectedOnly: false)
        _ = message.kid
        _ = try? message.toBeSigned(externalAAD: [0x01])
        let encoded = message.encoded()
        guard let again = try? COSESign1(cbor: encoded, decoder: CBORDecoder(limits: .init(maxBytes: 1 << 22))) else {
            fuzzCheck(false, "a parsed COSE_Sign1 does not parse again once encoded")
            return 0
        }
        fuzzCheck(again.encoded() == encoded, "COSE_Sign1 encoding is not stable")
        fuzzCheck(again.protectedBytes == message.protectedBytes, "protected header bytes changed")
    }
    // The pass profile: its tight CBOR limits, crit, a label in both buckets, alg, kid.
    _ = try? AG1Pass(cose: bytes)
    return 0
}
