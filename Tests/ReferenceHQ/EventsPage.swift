import Foundation

/// The one HTML page: security staff filter the uploaded events by gateway, door, member, reason
/// and time. A plain GET form and a table rendered on the server; no JavaScript. Every value from
/// the database or the query is HTML-escaped.
struct EventsPage {
    /// The most rows the page shows; the API's `limit` goes higher.
    static let rowLimit = 500

    var query: Query
    /// Newest first.
    var events: [StoredEvent]
    var problem: String?
    var gateways: [GatewayState]
    var doors: [String]
    var reasons: [String]
    var limit: Int

    func render() -> String {
        var html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <title>Audit events · access-hq-dev</title>
            <style>
            body { font: 14px system-ui, sans-serif; margin: 1.5em; }
            table { border-collapse: collapse; }
            th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
            td.detail { font-family: monospace; font-size: 12px; }
            tr.denied td.result { color: #a00; font-weight: bold; }
            form label { margin-right: 1em; }
            .note { color: #555; }
            .problem { color: #a00; }
            </style></head><body>
            <h1>Audit events</h1>
            <p class="note">access-hq-dev is the reference HQ for development and tests, not the production HQ.</p>

            """
        html += form()
        if let problem { html += "<p class=\"problem\">\(escape(problem))</p>\n" }
        html += table()
        html += gatewayTable()
        html += "</body></html>\n"
        return html
    }

    private func form() -> String {
        func field(_ name: String, _ label: String, type: String = "text", list: String? = nil) -> String {
            let listAttribute = list.map { " list=\"\($0)\"" } ?? ""
            return
                "<label>\(label) <input type=\"\(type)\" name=\"\(name)\" value=\"\(escape(query[name] ?? ""))\"\(listAttribute)></label>\n"
        }
        func options(_ id: String, _ values: [String]) -> String {
            "<datalist id=\"\(id)\">" + values.map { "<option value=\"\(escape($0))\">" }.joined() + "</datalist>\n"
        }
        var html = "<form method=\"get\" action=\"/\">\n"
        html += field("gateway", "Gateway", list: "gateways")
        html += field("door", "Door", list: "doors")
        html += field("member", "Member")
        html += field("reason", "Reason", list: "reasons")
        html += field("since", "From (UTC)")
        html += field("until", "Until (UTC)")
        html += "<button type=\"submit\">Filter</button> <a href=\"/\">Clear</a>\n"
        html += options("gateways", gateways.map(\.id)) + options("doors", doors) + options("reasons", reasons)
        html += "<p class=\"note\">Times: UNIX seconds or ISO 8601, e.g. 2030-01-31T08:00 (UTC) or "
        html += "2030-01-31T08:00+07:00. From is inclusive, until exclusive.</p>\n</form>\n"
        return html
    }

    private func table() -> String {
        var html = "<p>\(events.count) event\(events.count == 1 ? "" : "s")"
        html +=
            events.count >= limit
            ? ", the newest \(limit) shown: narrow the filter to see older ones.</p>\n" : ", newest first.</p>\n"
        html += "<table><thead><tr><th>Time (UTC)</th><th>Gateway</th><th>Seq</th><th>Door</th><th>Kind</th>"
        html +=
            "<th>Result</th><th>Reason</th><th>Member</th><th>Pass</th><th>Booking</th><th>Detail</th></tr></thead><tbody>\n"
        for stored in events {
            let event = stored.event
            let time = Date(timeIntervalSince1970: Double(event.tsMs) / 1000).formatted(
                Date.ISO8601FormatStyle(includingFractionalSeconds: true)
            )
            html += "<tr class=\"\(event.granted ? "granted" : "denied")\">"
            // The uploader's id; the event's own gateway field says `unenrolled` before enrolment.
            let cells = [time, stored.uploader, String(event.seq), event.door ?? "", event.kind]
            html += cells.map { "<td>\(escape($0))</td>" }.joined()
            html += "<td class=\"result\">\(event.granted ? "granted" : "denied")</td>"
            html += [event.reason, event.member ?? "", event.pass ?? "", event.booking ?? ""]
                .map { "<td>\(escape($0))</td>" }.joined()
            // As stored, which is what the chain hashed.
            html += "<td class=\"detail\">\(escape(event.detail))</td></tr>\n"
        }
        return html + "</tbody></table>\n"
    }

    private func gatewayTable() -> String {
        guard !gateways.isEmpty else { return "<p class=\"note\">No gateway is enrolled yet.</p>\n" }
        var html =
            "<h2>Gateways</h2>\n<table><thead><tr><th>Gateway</th><th>Name</th><th>Events held (seq)</th><th>Key</th></tr></thead><tbody>\n"
        for gateway in gateways {
            let held = gateway.headSeq.map { "\(gateway.firstSeq ?? 1)–\($0), chain verified on upload" } ?? "none yet"
            html += "<tr><td>\(escape(gateway.id))</td><td>\(escape(gateway.name))</td><td>\(held)</td>"
            html += "<td>\(gateway.revoked ? "revoked" : "active")</td></tr>\n"
        }
        return html + "</tbody></table>\n"
    }
}

/// The characters HTML text and double-quoted attributes must not hold as they are.
private let htmlEntities: [Character: String] = ["&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;"]

/// Escapes text for HTML element content and double-quoted attribute values.
func escape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for character in text { out += htmlEntities[character] ?? String(character) }
    return out
}
