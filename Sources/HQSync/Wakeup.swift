import Synchronization

/// Ends a loop's pause early: `signal()` wakes the pause under way, or, when none is, the next
/// one at once (a signal is kept until a pause takes it). Used for HQ's `resync` command and
/// `gatewayctl sync now`, so that the snapshot loop sleeps without polling.
final class Wakeup: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    /// Wakes the pause under way, or keeps the signal for the next one.
    func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.pending = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Pauses for `duration`, or until signalled, or until the task is cancelled. Returns whether
    /// a signal ended it.
    @discardableResult
    func pause(for duration: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                try? await Task.sleep(for: duration)
                return false
            }
            group.addTask { await self.waitForSignal() }
            let signalled = await group.next() ?? false
            group.cancelAll()
            return signalled
        }
    }

    /// Returns true when signalled, false when the task is cancelled first.
    private func waitForSignal() async -> Bool {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                // Under the lock, so that a cancellation either sees the waiter or is seen here.
                let now = state.withLock { state -> Bool in
                    if state.pending || Task.isCancelled { return true }
                    state.waiter = continuation
                    return false
                }
                if now { continuation.resume() }
            }
            return state.withLock { state in
                let signalled = state.pending
                state.pending = false
                return signalled || !Task.isCancelled
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }
}
