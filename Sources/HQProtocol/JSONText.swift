
/// JSON text built by hand where the bytes matter: an audit event's `detail` must go out exactly
/// as stored, which a JSON serialiser would re-encode.
public enum JSONText {
    /// `text` as a JSON string literal, escaped as JSONEncoder escapes it.
    public static func quote(_ text: String) -> String {
        // Most text needs no escaping: copy it whole.
        if !text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            return "\"" + text + "\""
        }
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case let c where c.value < 0x20:
                let hex = String(c.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    public static func quote(_ text: String?) -> String {
        text.map { quote($0) } ?? "null"
    }
}

extension AuditEvent {
    /// The event as `POST /v1/events` carries it, fields in the protocol's order, `detail` exactly
    /// as stored: the bytes its hash covers.
    public var uploadJSON: String {
        var out =
            "{\"seq\":\(seq),\"ts_ms\":\(tsMs),\"gateway\":\(JSONText.quote(gateway)),\"door\":\(JSONText.quote(door))"
        out += ",\"kind\":\(JSONText.quote(kind)),\"granted\":\(granted),\"reason\":\(JSONText.quote(reason))"
        out +=
            ",\"member\":\(JSONText.quote(member)),\"pass\":\(JSONText.quote(pass)),\"booking\":\(JSONText.quote(booking))"
        out +=
            ",\"detail\":\(detail.isEmpty ? "{}" : detail),\"prev_hash\":\(JSONText.quote(prevHash)),\"hash\":\(JSONText.quote(hash))}"
        return out
    }
}
