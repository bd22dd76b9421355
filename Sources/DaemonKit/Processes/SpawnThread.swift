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
///
/// A spawn may be due at an instant (``perform(at:_:)``): the threads then sleep until the earliest one, and every
/// thread wakes for it, so a run due at a known time is spawned by the thread that keeps the time, with no hop
/// through a timer queue or the task pool between its due time and its `execve`.
final class SpawnThread: Sendable {
    static let shared = SpawnThread(threads: max(2, ProcessInfo.processInfo.activeProcessorCount))

    /// A spawn: it spawns and returns what is left to do (hand the result over), or nil when it was called off.
    private typealias Job = @Sendable ([Int32]?) -> (@Sendable () -> Void)?

    /// A spawn due at an instant, with the number that finds it again if it is called off.
    private struct Timed {
        let id: UInt64
        let due: ContinuousClock.Instant
        let job: Job
    }

    /// The spawns waiting for a thread: those due now in order, then those due later by instant.
    private struct Queue {
        var now: [Job] = []
        var later: [Timed] = []
        var nextID: UInt64 = 0

        /// The job to run now, taken out of the queue, or the instant the earliest later job is due.
        mutating func take(at instant: ContinuousClock.Instant) -> (job: Job?, wake: ContinuousClock.Instant?) {
            if !now.isEmpty { return (now.removeFirst(), nil) }
            guard let first = later.first else { return (nil, nil) }
            guard first.due <= instant else { return (nil, first.due) }
            return (later.removeFirst().job, nil)
        }
    }

    /// How many spawns a thread makes in a row before it hands their results over.
    private static let batch = 128

    private let queue = Mutex(Queue())
    private let wake = DispatchSemaphore(value: 0)
    private let threads: Int

    private init(threads: Int) {
        self.threads = threads
        for index in 0..<threads {
            // Three descriptors this thread holds for a child's stdin, stdout and stderr while it spawns (see
            // `csupport_spawn`); reserved now, so they are low numbers when the threads are made early.
            var reserved: [Int32] = [-1, -1, -1]
            let slots = csupport_reserve_spawn_slots(&reserved) == 0 ? reserved : nil
            NamedThread.start(named: "spawn-\(index)") { [self] in
                // The results of spawns made back to back are handed over once the spawns due are made (or a batch
                // is): each wakes a task, and the tasks' work would take the CPU the next children need to exec.
                var spawned: [@Sendable () -> Void] = []
                while true {
                    let (job, due) = queue.withLock { $0.take(at: .now) }
                    if let job {
                        if let handOver = job(slots) { spawned.append(handOver) }
                        if spawned.count < Self.batch { continue }
                    }
                    for handOver in spawned { handOver() }
                    spawned.removeAll(keepingCapacity: true)
                    if job != nil {
                        continue
                    } else if let due {
                        // Woken at the instant, or earlier by a new job; either way the queue is looked at again.
                        let wait = ContinuousClock.now.duration(to: due)
                        _ = wake.wait(timeout: .now() + wait.dispatchInterval)
                    } else {
                        wake.wait()
                    }
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
            queue.withLock { queue in
                queue.now.append { slots in
                    let result = body(slots)
                    return { continuation.resume(returning: result) }
                }
            }
            wake.signal()
        }
    }

    /// Runs `body` on a spawn thread as soon as `start`'s instant has come, and returns its result; nil when the
    /// start was called off (``ScheduledStart/cancel()``, or the calling task cancelled) before then: `body` then
    /// never runs.
    func perform<Result: Sendable>(
        at start: ScheduledStart,
        _ body: @escaping @Sendable ([Int32]?) -> Result
    ) async -> Result? {
        let id = queue.withLock { queue -> UInt64 in
            queue.nextID += 1
            return queue.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result?, Never>) in
                let job: Job = { slots in
                    guard start.begin() else { return nil }
                    let result = body(slots)
                    return {
                        start.began()
                        continuation.resume(returning: result)
                    }
                }
                let withdraw = { @Sendable [self] in
                    queue.withLock { queue in queue.later.removeAll { $0.id == id } }
                    continuation.resume(returning: nil)
                }
                guard start.wait(withdraw) else {
                    continuation.resume(returning: nil)
                    return
                }
                queue.withLock { queue in
                    let index = queue.later.firstIndex { $0.due > start.due } ?? queue.later.endIndex
                    queue.later.insert(Timed(id: id, due: start.due, job: job), at: index)
                }
                // Every thread looks again: a burst due at this instant is spawned by all of them at once.
                for _ in 0..<threads { wake.signal() }
            }
        } onCancel: {
            _ = start.cancel()
        }
    }
}

/// A spawn due at an instant (``CommandRunner/run(at:onStart:output:errorOutput:)``), which its owner can call off
/// until a spawn thread begins it.
public final class ScheduledStart: Sendable {
    /// When the spawn is due.
    public let due: ContinuousClock.Instant
    /// Called on the spawn thread once the spawn is made, before its result is handed over.
    private let onBegin: @Sendable () -> Void
    private let state = Mutex(State.initial)

    private enum State {
        case initial
        /// Queued on the spawn threads; the closure takes it off the queue and ends the wait with nothing.
        case waiting(withdraw: @Sendable () -> Void)
        case begun
        case cancelled
    }

    /// A spawn due at `due`; `onBegin` runs on the spawn thread once the spawn is made, before its result is
    /// handed over to the task waiting for it.
    public init(due: ContinuousClock.Instant, onBegin: @escaping @Sendable () -> Void = {}) {
        self.due = due
        self.onBegin = onBegin
    }

    /// Calls the spawn off unless it has begun: true when it is called off (it never will begin), false when it
    /// has begun (or was called off before).
    public func cancel() -> Bool {
        let (cancelled, withdraw) = state.withLock { state -> (Bool, (@Sendable () -> Void)?) in
            switch state {
            case .initial:
                state = .cancelled
                return (true, nil)
            case .waiting(let withdraw):
                state = .cancelled
                return (true, withdraw)
            case .begun, .cancelled:
                return (false, nil)
            }
        }
        withdraw?()
        return cancelled
    }

    /// Whether a spawn thread has begun it (spawned, or tried to).
    var hasBegun: Bool {
        state.withLock { state in
            guard case .begun = state else { return false }
            return true
        }
    }

    /// Records how to withdraw the queued spawn; false when it was called off first.
    fileprivate func wait(_ withdraw: @escaping @Sendable () -> Void) -> Bool {
        state.withLock { state in
            guard case .initial = state else { return false }
            state = .waiting(withdraw: withdraw)
            return true
        }
    }

    /// Begins the spawn, on its thread; false when it was called off first.
    fileprivate func begin() -> Bool {
        state.withLock { state in
            guard case .waiting = state else { return false }
            state = .begun
            return true
        }
    }

    /// Says that the spawn was made, on its thread.
    fileprivate func began() { onBegin() }
}
