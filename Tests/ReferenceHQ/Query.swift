import Foundation

/// A request's query parameters, decoded as HTML forms encode them (`+` is a space). An empty
/// value counts as absent, so that a form's blank fields do not filter.
struct Query: Sendable {
    private var values: [String: String] = [:]

    init(_ query: String?) {
        for pair in (query ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                let spaced = text.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            let name = decode(parts[0])
            let value = parts.count > 1 ? decode(parts[1]) : ""
            // The first occurrence wins, as most frameworks do.
            if values[name] == nil { values[name] = value }
        }
    }

    subscript(name: String) -> String? {
        guard let value = values[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }

    /// A value exactly as sent, or nil when absent or empty: for values checked against a pattern,
    /// which a trimmed value could pass while the sent one does not.
    func exact(_ name: String) -> String? {
        guard let value = values[name], !value.isEmpty else { return nil }
        return value
    }

    /// An integer in `range`, or nil when absent.
    func integer(_ name: String, in range: ClosedRange<Int64>) throws(HQError) -> Int64? {
        guard let text = self[name] else { return nil }
        guard let value = Int64(text), range.contains(value) else {
            throw .malformed("\(name) must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// The forms `time` accepts, exactly: docs/openapi.yaml states the same pattern for `since` and
    /// `until`, so that what the document allows the server takes, and nothing else.
    static let timePattern =
        #"^(-?[0-9]{1,15}(\.[0-9]{1,9})?|[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?)?)$"#

    /// A time: UNIX seconds, or an ISO 8601 date or date-time, UTC unless it has an offset
    /// (`2030-01-31`, `2030-01-31T08:00`, `2030-01-31T08:00:00+07:00`).
    func time(_ name: String) throws(HQError) -> Double? {
        guard let text = exact(name) else { return nil }
        // A literal pattern that compiles: the force is checked by every request's first use.
        let pattern = try! Regex(Self.timePattern)
        guard (try? pattern.wholeMatch(in: text)) != nil else {
            throw .malformed("\(name) must be UNIX seconds or an ISO 8601 date-time such as 2030-01-31T08:00Z")
        }
        if let seconds = Double(text) { return seconds }
        guard let date = Self.isoDate(text) else {
            throw .malformed("\(name) must be UNIX seconds or an ISO 8601 date-time such as 2030-01-31T08:00Z")
        }
        return date
    }

    /// Parses `YYYY-MM-DD[(T| )HH:MM[:SS][Z|±HH:MM]]`.
    static func isoDate(_ text: String) -> Double? {
        var rest = Substring(text)
        var offset = 0
        if rest.hasSuffix("Z") || rest.hasSuffix("z") {
            rest = rest.dropLast()
        } else if rest.count > 16, let sign = rest.dropLast(5).last, sign == "+" || sign == "-",
            let hours = Int(rest.suffix(5).prefix(2)), rest.suffix(3).first == ":", let minutes = Int(rest.suffix(2))
        {
            offset = (sign == "+" ? 1 : -1) * (hours * 3600 + minutes * 60)
            rest = rest.dropLast(6)
        }
        let parts = rest.split(whereSeparator: { $0 == "T" || $0 == " " })
        guard parts.count == 1 || parts.count == 2 else { return nil }
        let day = parts[0].split(separator: "-").compactMap { Int($0) }
        let time = parts.count == 2 ? parts[1].split(separator: ":").compactMap { Int($0) } : [0, 0]
        guard day.count == 3, time.count == 2 || time.count == 3 else { return nil }
        var components = DateComponents()
        components.year = day[0]
        components.month = day[1]
        components.day = day[2]
        components.hour = time[0]
        components.minute = time[1]
        components.second = time.count == 3 ? time[2] : 0
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard (1...12).contains(day[1]), (1...31).contains(day[2]), (0...23).contains(time[0]),
            (0...59).contains(time[1]),
            let date = calendar.date(from: components)
        else { return nil }
        return date.timeIntervalSince1970 - Double(offset)
    }
}
