import Glibc

/// Errors from QR decoding, encoding and images.
public enum QRCodecError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file or buffer is not a usable PGM image.
    case pgm(String)
    /// A frame buffer does not match its stated size.
    case frameSize(expected: Int, actual: Int)
    /// The data does not fit in any QR version at the chosen error-correction level.
    case tooLong(bytes: Int)
    /// libqrencode failed for another reason; `errno` as it reported it.
    case encoder(errno: Int32)
    /// A rendering parameter is out of range.
    case badParameter(String)
    /// libzbar could not allocate a scanner or image.
    case scannerUnavailable
    /// The camera cannot be opened, configured or read; the device, what went wrong, and the
    /// `errno` of the system call that failed when one did (`EBUSY`: another program streams).
    case camera(device: String, String, errno: Int32? = nil)
    /// A system call failed; the call and its `errno`.
    case system(call: String, errno: Int32)

    public var description: String {
        switch self {
        case .pgm(let why): return "invalid PGM image: \(why)"
        case .frameSize(let e, let a): return "frame holds \(a) bytes, but its size needs \(e)"
        case .tooLong(let n): return "\(n) bytes do not fit in a QR code at this error-correction level"
        case .encoder(let e): return "QR encoding failed (errno \(e))"
        case .badParameter(let why): return why
        case .scannerUnavailable: return "zbar could not create a scanner"
        case .camera(let device, let why, _): return "camera \(device): \(why)"
        case .system(let call, let code): return "\(call) failed: \(String(cString: strerror(code))) (errno \(code))"
        }
    }
}
