import Dispatch

// On a 2-core machine Swift's cooperative pool has two threads, and tests that start a process and
// wait for it hold one each, sometimes for a minute. A test that times async work (a cancellation,
// a deadline, a clock agreement with HQ, a daemon's log line before its frames run out) runs that
// work here instead, so that it times the work, not the pool.

/// Runs async work on threads of its own (GCD's) rather than the cooperative pool. Child tasks
/// inherit the preference (`Task(executorPreference:)`); unstructured tasks do not.
public final class DispatchTaskExecutor: TaskExecutor {
    let queue = DispatchQueue(label: "test-loops", attributes: .concurrent)

    public init() {}

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }
}

/// Runs a test's async body on ``DispatchTaskExecutor``. Task-local values, and with them the
/// running test that `#expect` records into, carry over.
public func offThePool<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await Task(executorPreference: DispatchTaskExecutor()) { try await body() }.value
}

/// ``offThePool(_:)`` for a body that cannot throw.
public func offThePool<T: Sendable>(_ body: @escaping @Sendable () async -> T) async -> T {
    await Task(executorPreference: DispatchTaskExecutor()) { await body() }.value
}

/// Runs blocking work (starting and waiting on processes) on a Dispatch thread, off the cooperative
/// pool, so that it holds none of the pool's threads from the tests running beside it.
/// (No `#expect` inside: issues are recorded from the test's own task.)
public func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
    }
}
