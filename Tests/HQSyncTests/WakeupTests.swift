import TestSupport
import Testing

@testable import HQSync

/// The snapshot loop's pause: a resync request ends it at once, whether it comes during the pause
/// or before it, and cancellation ends it too. Bounds are generous: only "long before the pause's
/// own end" is asserted, never how soon.
@Suite struct WakeupTests {
    static let long = Duration.seconds(120)

    @Test func aSignalDuringThePauseEndsIt() async {
        let (signalled, took) = await offThePool {
            let wakeup = Wakeup()
            let started = ContinuousClock.now
            async let signalled = wakeup.pause(for: Self.long)
            try? await Task.sleep(for: .milliseconds(100))
            wakeup.signal()
            return (await signalled, ContinuousClock.now - started)
        }
        #expect(signalled)
        #expect(took < .seconds(60))
    }

    @Test func aSignalBeforeThePauseIsKeptForIt() async {
        let (signalled, took) = await offThePool {
            let wakeup = Wakeup()
            wakeup.signal()
            let started = ContinuousClock.now
            return (await wakeup.pause(for: Self.long), ContinuousClock.now - started)
        }
        #expect(signalled)
        #expect(took < .seconds(60))
    }

    @Test func aSignalIsTakenOnce() async {
        let wakeup = Wakeup()
        wakeup.signal()
        #expect(await wakeup.pause(for: Self.long))
        #expect(await wakeup.pause(for: .milliseconds(50)) == false)
    }

    @Test func withoutASignalThePauseRunsItsLength() async {
        let wakeup = Wakeup()
        let started = ContinuousClock.now
        #expect(await wakeup.pause(for: .milliseconds(200)) == false)
        #expect(ContinuousClock.now - started >= .milliseconds(200))
    }

    @Test func cancellationEndsThePause() async {
        let (signalled, took) = await offThePool {
            let wakeup = Wakeup()
            let started = ContinuousClock.now
            // An unstructured task does not inherit the executor preference: it is given its own.
            let task = Task(executorPreference: DispatchTaskExecutor()) { await wakeup.pause(for: Self.long) }
            try? await Task.sleep(for: .milliseconds(100))
            task.cancel()
            return (await task.value, ContinuousClock.now - started)
        }
        #expect(signalled == false)
        #expect(took < .seconds(60))
    }
}
