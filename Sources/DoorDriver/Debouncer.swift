/// Turns a bouncing contact into clean transitions: a new level counts once it has held for
/// `interval`. Pure logic; the caller passes the time.
public struct Debouncer: Sendable, Equatable {
    public let interval: Duration
    /// The last accepted level.
    public private(set) var level: Bool
    private var candidate: (level: Bool, since: Duration)?

    public init(interval: Duration, level: Bool) {
        self.interval = interval
        self.level = level
    }

    public static func == (a: Debouncer, b: Debouncer) -> Bool {
        a.interval == b.interval && a.level == b.level && a.candidate?.level == b.candidate?.level
            && a.candidate?.since == b.candidate?.since
    }

    /// Records the raw level read after an edge at `now`.
    public mutating func observe(_ raw: Bool, at now: Duration) {
        if raw == level {
            candidate = nil
        } else if candidate?.level != raw {
            candidate = (raw, now)
        }
    }

    /// When a pending level will have held long enough.
    public var deadline: Duration? { candidate.map { $0.since + interval } }

    /// Returns the new level if a pending one has held for `interval` by `now`.
    public mutating func settle(at now: Duration) -> Bool? {
        guard let candidate, now >= candidate.since + interval else { return nil }
        self.candidate = nil
        level = candidate.level
        return level
    }
}
