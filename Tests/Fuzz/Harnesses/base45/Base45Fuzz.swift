// libFuzzer target `base45`: the strict Base45 decoder (RFC 9285) of AccessToken.
//
// Decoding is strict, so the encoding is unique: decode(text) succeeding means
// encode(decode(text)) == text. And decode(encode(bytes)) == bytes for any bytes.
import AccessToken
import FuzzSupport

@main enum Base45Fuzz {
    static func main() { runFuzzer(fuzzBase45) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBase45(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let text = String(decoding: bytes, as: UTF8.self)
    if let decoded = try? Base45.decode(text) {
        fuzzCheck(Base45.encode(decoded) == text, "encode(decode(text)) != text")
    }
    if let decoded = try? Base45.decode(text.dropFirst()) {  // a Substring, as AG1 hands it over
        fuzzCheck(Base45.encode(decoded) == String(text.dropFirst()), "Substring decode differs")
    }
    let encoded = Base45.encode(bytes)
    do {
        let decoded = try Base45.decode(encoded)
        fuzzCheck(decoded == bytes, "decode(encode(bytes)) != bytes")
    } catch {
        fuzzCheck(false, "the encoding of \(bytes.count) bytes does not decode: \(error)")
    }
    return 0
}
