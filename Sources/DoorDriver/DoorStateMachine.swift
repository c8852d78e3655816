/// How a door behaves in time. All durations are monotonic.
public struct DoorTiming: Sendable, Equatable {
    /// How long a grant, REX or remote unlock energises the relay: 1–30 s, 5 s by default.
    public var pulse: Duration
    /// The longest a run of pulses may keep the relay energised, whatever happens upstream.
    public var maxEnergised: Duration
    /// A door open this long after a valid entry raises the held-open alarm.
    public var heldOpenAfter: Duration
    /// How long a REX press that does not unlock excuses the door opening (forced-open shunt).
    public var rexShunt: Duration

    public static let pulseRange: ClosedRange<Duration> = .seconds(1) ... .seconds(30)

    public init(
        pulse: Duration = .seconds(5),
        maxEnergised: Duration = .seconds(30),
        heldOpenAfter: Duration = .seconds(30),
        rexShunt: Duration = .seconds(10)
    ) {
        self.pulse = pulse
        self.maxEnergised = max(maxEnergised, pulse)
        self.heldOpenAfter = heldOpenAfter
        self.rexShunt = rexShunt
    }
}

/// What the door's state machine does with the relay now: HQ's `DoorMode` (in HQProtocol) with
/// the unlock schedule applied by the composition. The door knows no HQ, so it has its own type.
public enum DoorOperatingMode: String, Sendable, Equatable, CaseIterable {
    case normal
    /// Grants are refused; REX still lets people out.
    case lockdown
    /// The relay is held energised: the door is free to open. Scans are still decided upstream.
    case unlocked
    /// The relay is held while the unlock schedule is active.
    case unlockedBySchedule = "unlocked_by_schedule"
    /// Like `unlockedBySchedule`, but the schedule only takes effect after the day's first grant.
    case firstPersonIn = "first_person_in"
}

/// Why the relay was energised.
public enum UnlockCause: String, Sendable, Equatable {
    case grant, rex, remote, held
    case fireAlarm = "fire_alarm"
}

/// Why the relay dropped.
public enum LockCause: String, Sendable, Equatable {
    case pulseEnded = "pulse_ended"
    case doorClosed = "door_closed"
    case maximumReached = "maximum_reached"
    case lockdown
    case released
}

/// Door alarms.
public enum DoorAlarm: String, Sendable, Equatable, CaseIterable {
    case heldOpen = "held_open"
    case forcedOpen = "forced_open"
    case tamper
    case fireAlarm = "fire_alarm"
}

/// Something the state machine reports; the daemon records each in the audit log.
public enum DoorEvent: Sendable, Equatable {
    case unlocked(UnlockCause)
    case locked(LockCause)
    case opened
    case closed
    case grantRefused(String)
    case rexPressed(unlocks: Bool)
    case alarm(DoorAlarm, raised: Bool)
    case modeChanged(DoorOperatingMode)
}

/// What happens to a door.
public enum DoorStimulus: Sendable, Equatable {
    /// A granted scan.
    case grant
    /// An unlock commanded from HQ: one pulse of `seconds` (the door's own pulse when not a positive
    /// number), bounded like every pulse by the door's maximum and ended by the door closing.
    case remoteUnlock(seconds: Double)
    case rex(pressed: Bool)
    case doorPosition(open: Bool)
    case tamper(active: Bool)
    case fireAlarm(active: Bool)
    case mode(DoorOperatingMode)
    /// The door's unlock schedule started or ended (evaluated upstream).
    case schedule(active: Bool)
    /// Time passed; deadlines are checked on every stimulus, this one only advances time.
    case tick
}

/// The door's logic, with no I/O and no clock of its own: every call passes the time.
///
/// The relay is energised while the fire alarm is active, while a held mode applies, or while a
/// pulse (grant, REX, remote) runs. A pulse ends at its deadline, at `maxEnergised` after the run of
/// pulses began, or, with a door position switch, as soon as the door has opened and closed again.
/// A run stopped by `maxEnergised` is followed by a locked gap of one pulse length, during which
/// further unlocks are refused (`relay_cooldown`), so no flood of unlocks can hold the relay.
public struct DoorStateMachine: Sendable {
    public let timing: DoorTiming
    /// Whether a door position switch (DPS) is fitted.
    public let hasPositionSwitch: Bool
    /// Whether a REX press unlocks; otherwise it only excuses the door opening.
    public let rexUnlocks: Bool

    public private(set) var mode: DoorOperatingMode = .normal
    public private(set) var relayEnergised = false
    public private(set) var doorOpen = false
    public private(set) var raisedAlarms: Set<DoorAlarm> = []

    private var pulseUntil: Duration?
    private var pulseRunStarted: Duration?
    /// After a run of pulses hit the maximum, no new pulse before this time.
    private var cooldownUntil: Duration?
    private var shuntUntil: Duration?
    private var validOpenAt: Duration?
    private var fireAlarm = false
    private var scheduleActive = false
    private var firstPersonArrived = false

    public init(timing: DoorTiming = DoorTiming(), hasPositionSwitch: Bool, rexUnlocks: Bool = true) {
        self.timing = timing
        self.hasPositionSwitch = hasPositionSwitch
        self.rexUnlocks = rexUnlocks
    }

    /// Sets the door position found at start-up, without events or alarms. A door found open is
    /// treated as a valid entry at `now`, so that the held-open alarm still follows.
    public mutating func assumeDoorOpen(_ open: Bool, at now: Duration) {
        doorOpen = open
        validOpenAt = open ? now : nil
    }

    /// The earliest time at which `tick` would change something, if any.
    public var nextDeadline: Duration? {
        var deadlines = [pulseUntil, shuntUntil, cooldownUntil].compactMap { $0 }
        if let validOpenAt, !raisedAlarms.contains(.heldOpen), !heldByMode {
            deadlines.append(validOpenAt + timing.heldOpenAfter)
        }
        return deadlines.min()
    }

    private var heldByMode: Bool {
        switch mode {
        case .unlocked: return true
        case .unlockedBySchedule: return scheduleActive
        case .firstPersonIn: return scheduleActive && firstPersonArrived
        case .normal, .lockdown: return false
        }
    }

    /// Applies `stimulus` at monotonic time `now` and returns what happened, in order.
    public mutating func handle(_ stimulus: DoorStimulus, at now: Duration) -> [DoorEvent] {
        var events: [DoorEvent] = []
        var lockCause = LockCause.released
        var unlockCause = UnlockCause.held

        func raise(_ alarm: DoorAlarm, _ on: Bool) {
            if on ? raisedAlarms.insert(alarm).inserted : raisedAlarms.remove(alarm) != nil {
                events.append(.alarm(alarm, raised: on))
            }
        }
        func startPulse(_ cause: UnlockCause, for length: Duration) {
            // A flood of unlocks (a stuck button, a runaway upstream) gets a locked gap, not a held relay.
            if let cooldownUntil, now < cooldownUntil {
                events.append(.grantRefused("relay_cooldown"))
                return
            }
            let run = pulseRunStarted ?? now
            pulseRunStarted = run
            // A short pulse inside a longer one (a grant during a remote unlock) does not cut it short.
            pulseUntil = min(max(pulseUntil ?? now, now + length), run + timing.maxEnergised)
            unlockCause = cause
        }
        func endPulse(_ cause: LockCause) {
            pulseUntil = nil
            pulseRunStarted = nil
            lockCause = cause
        }

        switch stimulus {
        case .grant:
            if mode == .lockdown {
                events.append(.grantRefused("lockdown"))
            } else {
                if mode == .firstPersonIn && scheduleActive { firstPersonArrived = true }
                startPulse(.grant, for: timing.pulse)
            }
        case .remoteUnlock(let seconds):
            if mode == .lockdown {
                events.append(.grantRefused("lockdown"))
            } else {
                // The cap is the door's maximum anyway; 300 s only keeps the conversion in range.
                let usable = seconds.isFinite && seconds > 0
                startPulse(.remote, for: usable ? .milliseconds(Int64(min(seconds, 300) * 1000)) : timing.pulse)
            }
        case .rex(let pressed):
            guard pressed else { break }
            events.append(.rexPressed(unlocks: rexUnlocks))
            if rexUnlocks { startPulse(.rex, for: timing.pulse) } else { shuntUntil = now + timing.rexShunt }
        case .doorPosition(let open):
            guard open != doorOpen else { break }
            doorOpen = open
            events.append(open ? .opened : .closed)
            if open {
                let excused = relayEnergised || (shuntUntil.map { now < $0 } ?? false)
                if excused { validOpenAt = now } else { raise(.forcedOpen, true) }
            } else {
                validOpenAt = nil
                raise(.heldOpen, false)
                raise(.forcedOpen, false)
                // The person is through: relock now rather than at the end of the pulse.
                if pulseUntil != nil && hasPositionSwitch { endPulse(.doorClosed) }
            }
        case .tamper(let active):
            raise(.tamper, active)
        case .fireAlarm(let active):
            fireAlarm = active
            unlockCause = .fireAlarm
            raise(.fireAlarm, active)
        case .mode(let newMode):
            guard newMode != mode else { break }
            mode = newMode
            // A first person counts for the mode it arrived in: a lockdown in between ends it.
            firstPersonArrived = false
            events.append(.modeChanged(newMode))
            if newMode == .lockdown && pulseUntil != nil { endPulse(.lockdown) }
            if newMode == .lockdown { lockCause = .lockdown }
        case .schedule(let active):
            scheduleActive = active
            if !active { firstPersonArrived = false }
        case .tick:
            break
        }

        // Deadlines, whatever the stimulus.
        if let until = pulseUntil, now >= until {
            let capped = pulseRunStarted.map { now >= $0 + timing.maxEnergised } ?? false
            endPulse(capped ? .maximumReached : .pulseEnded)
            if capped { cooldownUntil = now + timing.pulse }
        }
        if let until = shuntUntil, now >= until { shuntUntil = nil }
        if let until = cooldownUntil, now >= until { cooldownUntil = nil }
        if let openedAt = validOpenAt, doorOpen, !heldByMode, now >= openedAt + timing.heldOpenAfter {
            raise(.heldOpen, true)
        }

        let energised = fireAlarm || heldByMode || pulseUntil != nil
        if energised != relayEnergised {
            relayEnergised = energised
            if energised {
                events.append(.unlocked(fireAlarm ? .fireAlarm : pulseUntil != nil ? unlockCause : .held))
            } else {
                events.append(.locked(lockCause))
            }
        }
        return events
    }
}
