import Foundation
import Hummingbird

/// Builds the server's responses: JSON, pre-serialised JSON, signed COSE documents and HTML.
/// Hummingbird adds the `Date` header to every one of them.
enum Reply {
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        // Encoding plain strings, numbers and arrays of them cannot fail.
        bytes(Array(try! JSON.encoder.encode(value)), contentType: "application/json", status: status)
    }

    /// `text` is already JSON (stored event bodies, joined).
    static func rawJSON(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        bytes(Array(text.utf8), contentType: "application/json", status: status)
    }

    static func cose(_ signed: [UInt8], etag: String) -> Response {
        var response = bytes(signed, contentType: "application/cose", status: .ok)
        response.headers[.eTag] = etag
        return response
    }

    static func notModified(etag: String) -> Response {
        Response(status: .notModified, headers: [.eTag: etag])
    }

    static func html(_ text: String) -> Response {
        var response = bytes(Array(text.utf8), contentType: "text/html; charset=utf-8", status: .ok)
        // Security staff read audit data here: no caching by shared proxies, no framing.
        response.headers[.cacheControl] = "no-store"
        response.headers[HTTPFields.Element.Name("Content-Security-Policy")!] =
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"
        return response
    }

    static func bytes(_ bytes: [UInt8], contentType: String, status: HTTPResponse.Status) -> Response {
        Response(
            status: status,
            headers: [.contentType: contentType, .contentLength: String(bytes.count)],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }
}

/// The JSON conventions of the reference HQ: sorted keys, no escaped slashes (door ids have one).
enum JSON {
    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

}
