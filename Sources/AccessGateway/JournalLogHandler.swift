import Foundation
import Logging
import Synchronization

/// swift-log to standard error, one line per event: `LEVEL label: message key=value …`, metadata
/// sorted so lines grep alike. Under systemd (`$JOURNAL_STREAM` set) each line starts with its
/// syslog priority, `<3>`…`<7>`, which journald turns into the entry's level and strips.
public struct JournalLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let label: String
    private let priorityPrefix: Bool
    private static let output = Mutex(())

    public init(label: String, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.label = label
        priorityPrefix = environment["JOURNAL_STREAM"] != nil
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        var line = priorityPrefix ? "<\(Self.priority(event.level))>" : "\(event.level.rawValue) "
        line += "\(label): \(event.message)"
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            line += " \(key)=\(Self.quoted("\(value)"))"
        }
        line += "\n"
        // One write per line, under a lock, so lines from the door and decision threads never interleave.
        Self.output.withLock { _ in FileHandle.standardError.write(Data(line.utf8)) }
    }

    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    static func quoted(_ value: String) -> String {
        if !value.isEmpty, !value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }) {
            return value
        }
        let escaped = value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
        return "\"\(escaped)\""
    }
}
