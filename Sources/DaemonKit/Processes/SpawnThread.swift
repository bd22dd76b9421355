import Dispatch
import Foundation
import Synchronization

/// The one thread every command is spawned from, for the life of the process.
///
/// A child's parent-death signal (``ParentDeathSignal``) fires when the *thread* that spawned it exits, not the
/// process. The cooperative pool's threads come and go (libdispatch retires idle workers), so a command spawned
/// from one would be killed some seconds later, when that thread retired. Spawning only from this thread, which
/// never exits, makes the signal fire exactly when the supervisor dies. It sleeps on a semaphore between spawns.
final class SpawnThread: Sendable {
    static let shared = SpawnThread()

    private let jobs = Mutex<[@Sendable () -> Void]>([])
    private let wake = DispatchSemaphore(value: 0)

    private init() {
        let thread = Thread { [self] in
            while true {
                wake.wait()
                let pending = jobs.withLock { jobs in
                    defer { jobs.removeAll() }
                    return jobs
                }
                for job in pending { job() }
            }
        }
        thread.name = "orchestrate-spawn"
        thread.start()
    }

    /// Runs `body` on the spawn thread and returns its result.
    func perform<Result: Sendable>(_ body: @escaping @Sendable () -> Result) async -> Result {
        await withCheckedContinuation { continuation in
            jobs.withLock { $0.append { continuation.resume(returning: body()) } }
            wake.signal()
        }
    }
}
