import Foundation

/// Whether a door's weekly schedule covers a moment, in the door's own time zone.
public struct DoorSchedule: Sendable {
    static let weekdays = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    public var windows: [ScheduleWindow]
    public var timeZone: TimeZone

    public init(windows: [ScheduleWindow], timeZone: TimeZone) {
        self.windows = windows
        self.timeZone = timeZone
    }

    /// "HH:MM" → minutes since midnight; "24:00" is 1440.
    static func minutes(_ text: String) -> Int? {
        // Four ASCII digits: Int("+1") and Int("-0") would read a sign as part of a two-digit field.
        let c = Array(text.utf8)
        func digit(_ i: Int) -> Int? { (0x30...0x39).contains(c[i]) ? Int(c[i] - 0x30) : nil }
        guard c.count == 5, c[2] == UInt8(ascii: ":"), let h1 = digit(0), let h0 = digit(1), let m1 = digit(3),
            let m0 = digit(4)
        else { return nil }
        let h = h1 * 10 + h0
        let m = m1 * 10 + m0
        guard (0...23).contains(h) && (0...59).contains(m) || (h == 24 && m == 0) else { return nil }
        return h * 60 + m
    }

    /// True when no windows are set, or when `time` (UNIX seconds) falls inside one.
    /// A window is half-open: `from` is inside, `to` is not.
    public func covers(_ time: Double) -> Bool {
        if windows.isEmpty { return true }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let date = Date(timeIntervalSince1970: time)
        let parts = calendar.dateComponents([.weekday, .hour, .minute], from: date)
        guard let weekday = parts.weekday, let hour = parts.hour, let minute = parts.minute else { return false }
        let today = Self.weekdays[weekday - 1]
        let yesterday = Self.weekdays[(weekday + 5) % 7]
        let now = hour * 60 + minute
        return windows.contains { window in
            guard let from = Self.minutes(window.from), let to = Self.minutes(window.to) else { return false }
            if from < to { return window.days.contains(today) && now >= from && now < to }
            // Crosses midnight: the evening part today, or the morning part of yesterday's window.
            return (window.days.contains(today) && now >= from) || (window.days.contains(yesterday) && now < to)
        }
    }

    /// The next moment after `time` (UNIX seconds) at which ``covers(_:)`` may change: the next
    /// start or end of any window, on any day (a boundary on a day the window skips changes
    /// nothing, and costs one more look). Nil when no windows are set.
    public func nextBoundary(after time: Double) -> Double? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let date = Date(timeIntervalSince1970: time)
        var edges = Set<Int>()
        for window in windows {
            for text in [window.from, window.to] { if let minutes = Self.minutes(text) { edges.insert(minutes % 1440) } }
        }
        return edges.compactMap { minutes in
            calendar.nextDate(
                after: date,
                matching: DateComponents(hour: minutes / 60, minute: minutes % 60, second: 0),
                matchingPolicy: .nextTime
            )?.timeIntervalSince1970
        }.min()
    }
}
