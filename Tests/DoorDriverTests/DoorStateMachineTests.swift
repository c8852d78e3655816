import DoorDriver
import Testing

/// Seconds as monotonic time.
func t(_ seconds: Double) -> Duration { .milliseconds(Int64(seconds * 1000)) }

/// A machine and the events it reported, driven by a script of (time, stimulus).
struct Script {
    var machine: DoorStateMachine
    var events: [(Double, DoorEvent)] = []

    init(pulse: Double = 5, maxEnergised: Double = 30, heldOpen: Double = 30, dps: Bool = true, rexUnlocks: Bool = true)
    {
        machine = DoorStateMachine(
            timing: DoorTiming(
                pulse: t(pulse),
                maxEnergised: t(maxEnergised),
                heldOpenAfter: t(heldOpen),
                rexShunt: t(10)
            ),
            hasPositionSwitch: dps,
            rexUnlocks: rexUnlocks
        )
    }

    mutating func at(_ time: Double, _ stimulus: DoorStimulus) {
        for event in machine.handle(stimulus, at: t(time)) { events.append((time, event)) }
    }

    func times(of wanted: DoorEvent) -> [Double] { events.filter { $0.1 == wanted }.map(\.0) }
}

@Suite struct DoorStateMachineTests {
    @Test func aGrantPulsesForThePulseTime() {
        var s = Script(pulse: 5)
        s.at(0, .grant)
        #expect(s.machine.relayEnergised)
        #expect(s.machine.nextDeadline == t(5))
        s.at(4.9, .tick)
        #expect(s.machine.relayEnergised)
        s.at(5, .tick)
        #expect(!s.machine.relayEnergised)
        #expect(s.events.map(\.1) == [.unlocked(.grant), .locked(.pulseEnded)])
    }

    @Test func relocksAsSoonAsTheDoorHasOpenedAndClosed() {
        var s = Script(pulse: 5)
        s.at(0, .grant)
        s.at(1, .doorPosition(open: true))
        s.at(2, .doorPosition(open: false))
        #expect(!s.machine.relayEnergised)
        #expect(s.times(of: .locked(.doorClosed)) == [2])
        #expect(s.machine.raisedAlarms.isEmpty)
    }

    @Test func neverStaysEnergisedPastTheMaximum() {
        var s = Script(pulse: 5, maxEnergised: 12, dps: false)
        for second in stride(from: 0.0, through: 20, by: 4) { s.at(second, .grant) }
        s.at(20.5, .tick)
        #expect(s.times(of: .locked(.maximumReached)) == [12])
        // The cap ends the run with a locked gap of one pulse: the grant at 16 is refused.
        #expect(s.times(of: .grantRefused("relay_cooldown")) == [16])
        #expect(s.times(of: .unlocked(.grant)) == [0, 20])
    }

    @Test func raisesHeldOpenAfterAValidEntry() {
        var s = Script(pulse: 5, heldOpen: 30)
        s.at(0, .grant)
        s.at(1, .doorPosition(open: true))
        s.at(30.9, .tick)
        #expect(!s.machine.raisedAlarms.contains(.heldOpen))
        s.at(31, .tick)
        #expect(s.machine.raisedAlarms == [.heldOpen])
        s.at(40, .doorPosition(open: false))
        #expect(s.machine.raisedAlarms.isEmpty)
        #expect(s.events.map(\.1).contains(.alarm(.heldOpen, raised: false)))
    }

    @Test func raisesForcedOpenWhenLockedAndUnexcused() {
        var s = Script()
        s.at(0, .doorPosition(open: true))
        #expect(s.machine.raisedAlarms == [.forcedOpen])
        s.at(1, .doorPosition(open: false))
        #expect(s.machine.raisedAlarms.isEmpty)
    }

    @Test func rexUnlocksWhenConfigured() {
        var s = Script(rexUnlocks: true)
        s.at(0, .rex(pressed: true))
        #expect(s.machine.relayEnergised)
        #expect(s.events.map(\.1) == [.rexPressed(unlocks: true), .unlocked(.rex)])
    }

    @Test func rexOnlyShuntsTheForcedOpenAlarmOtherwise() {
        var s = Script(rexUnlocks: false)
        s.at(0, .rex(pressed: true))
        #expect(!s.machine.relayEnergised)
        s.at(2, .doorPosition(open: true))
        #expect(s.machine.raisedAlarms.isEmpty)
        s.at(3, .doorPosition(open: false))
        // After the shunt window an opening is forced again.
        s.at(20, .doorPosition(open: true))
        #expect(s.machine.raisedAlarms == [.forcedOpen])
    }

    @Test func lockdownRefusesGrantsButNotREX() {
        var s = Script()
        s.at(0, .grant)
        s.at(1, .mode(.lockdown))
        #expect(!s.machine.relayEnergised)
        #expect(s.times(of: .locked(.lockdown)) == [1])
        s.at(2, .grant)
        #expect(!s.machine.relayEnergised)
        #expect(s.times(of: .grantRefused("lockdown")) == [2])
        s.at(3, .rex(pressed: true))
        #expect(s.machine.relayEnergised)
    }

    @Test func aRemoteUnlockHoldsForTheSecondsHQAsked() {
        var s = Script(pulse: 5, dps: false)
        s.at(0, .remoteUnlock(seconds: 12))
        s.at(11.9, .tick)
        #expect(s.machine.relayEnergised)
        s.at(12, .tick)
        #expect(s.events.map(\.1) == [.unlocked(.remote), .locked(.pulseEnded)])
        #expect(s.times(of: .locked(.pulseEnded)) == [12])
    }

    @Test func aRemoteUnlockStopsAtTheDoorsMaximum() {
        var s = Script(pulse: 5, maxEnergised: 8, dps: false)
        s.at(0, .remoteUnlock(seconds: 30))
        s.at(8, .tick)
        #expect(!s.machine.relayEnergised)
        #expect(s.times(of: .locked(.maximumReached)) == [8])
    }

    @Test func aGrantDuringARemoteUnlockDoesNotShortenIt() {
        var s = Script(pulse: 5, dps: false)
        s.at(0, .remoteUnlock(seconds: 20))
        s.at(2, .grant)
        s.at(7, .tick)
        #expect(s.machine.relayEnergised)
        s.at(20, .tick)
        #expect(s.times(of: .locked(.pulseEnded)) == [20])
    }

    @Test(arguments: [0, -3, Double.nan, Double.infinity])
    func aRemoteUnlockWithoutAUsableLengthPulsesForTheDoorsPulse(seconds: Double) {
        var s = Script(pulse: 5, dps: false)
        s.at(0, .remoteUnlock(seconds: seconds))
        s.at(5, .tick)
        #expect(s.events.map(\.1) == [.unlocked(.remote), .locked(.pulseEnded)])
        #expect(s.times(of: .locked(.pulseEnded)) == [5])
    }

    @Test func lockdownRefusesARemoteUnlock() {
        var s = Script()
        s.at(0, .mode(.lockdown))
        s.at(1, .remoteUnlock(seconds: 10))
        #expect(!s.machine.relayEnergised)
        #expect(s.times(of: .grantRefused("lockdown")) == [1])
    }

    @Test func theFireAlarmReleasesTheDoorEvenInLockdown() {
        var s = Script()
        s.at(0, .mode(.lockdown))
        s.at(1, .fireAlarm(active: true))
        #expect(s.machine.relayEnergised)
        #expect(s.times(of: .unlocked(.fireAlarm)) == [1])
        s.at(100, .tick)
        #expect(s.machine.relayEnergised)
        s.at(101, .fireAlarm(active: false))
        #expect(!s.machine.relayEnergised)
        #expect(s.times(of: .alarm(.fireAlarm, raised: false)) == [101])
    }

    @Test func unlockedByScheduleHoldsTheRelayWhileTheScheduleRuns() {
        var s = Script()
        s.at(0, .mode(.unlockedBySchedule))
        #expect(!s.machine.relayEnergised)
        s.at(1, .schedule(active: true))
        #expect(s.machine.relayEnergised)
        s.at(1000, .doorPosition(open: true))
        s.at(2000, .tick)
        #expect(s.machine.raisedAlarms.isEmpty)
        s.at(3000, .schedule(active: false))
        #expect(!s.machine.relayEnergised)
    }

    @Test func firstPersonInWaitsForTheDaysFirstGrant() {
        var s = Script(pulse: 5)
        s.at(0, .mode(.firstPersonIn))
        s.at(1, .schedule(active: true))
        #expect(!s.machine.relayEnergised)
        s.at(10, .grant)
        s.at(100, .tick)
        #expect(s.machine.relayEnergised)
        s.at(200, .schedule(active: false))
        #expect(!s.machine.relayEnergised)
        // The next day's schedule waits for a grant again.
        s.at(300, .schedule(active: true))
        #expect(!s.machine.relayEnergised)
    }

    /// A lockdown in the middle of a first-person-in window ends it: after the lockdown is lifted,
    /// the window waits for a new first grant.
    @Test func aLockdownEndsTheFirstPersonsWindow() {
        var s = Script(pulse: 5)
        s.at(0, .mode(.firstPersonIn))
        s.at(1, .schedule(active: true))
        s.at(10, .grant)
        s.at(100, .tick)
        #expect(s.machine.relayEnergised)
        s.at(200, .mode(.lockdown))
        #expect(!s.machine.relayEnergised)
        s.at(300, .mode(.firstPersonIn))
        s.at(301, .schedule(active: true))
        #expect(!s.machine.relayEnergised)
    }

    @Test func tamperIsAnAlarm() {
        var s = Script()
        s.at(0, .tamper(active: true))
        s.at(5, .tamper(active: false))
        #expect(s.events.map(\.1) == [.alarm(.tamper, raised: true), .alarm(.tamper, raised: false)])
    }
}

@Suite struct DebouncerTests {
    @Test func aBouncingContactYieldsOneTransition() {
        var d = Debouncer(interval: t(0.02), level: false)
        for (time, level) in [(0.000, true), (0.003, false), (0.006, true), (0.009, false), (0.012, true)] {
            d.observe(level, at: t(time))
            #expect(d.settle(at: t(time)) == nil)
        }
        #expect(d.settle(at: t(0.031)) == nil)
        #expect(d.settle(at: t(0.032)) == true)
        #expect(d.level)
    }

    @Test func aGlitchShorterThanTheIntervalIsIgnored() {
        var d = Debouncer(interval: t(0.02), level: false)
        d.observe(true, at: t(0))
        d.observe(false, at: t(0.005))
        #expect(d.settle(at: t(1)) == nil)
        #expect(!d.level)
    }
}
