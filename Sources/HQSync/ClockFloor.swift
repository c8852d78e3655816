import Foundation
import KeyCache
import Synchronization

/// The newest time the gateway has reason to believe has passed, kept in the store so that it
/// outlives restarts: the wall clock at each trusted decision (so the newest event recorded at a
/// trusted time) and the newest `Date` HQ sent. ``ClockTrust`` never trusts a wall clock below it
/// less a tolerance: a clock stepped back (a forged NTP answer, a bad RTC) cannot revive an
/// expired pass even while the kernel reports it synchronised.
///
/// `gatewayctl decide --at T` does not use it: a test clock neither checks nor raises the floor.
public final class ClockFloor: Sendable {
    /// The `gateway_state` key the floor is kept under, in whole UNIX seconds.
    public static let stateKey = StateKey.clockFloor
    /// The floor's value when the step back was last audited, so each step back is audited once.
    private let audited = Mutex<Double?>(nil)
    private let state: Mutex<(floor: Double?, persisted: Double?)>
    let store: GatewayStore
    /// How far the floor may run ahead of the stored value: writes stay rare (one per this many
    /// seconds at most), and the tolerance covers what a restart loses.
    let persistEvery: Double

    /// Loads the floor from `store` (none on a fresh store).
    public init(store: GatewayStore, persistEvery: Double = 10) {
        self.store = store
        self.persistEvery = persistEvery
        let stored = Self.stored(in: store)
        state = Mutex((stored, stored))
    }

    /// The floor kept in `store`, or nil when none was ever recorded (or it cannot be read).
    public static func stored(in store: GatewayStore) -> Double? {
        (try? store.stateValues([stateKey]))?[stateKey].flatMap(Double.init)
    }

    /// The floor now, or nil before any trusted time was seen.
    public var value: Double? { state.withLock { $0.floor } }

    /// Raises the floor to `time` (never lowers it), persisting it when it moved far enough.
    public func raise(to time: Double) {
        let write: Double? = state.withLock { state in
            guard time > state.floor ?? -.infinity else { return nil }
            state.floor = time
            guard time - (state.persisted ?? -.infinity) >= persistEvery else { return nil }
            state.persisted = time
            return time
        }
        if let write { persist(write) }
    }

    /// Sets the floor to HQ's time when the wall clock agrees with it: HQ is the authority, so a
    /// floor a clock once stepped forward had raised is cleared.
    public func reset(to time: Double) {
        state.withLock { $0 = (time, time) }
        persist(time)
    }

    /// Records the step back in the audit log, once per floor (each scan would otherwise add one).
    func auditStepBack(wall: Double, floor: Double, tolerance: Double) {
        let first = audited.withLock { last in
            defer { last = floor }
            return last != floor
        }
        guard first else { return }
        _ = try? store.appendAudit(
            AuditEntry(
                tsMs: Int64(wall * 1000),
                door: nil,
                kind: "clock",
                granted: false,
                reason: "clock_untrusted",
                detail: [
                    "wall": String(Int(wall)), "floor": String(Int(floor)), "tolerance_s": String(Int(tolerance)),
                    "why": "the clock stepped back past the newest time it trusted",
                ]
            )
        )
    }

    private func persist(_ time: Double) {
        // A failed write leaves the floor in memory: the next raise tries again.
        do { try store.setStateValues([Self.stateKey: String(Int(time.rounded(.down)))]) } catch {
            state.withLock { $0.persisted = nil }
        }
    }
}
