import HQProtocol

/// The body of `POST /v1/events`, read and checked on its own: shape, order, and each event's
/// hash and link to the one before it. Continuity with what HQ holds is ``HQDatabase``'s check.
struct UploadBatch: Sendable {
    static let maxEvents = 1000

    var gateway: String
    var events: [AuditEvent]

    /// Parses `body`, sent by gateway `uploader`. Shape errors are `malformed` (400); a hash that
    /// does not verify, or an event that does not link to the one before it in the batch, is
    /// `bad_chain` (422).
    init(body: [UInt8], uploader: String) throws(HQError) {
        let root = try JSONScanner.parse(body)
        guard case .string(let gateway)? = root["gateway"] else { throw .malformed("the batch lacks \"gateway\"") }
        guard gateway == uploader else {
            throw .malformed("the batch is for \(gateway), but the device token is \(uploader)'s")
        }
        guard case .array(let items)? = root["events"] else { throw .malformed("the batch lacks an \"events\" array") }
        guard (1...Self.maxEvents).contains(items.count) else {
            throw .malformed("a batch holds 1 to \(Self.maxEvents) events, not \(items.count)")
        }
        self.gateway = gateway
        // Shape first, for the whole batch, so that a malformed batch is 400 wherever the fault is.
        var parsed: [(event: AuditEvent, detail: DetailText)] = []
        parsed.reserveCapacity(items.count)
        for (position, item) in items.enumerated() {
            let next = try Self.event(item, at: position, body: body)
            if let previous = parsed.last?.event, next.event.seq != previous.seq + 1 {
                throw .malformed(
                    "events[\(position)]: seq \(next.event.seq) does not follow \(previous.seq); seqs must ascend without gaps"
                )
            }
            parsed.append(next)
        }
        events = []
        events.reserveCapacity(parsed.count)
        for (event, detail) in parsed {
            let verified = try Self.verify(event, detail: detail)
            if let previous = events.last, verified.prevHash != previous.hash {
                throw HQError(.badChain, "event \(verified.seq): prev_hash is not the hash of event \(previous.seq)")
            }
            events.append(verified)
        }
    }

    private static func event(
        _ node: JSONNode,
        at position: Int,
        body: [UInt8]
    ) throws(HQError) -> (event: AuditEvent, detail: DetailText) {
        let field = FieldReader(node: node, position: position)
        let event = AuditEvent(
            seq: try field.integer("seq"),
            tsMs: try field.integer("ts_ms"),
            gateway: try field.text("gateway"),
            door: try field.optionalText("door"),
            kind: try field.text("kind"),
            granted: try field.granted(),
            reason: try field.text("reason"),
            member: try field.optionalText("member"),
            pass: try field.optionalText("pass"),
            booking: try field.optionalText("booking"),
            detail: "",
            prevHash: try field.hash("prev_hash"),
            hash: try field.hash("hash")
        )
        guard event.seq >= 1 else { throw .malformed("events[\(position)].seq must be at least 1") }
        return (event, try field.detail(body: body))
    }

    /// Checks the event's hash, and settles the text of its `detail`.
    ///
    /// The gateway hashed `detail` as it stored it. A gateway that splices the stored text into the
    /// upload sends exactly those bytes; one that re-encodes it may reorder or re-escape them, so
    /// the canonical form (JSONEncoder's, as the gateway stores it) is tried next.
    private static func verify(_ event: AuditEvent, detail: DetailText) throws(HQError) -> AuditEvent {
        var event = event
        event.detail = detail.raw
        if event.hashVerifies { return event }
        if let canonical = detail.canonical(), canonical != detail.raw {
            event.detail = canonical
            if event.hashVerifies { return event }
        }
        throw HQError(.badChain, "event \(event.seq): hash does not verify")
    }
}

/// The texts an event's `detail` may have been hashed as: the bytes as sent, and the canonical
/// form, made only when those fail.
private struct DetailText {
    var raw: String
    var canonical: () -> String?
}

/// Reads one event object's fields, naming the field in every error.
private struct FieldReader {
    let node: JSONNode
    let position: Int

    func missing(_ key: String, _ what: String) -> HQError {
        .malformed("events[\(position)].\(key) must be \(what)")
    }

    func integer(_ key: String) throws(HQError) -> Int64 {
        guard case .number(let text)? = node[key], let value = Int64(text) else { throw missing(key, "an integer") }
        return value
    }

    func text(_ key: String) throws(HQError) -> String {
        guard case .string(let value)? = node[key] else { throw missing(key, "a string") }
        return value
    }

    func optionalText(_ key: String) throws(HQError) -> String? {
        switch node[key] {
        case .string(let value)?: return value
        case .null?: return nil
        default: throw missing(key, "a string or null")
        }
    }

    /// `true`/`false` as the protocol shows it, or `1`/`0` as the audit table stores it.
    func granted() throws(HQError) -> Bool {
        switch node["granted"] {
        case .bool(let value)?: return value
        case .number("1")?: return true
        case .number("0")?: return false
        default: throw missing("granted", "true or false")
        }
    }

    func hash(_ key: String) throws(HQError) -> String {
        let value = try text(key)
        guard value.utf8.count == 64,
            value.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
        else {
            throw missing(key, "64 lowercase hex digits")
        }
        return value
    }

    /// `detail`'s texts. A string holding a JSON object is taken as that object's text.
    func detail(body: [UInt8]) throws(HQError) -> DetailText {
        switch node["detail"] {
        case .object(let members)?:
            guard let span = node.span(of: "detail") else { throw missing("detail", "a JSON object") }
            return DetailText(
                raw: String(decoding: body[span], as: UTF8.self),
                canonical: { JSONNode.object(members).canonicalText }
            )
        case .string(let text)?:
            guard case .object? = try? JSONScanner.parse(Array(text.utf8)) else {
                throw missing("detail", "a JSON object")
            }
            return DetailText(raw: text, canonical: { nil })
        default:
            throw missing("detail", "a JSON object")
        }
    }
}
