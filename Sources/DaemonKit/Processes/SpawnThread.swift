import CSupport
import Dispatch
import FoundationEssentials
import Synchronization

/// The threads every command is spawned from, for the life of the process.
///
/// A child's parent-death signal (``ParentDeathSignal``) fires when the *thread* that spawned it exits, not the
/// process. The cooperative pool's threads come and go (libdispatch retires idle workers), so a command spawned
/// from one would be killed some seconds later, when that thread retired. Spawning only from these threads, which
/// never exit, makes the signal fire exactly when the supervisor dies. They sleep on a semaphore between spawns.
///
/// A spawn holds its thread until the child has exec'd (vfork), a few hundred microseconds, so there is one thread
/// per core (at least two): a hundred periodic daemons due at the same moment are spawned on every core at once
/// instead of one after another.
final class SpawnThread: Sendable {
    static let shared = SpawnThread(threads: max(2, ProcessInfo.processInfo.activeProcessorCount))

    private let jobs = Mutex<[@Sendable ([Int32]?) -> Void]>([])
    private let wake = DispatchSemaphore(value: 0)

    private init(threads: Int) {
        for index in 0..<threads {
            // Three descriptors this thread holds for a child's stdin, stdout and stderr while it spawns (see
            // `csupport_spawn`); reserved now, so they are low numbers when the threads are made early.
            var reserved: [Int32] = [-1, -1, -1]
            let slots = csupport_reserve_spawn_slots(&reserved) == 0 ? reserved : nil
            NamedThread.start(named: "spawn-\(index)") { [self] in
                while true {
                    wake.wait()
                    let job = jobs.withLock { $0.isEmpty ? nil : $0.removeFirst() }
                    job?(slots)
                }
            }
        }
    }

    /// Makes the threads now, with their slots, if they are not made yet: a supervisor does it before it opens
    /// its daemons' files, so that the slots are among its first descriptors.
    static func prepare() { _ = shared }

    /// Runs `body` on a spawn thread, with that thread's slots (nil if they could not be reserved), and returns its
    /// result.
    func perform<Result: Sendable>(_ body: @escaping @Sendable ([Int32]?) -> Result) async -> Result {
        await withCheckedContinuation { continuation in
            jobs.withLock { $0.append { slots in continuation.resume(returning: body(slots)) } }
            wake.signal()
        }
    }
}
