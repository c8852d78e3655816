import AccessToken
import Crypto

/// One audit event: a decision, a door or a system event.
///
/// The gateway's store and HQ hold it in the same columns (``columnDefinitions``), named as
/// ``CodingKeys`` names them.
public struct AuditEvent: Sendable, Equatable, Codable {
    public var seq: Int64
    public var tsMs: Int64
    public var gateway: String
    public var door: String?
    /// "decision", and later door and system event kinds.
    public var kind: String
    public var granted: Bool
    public var reason: String
    public var member: String?
    public var pass: String?
    public var booking: String?
    /// A JSON object as text; "{}" when empty.
    public var detail: String
    public var prevHash: String
    public var hash: String

    /// The column names of the stored event.
    public enum CodingKeys: String, CodingKey, Sendable {
        case seq, gateway, door, kind, granted, reason, member, pass, booking, detail, hash
        case tsMs = "ts_ms"
        case prevHash = "prev_hash"
    }

    /// The SQL column definitions after `seq`, in canonical order: the gateway's `audit_events`
    /// (its migration v1) and HQ's `events` are made with them. Frozen: a shipped migration uses it,
    /// so a change is a new migration, never an edit here.
    public static let columnDefinitions = """
        ts_ms INTEGER NOT NULL,
        gateway TEXT NOT NULL,
        door TEXT,
        kind TEXT NOT NULL,
        granted INTEGER NOT NULL CHECK (granted IN (0, 1)),
        reason TEXT NOT NULL,
        member TEXT,
        pass TEXT,
        booking TEXT,
        detail TEXT NOT NULL DEFAULT '{}',
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
        """

    /// The canonical bytes the chain hashes (docs/hq-protocol.md, "Audit chain"): the eleven fields
    /// seq, ts_ms, gateway, door, kind, granted, reason, member, pass, booking, detail, in that order,
    /// each as UTF-8 text (integers in decimal, granted as 0 or 1) preceded by its byte length as a
    /// 4-byte big-endian integer; a null field is the length 0xFFFFFFFF with no bytes.
    public var canonicalBytes: [UInt8] {
        let fields: [String?] = [
            String(seq), String(tsMs), gateway, door, kind, granted ? "1" : "0", reason, member, pass, booking, detail,
        ]
        var out: [UInt8] = []
        for field in fields {
            guard let field else {
                out += [0xFF, 0xFF, 0xFF, 0xFF]
                continue
            }
            let bytes = Array(field.utf8)
            withUnsafeBytes(of: UInt32(bytes.count).bigEndian) { out += $0 }
            out += bytes
        }
        return out
    }

    /// The `prev_hash` of the first event: 64 zeros.
    public static let genesis = String(repeating: "0", count: 64)

    /// SHA-256(prev_hash ‖ canonical bytes), lowercase hex; `prevHash` is hex of 32 bytes.
    public static func chainHash(prevHash: String, canonical: [UInt8]) -> String {
        var hasher = SHA256()
        hasher.update(data: [UInt8](hex: prevHash) ?? [])
        hasher.update(data: canonical)
        return Array(hasher.finalize()).hexString
    }

    /// Whether ``hash`` is the chain hash of ``prevHash`` and this event's canonical form.
    public var hashVerifies: Bool {
        Self.chainHash(prevHash: prevHash, canonical: canonicalBytes) == hash
    }

    public init(
        seq: Int64,
        tsMs: Int64,
        gateway: String,
        door: String?,
        kind: String,
        granted: Bool,
        reason: String,
        member: String?,
        pass: String?,
        booking: String?,
        detail: String,
        prevHash: String,
        hash: String
    ) {
        self.seq = seq
        self.tsMs = tsMs
        self.gateway = gateway
        self.door = door
        self.kind = kind
        self.granted = granted
        self.reason = reason
        self.member = member
        self.pass = pass
        self.booking = booking
        self.detail = detail
        self.prevHash = prevHash
        self.hash = hash
    }

    /// Sets ``hash`` to the chain hash of ``prevHash`` and this event's canonical form: the event
    /// is then linked.
    public mutating func seal() {
        hash = Self.chainHash(prevHash: prevHash, canonical: canonicalBytes)
    }
}
