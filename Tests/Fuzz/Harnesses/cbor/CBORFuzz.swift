// libFuzzer target `cbor`: the strict, bounded CBOR decoder.
//
// Every input must decode (default limits) or throw a CBORError. A decoded item must survive the
// encoder: encoding it, decoding that and encoding again gives the same bytes (the encoder's output
// is the preferred serialization, a fixed point). The tighter limits a pass is read with are
// exercised by the cose and ag1 targets.
import AccessToken
import FuzzSupport

@main enum CBORFuzz {
    static func main() { runFuzzer(fuzzCBOR) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCBOR(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let value = try? CBORDecoder().decode(bytes) else { return 0 }
    let encoded = CBOREncoder.encode(value)
    // Definite lengths and 8-byte floats can make the encoding longer than the input.
    let again: CBORValue
    do { again = try CBORDecoder(limits: .init(maxBytes: 1 << 22)).decode(encoded) } catch {
        fuzzCheck(false, "the encoding of a decoded item does not decode: \(error)")
        return 0
    }
    fuzzCheck(CBOREncoder.encode(again) == encoded, "encode(decode(encode(x))) != encode(x)")
    _ = value.intValue
    _ = value.mapValue?[label: 1]
    return 0
}
