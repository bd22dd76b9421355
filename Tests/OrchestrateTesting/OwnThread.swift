import Foundation
import Testing

/// A trait that runs each test on a thread of its own instead of the cooperative pool.
///
/// Every test of the process shares the cooperative pool: one thread per core, two on a 2-core machine. The code
/// under test needs it too (its actors, its tasks, the resumption of a `Task.sleep`). A test that does seconds of
/// synchronous work on the pool (writing 10,000 files, scanning a large tree, checking a year of cron minutes)
/// holds one of those threads all that time. A few of them at once, under a sanitizer or on a loaded machine,
/// starved the pool for more than the 10 s that the waiting tests allow, and those failed together.
///
/// With this trait, the test body runs on a dedicated thread (a task executor preference), which the kernel
/// schedules beside the pool's threads instead of in their place. Put it on suites and tests that burn CPU or
/// block; the issues they record are the test's as usual.
public struct OwnThreadTrait: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func provideScope(
        for test: Test,
        testCase: Test.Case?,
        performing function: @Sendable () async throws -> Void
    ) async throws {
        // The suite itself only groups its tests; each test case gets its own thread.
        guard testCase != nil else { return try await function() }
        let executor = ThreadExecutor()
        defer { executor.finish() }
        try await withTaskExecutorPreference(executor) { try await function() }
    }
}

extension Trait where Self == OwnThreadTrait {
    /// Runs each test on a thread of its own: see ``OwnThreadTrait``.
    public static var ownThread: Self { Self() }
}

/// A task executor with one thread, which runs its jobs in order until ``finish()``.
///
/// A job can still arrive after the test: a default actor that the test called runs on the test's executor, and
/// another task may make it runnable later. Such a job goes to the global executor rather than to a thread that
/// has ended, where it would wait for ever (and with it everything that awaits that actor).
final class ThreadExecutor: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var jobs: [UnownedJob] = []
    private var finished = false

    init() {
        let thread = Thread { [self] in run() }
        thread.name = "test-thread"
        thread.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        if finished {
            condition.unlock()
            globalConcurrentExecutor.enqueue(job)
            return
        }
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Ends the thread once the jobs already enqueued have run; later ones go to the global executor.
    func finish() {
        condition.lock()
        finished = true
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while jobs.isEmpty && !finished { condition.wait() }
            if jobs.isEmpty {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
