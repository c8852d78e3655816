import HQProtocol

/// What the store holds that one decision may read: the view the policy decides on. The store
/// answers each question inside the decision's transaction; the policy only asks, in its order,
/// and never writes.
public protocol DecisionRecords {
    /// The door's mode in the snapshot, or nil when the snapshot does not list the door.
    func doorMode(_ id: String) throws -> DoorMode?
    /// The door's opening schedule, in its time zone; asked only once the checks before it passed.
    func doorSchedule(_ id: String) throws -> DoorSchedule
    /// The doors HQ's commands hold in lockdown; `*` is every door.
    func commandedLockdowns() throws -> Set<String>
    /// Until when the pass (cti hex) is revoked, if it is.
    func revokedUntil(pass: String) throws -> Int64?
    /// Whether the member is blocked; nil when the snapshot does not list the member.
    func memberBlocked(_ id: String) throws -> Bool?
    /// The booking's facts for `door` (whose location is `location`), or nil when not in the snapshot.
    func booking(_ id: String, door: String, location: String) throws -> BookingFacts?
    /// This gateway's count of the pass's uses.
    func usage(pass: String) throws -> PassUsage?
    /// Whether a proof with this key was presented here and is still remembered at `nowMs`.
    func proofSeen(_ key: String, nowMs: Int64) throws -> Bool
}

/// The snapshot the decision runs on: which one, and how old.
public struct SnapshotState: Sendable, Equatable {
    public var seq: Int64
    public var generatedAt: Int64
    public var maxAge: Int64

    public init(seq: Int64, generatedAt: Int64, maxAge: Int64) {
        self.seq = seq
        self.generatedAt = generatedAt
        self.maxAge = maxAge
    }

    /// Seconds since HQ generated the snapshot.
    public func age(now: Double) -> Double { now - Double(generatedAt) }

    /// Whether the snapshot is older than its `max_age`.
    public func isStale(now: Double) -> Bool { age(now: now) > Double(maxAge) }
}

/// What a decision needs of a booking.
public struct BookingFacts: Sendable, Equatable {
    public var member: String
    public var start: Int64
    public var end: Int64
    public var status: String
    /// Whether the booking's doors name the door or its location.
    public var coversDoor: Bool

    public init(member: String, start: Int64, end: Int64, status: String, coversDoor: Bool) {
        self.member = member
        self.start = start
        self.end = end
        self.status = status
        self.coversDoor = coversDoor
    }
}

/// A max-uses pass's count at this gateway, and its last counted use.
public struct PassUsage: Sendable, Equatable {
    public var uses: Int64
    public var lastDoor: String
    public var lastMs: Int64

    public init(uses: Int64, lastDoor: String, lastMs: Int64) {
        self.uses = uses
        self.lastDoor = lastDoor
        self.lastMs = lastMs
    }
}

/// A write a decision asks the store for, made in the same transaction as its audit event.
public enum DecisionWrite: Sendable, Equatable {
    /// Remember a verified holder proof until `untilMs`, whatever the rest of the decision, so
    /// that it never counts twice here.
    case rememberProof(key: String, untilMs: Int64)
    /// Count one use of a max-uses pass at `door`.
    case countUse(pass: String, door: String, atMs: Int64)
}
