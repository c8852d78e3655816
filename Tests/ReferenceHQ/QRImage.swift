import Foundation
import QRCodec

/// `GET /qr.svg?text=…`: a QR code drawn by libqrencode (level M), as an SVG the member page shows.
/// One `<path>` of the dark modules, one run of a row per subpath, inside a 4-module quiet zone.
enum QRImage {
    /// The most text one code carries, in UTF-8 bytes: AG1's limit, and within version 40-M.
    static let maxTextLength = 2048
    static let quietZone = 4

    /// The SVG of `text`; a missing, empty or over-long text is `malformed` (400).
    static func svg(text: String?) throws(HQError) -> String {
        guard let text, !text.isEmpty else { throw .malformed("the query needs text=…, the text to encode") }
        guard text.utf8.count <= maxTextLength else {
            throw .malformed("text is \(text.utf8.count) bytes; the limit is \(maxTextLength)")
        }
        let matrix: QRMatrix
        do { matrix = try QRMatrix.encode(text: text, level: .medium) } catch {
            throw .malformed("cannot encode the text as a QR code: \(error)")
        }
        return svg(matrix)
    }

    static func svg(_ matrix: QRMatrix) -> String {
        let side = matrix.size + 2 * quietZone
        var path = ""
        for y in 0..<matrix.size {
            var x = 0
            while x < matrix.size {
                guard matrix[x, y] else {
                    x += 1
                    continue
                }
                let start = x
                while x < matrix.size && matrix[x, y] { x += 1 }
                path += "M\(start + quietZone) \(y + quietZone)h\(x - start)v1h-\(x - start)z"
            }
        }
        return """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(side) \(side)" width="100%" height="100%" \
            shape-rendering="crispEdges"><rect width="\(side)" height="\(side)" fill="#fff"/>\
            <path fill="#000" d="\(path)"/></svg>

            """
    }

    /// The raw `text` parameter of a query string. ``Query`` trims spaces, and Base45 text may end
    /// in one, so this reads the value exactly (`+` is a space, `%2B` a plus).
    static func textParameter(_ query: String?) throws(HQError) -> String? {
        for pair in (query ?? "").split(separator: "&") where pair.hasPrefix("text=") {
            let value = pair.dropFirst(5).replacingOccurrences(of: "+", with: " ")
            guard let decoded = value.removingPercentEncoding else {
                throw .malformed("text is not valid percent-encoding")
            }
            return decoded
        }
        return nil
    }
}
