import CZlib

/// gzip (RFC 1952) through the system zlib: snapshot chunks travel compressed.
public enum Gzip {
    /// Compresses `bytes` into one gzip member.
    public static func compress(_ bytes: [UInt8], level: Int32 = 6) -> [UInt8] {
        var stream = z_stream()
        // windowBits 15 + 16: a gzip header and trailer rather than zlib's.
        guard deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
            Int32(MemoryLayout<z_stream>.size)) == Z_OK
        else { return [] }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(bytes.count))) + 32)
        var input = bytes
        let produced: Int = input.withUnsafeMutableBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                stream.next_in = source.baseAddress
                stream.avail_in = UInt32(source.count)
                stream.next_out = target.baseAddress
                stream.avail_out = UInt32(target.count)
                // deflateBound leaves room for the whole output: one call finishes.
                guard deflate(&stream, Z_FINISH) == Z_STREAM_END else { return -1 }
                return target.count - Int(stream.avail_out)
            }
        }
        return produced < 0 ? [] : Array(output[0..<produced])
    }

    /// Why an inflate failed.
    public enum Failure: Error, Sendable, Equatable {
        /// The inflated bytes would pass `limit`.
        case tooLarge(limit: Int)
        /// Not gzip, cut short, a bad checksum, or bytes after the member.
        case corrupt(String)
    }

    /// Inflates one gzip member, refusing output past `limit` bytes (a zip bomb stops there).
    public static func inflate(_ bytes: [UInt8], limit: Int) throws(Failure) -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .corrupt("zlib cannot start")
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        output.reserveCapacity(min(limit, max(bytes.count * 4, 1 << 16)))
        var piece = [UInt8](repeating: 0, count: 1 << 16)
        var input = bytes
        var outcome: Int32 = Z_OK
        var failure: Failure?
        input.withUnsafeMutableBufferPointer { source in
            stream.next_in = source.baseAddress
            stream.avail_in = UInt32(source.count)
            while outcome == Z_OK {
                let made: Int = piece.withUnsafeMutableBufferPointer { target in
                    stream.next_out = target.baseAddress
                    stream.avail_out = UInt32(target.count)
                    outcome = CZlib.inflate(&stream, Z_NO_FLUSH)
                    return target.count - Int(stream.avail_out)
                }
                if output.count + made > limit {
                    failure = .tooLarge(limit: limit)
                    return
                }
                output.append(contentsOf: piece[0..<made])
                if outcome == Z_BUF_ERROR && stream.avail_in == 0 { break }
            }
            if outcome == Z_STREAM_END && stream.avail_in != 0 {
                failure = .corrupt("\(stream.avail_in) bytes after the gzip member")
            }
        }
        if let failure { throw failure }
        guard outcome == Z_STREAM_END else {
            throw .corrupt(outcome == Z_BUF_ERROR ? "the gzip data is cut short" : "zlib error \(outcome)")
        }
        return output
    }
}
