/// Every size limit on what HQ sends, in one place (docs/hq-protocol.md, "Limits"). Each is sized
/// for a large site (1 M bookings, 100 k members, 100 k revocations, a few thousand doors) with
/// room to spare; a hit is refused with ``HQSyncError/limitExceeded(limit:max:came:)``, audited,
/// and shown by `gatewayctl sync status` and `doctor`.
public struct TransferLimits: Sendable, Equatable {
    /// A signed document as received: a manifest (keys and doors) or a delta. `signed_document_bytes`.
    public var signedDocumentBytes = 16 << 20
    /// One chunk as sent (gzip). `chunk_bytes`.
    public var chunkBytes = 16 << 20
    /// One chunk once inflated. `chunk_inflated_bytes`.
    public var chunkInflatedBytes = 64 << 20
    /// Chunks in one manifest. `chunks`.
    public var chunks = 10_000
    /// Members, bookings and revocations in one snapshot together. `records`.
    public var records = 20_000_000

    public init() {}

    /// What to do when `limit` is hit.
    static func advice(_ limit: String) -> String {
        switch limit {
        case "signed_document_bytes":
            return "a manifest or delta this large is not HQ's usual answer; HQ should send a chunked "
                + "snapshot (docs/hq-protocol.md), check that the HQ URL is right"
        case "chunk_bytes", "chunk_inflated_bytes", "chunks":
            return "HQ must split its snapshot into more, smaller chunks (docs/hq-protocol.md, Limits)"
        default:
            return "the site is larger than one gateway holds; give this gateway fewer locations at HQ"
        }
    }

    /// Throws ``HQSyncError/limitExceeded(limit:max:came:)`` when `came` passes `max`.
    static func check(_ limit: String, _ max: Int, _ came: Int) throws(HQSyncError) {
        if came > max { throw .limitExceeded(limit: limit, max: max, came: came) }
    }
}
