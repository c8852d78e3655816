/// The newest audit event the daemon's log lines name (`seq=` and `hash=` on each decision line,
/// as `JournalLogHandler` writes them): a witness of the log's end that lives outside the
/// database, for `gatewayctl log verify`.
public struct JournalWitness: Sendable, Equatable {
    public var seq: Int64
    public var hash: String

    public init(seq: Int64, hash: String) {
        self.seq = seq
        self.hash = hash
    }

    /// The line with the highest seq among `text`'s lines that carry both `seq=` and `hash=`, or
    /// nil when none does. Lines of other programs and malformed values are skipped.
    public static func newest(in text: Substring) -> JournalWitness? {
        var newest: JournalWitness?
        for line in text.split(separator: "\n") {
            var seq: Int64?
            var hash: String?
            for field in line.split(separator: " ") {
                if field.hasPrefix("seq=") { seq = Int64(field.dropFirst(4)) }
                if field.hasPrefix("hash=") {
                    let value = field.dropFirst(5)
                    if value.count == 64, value.allSatisfy(\.isHexDigit) { hash = String(value) }
                }
            }
            guard let seq, let hash, seq > (newest?.seq ?? 0) else { continue }
            newest = JournalWitness(seq: seq, hash: hash)
        }
        return newest
    }
}
