import HQProtocol

/// Errors from the gateway store: snapshots, the audit log and the database itself.
public enum KeyCacheError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The snapshot or delta document is invalid; the text names the field.
    case badSnapshot(String)
    /// A delta was built on another snapshot than the one stored.
    case deltaBaseMismatch(stored: Int64?, base: Int64)
    /// The document's seq is not newer than the stored one.
    case staleSeq(stored: Int64, received: Int64)
    /// The database could not be opened, migrated, read or written, for a reason of the store's own.
    case database(String)
    /// SQLite refused: its primary result code (`SQLITE_CORRUPT` 11, `SQLITE_NOTADB` 26, `SQLITE_BUSY`
    /// 5, …) and its message. Recovery decides on the code, never on the text.
    case sqlite(code: Int32, String)
    /// The time given is not a usable UNIX time.
    case badClock(String)

    public var description: String {
        switch self {
        case .badSnapshot(let why): return "invalid snapshot: \(why)"
        case .deltaBaseMismatch(let stored, let base):
            let have = stored.map { "seq \($0)" } ?? "no snapshot"
            return "delta is based on seq \(base), but the store holds \(have); fetch a full snapshot"
        case .staleSeq(let stored, let received):
            return "snapshot seq \(received) is not newer than the stored seq \(stored)"
        case .database(let why), .sqlite(_, let why): return "database error: \(why)"
        case .badClock(let why): return "bad clock: \(why)"
        }
    }
}

extension KeyCacheError {
    /// A snapshot document's refusal, as the store reports it: the same words.
    public init(_ error: HQProtocolError) {
        guard case .badSnapshot(let why) = error else {
            self = .badSnapshot(error.description)
            return
        }
        self = .badSnapshot(why)
    }
}
