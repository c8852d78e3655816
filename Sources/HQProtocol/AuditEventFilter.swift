/// The WHERE clause of a read of stored audit events. The gateway's log queries and HQ's event
/// reads filter the same columns (``AuditEvent/CodingKeys``) the same way; each binds
/// ``values`` with its own database library.
public struct AuditEventFilter: Sendable {
    public private(set) var clauses: [String] = []
    /// One per `?` in ``clauses``, in order: `Int64` or `String`.
    public private(set) var values: [any Sendable] = []

    public init() {}

    /// Adds `clause`, with one `?`, when `value` is present.
    public mutating func add(_ clause: String, _ value: Int64?) {
        guard let value else { return }
        clauses.append(clause)
        values.append(value)
    }

    /// Adds `clause`, with one `?`, when `value` is present.
    public mutating func add(_ clause: String, _ value: String?) {
        guard let value else { return }
        clauses.append(clause)
        values.append(value)
    }

    /// Adds `clause`, which takes no value, when `condition` holds.
    public mutating func add(_ clause: String, when condition: Bool) {
        if condition { clauses.append(clause) }
    }

    /// `" WHERE a AND b"`, or nothing when no filter is set.
    public var whereSQL: String {
        clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ")
    }
}
