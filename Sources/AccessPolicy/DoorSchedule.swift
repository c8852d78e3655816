import Foundation
import HQProtocol

/// Whether a door's weekly schedule covers a moment, in the door's own time zone.
public struct DoorSchedule: Sendable {
    public var windows: [ScheduleWindow]
    public var timeZone: TimeZone

    public init(windows: [ScheduleWindow], timeZone: TimeZone) {
        self.windows = windows
        self.timeZone = timeZone
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
        let today = ScheduleWindow.weekdays[weekday - 1]
        let yesterday = ScheduleWindow.weekdays[(weekday + 5) % 7]
        let now = hour * 60 + minute
        return windows.contains { window in
            guard let from = ScheduleWindow.minutes(window.from), let to = ScheduleWindow.minutes(window.to) else {
                return false
            }
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
            for text in [window.from, window.to] {
                if let minutes = ScheduleWindow.minutes(text) { edges.insert(minutes % 1440) }
            }
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
