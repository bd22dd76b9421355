import FoundationEssentials
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The thread behind a file watcher: it waits with `poll` on the source's descriptor and on an `eventfd`
/// that wakes it for shutdown, reads raw changes, runs them through a ``Debouncer`` on the real clock, and
/// yields the settled batches to an `AsyncThrowingStream`.
///
/// A dedicated thread, as swift-subprocess's `AsyncIO+Linux` runs its epoll loop, rather than a task: the
/// reads are blocking-style system calls, and the thread sleeps in the kernel until something happens, so
/// an idle watcher costs no wake-ups. `poll`'s timeout is the debouncer's or the polling source's next
/// deadline, rounded up to the millisecond.
final class WatchMonitor: Sendable {
    /// The debounced output.
    let batches: AsyncThrowingStream<FileChangeBatch, any Error>

    private enum State {
        case running(pthread_t, SourceBox)
        case stopped
    }

    private let continuation: AsyncThrowingStream<FileChangeBatch, any Error>.Continuation
    private let wakeDescriptor: Int32
    private let state: Mutex<State>

    /// Starts the thread over `source`, which it now owns; on failure the source is closed.
    init(source: any ChangeSource, debouncing: Debouncer.Configuration) throws(DaemonKitError) {
        let wake = EventDescriptor.make()
        guard wake >= 0 else {
            let code = errno
            source.close()
            throw DaemonKitError(
                code: .watchFailed,
                message: "cannot create the watcher's wake-up descriptor: \(DaemonKitError.describe(errno: code))",
                errno: code
            )
        }
        let (stream, continuation) = AsyncThrowingStream<FileChangeBatch, any Error>.makeStream()
        let box = SourceBox(source)
        let loop = MonitorLoop(
            source: box,
            wakeDescriptor: wake,
            debouncer: Debouncer(debouncing),
            continuation: continuation
        )
        var thread = pthread_t()
        let context = Unmanaged.passRetained(loop).toOpaque()
        let result = pthread_create(
            &thread,
            nil,
            { raw in
                let loop = Unmanaged<MonitorLoop>.fromOpaque(raw!).takeRetainedValue()
                NamedThread.nameCurrentThread("file-watch")
                loop.run()
                return nil
            },
            context
        )
        guard result == 0 else {
            Unmanaged<MonitorLoop>.fromOpaque(context).release()
            close(wake)
            source.close()
            throw DaemonKitError(
                code: .watchFailed,
                message: "cannot start the watcher's thread: \(DaemonKitError.describe(errno: result))",
                errno: result
            )
        }
        batches = stream
        self.continuation = continuation
        wakeDescriptor = wake
        state = Mutex(.running(thread, box))
    }

    /// Wakes and joins the thread, closes the descriptors and ends the stream; later calls do nothing.
    func stop() {
        let running = state.withLock { state -> (pthread_t, SourceBox)? in
            guard case .running(let thread, let box) = state else { return nil }
            state = .stopped
            return (thread, box)
        }
        guard let (thread, box) = running else { return }
        EventDescriptor.signal(wakeDescriptor)
        pthread_join(thread, nil)
        box.source.close()
        close(wakeDescriptor)
        continuation.finish()
    }

    deinit { stop() }
}

/// Carries the source to the monitor thread.
///
/// `@unchecked Sendable` is safe because the source moves with it: the creating thread stops touching the
/// source before `pthread_create`, the monitor thread is its only user while it runs, and ``WatchMonitor``
/// closes it only after `pthread_join`, which orders the two.
private final class SourceBox: @unchecked Sendable {
    let source: any ChangeSource

    init(_ source: any ChangeSource) {
        self.source = source
    }
}

/// The monitor thread's loop and everything only it touches.
private final class MonitorLoop {
    private let box: SourceBox
    private let wakeDescriptor: Int32
    private var debouncer: Debouncer
    private let continuation: AsyncThrowingStream<FileChangeBatch, any Error>.Continuation
    private let clock = ContinuousClock()

    init(
        source: SourceBox,
        wakeDescriptor: Int32,
        debouncer: Debouncer,
        continuation: AsyncThrowingStream<FileChangeBatch, any Error>.Continuation
    ) {
        box = source
        self.wakeDescriptor = wakeDescriptor
        self.debouncer = debouncer
        self.continuation = continuation
    }

    func run() {
        let source = box.source
        var descriptors = [
            pollfd(fd: wakeDescriptor, events: Int16(POLLIN), revents: 0),
            // poll skips negative descriptors, so a source without one simply never wakes it.
            pollfd(fd: source.descriptor ?? -1, events: Int16(POLLIN), revents: 0),
        ]
        while true {
            let wakeAt = [debouncer.deadline, source.nextPoll].compactMap { $0 }.min()
            let timeout = wakeAt.map { Self.milliseconds(from: clock.now, to: $0) } ?? -1
            descriptors[0].revents = 0
            descriptors[1].revents = 0
            let ready = poll(&descriptors, 2, timeout)
            if ready < 0 {
                if errno == EINTR { continue }
                fail(DaemonKitError(code: .watchFailed, message: "the watcher cannot wait for events", errno: errno))
                return
            }
            if descriptors[0].revents != 0 { return }
            var changes = RawChanges()
            do throws(DaemonKitError) {
                let events = descriptors[1].revents
                if events & Int16(POLLERR | POLLNVAL) != 0 {
                    throw DaemonKitError(code: .watchFailed, message: "the watcher's inotify descriptor failed")
                }
                if events != 0 { try source.readReady(into: &changes) }
                if let next = source.nextPoll, clock.now >= next { try source.poll(at: clock.now, into: &changes) }
            } catch {
                take(changes)
                if let batch = debouncer.flush() { continuation.yield(batch) }
                fail(error)
                return
            }
            take(changes)
        }
    }

    /// Feeds one round's changes to the debouncer and yields a batch when one is due.
    private func take(_ changes: RawChanges) {
        let now = clock.now
        if changes.rescan { emit(debouncer.rescan(at: now)) }
        if !changes.paths.isEmpty { emit(debouncer.changed(changes.paths, at: now)) }
        emit(debouncer.deadlineReached(at: now))
    }

    private func emit(_ output: Debouncer.Output) {
        if let batch = output.batch { continuation.yield(batch) }
    }

    /// Ends the stream with `error`; the thread then returns and waits to be joined by ``WatchMonitor/stop()``.
    private func fail(_ error: DaemonKitError) {
        continuation.finish(throwing: error)
    }

    /// `poll`'s timeout for `deadline`: rounded up, so the loop never wakes before a deadline and spins.
    private static func milliseconds(from now: ContinuousClock.Instant, to deadline: ContinuousClock.Instant) -> Int32 {
        guard deadline > now else { return 0 }
        let (seconds, attoseconds) = (deadline - now).components
        let perMillisecond: Int64 = 1_000_000_000_000_000
        let milliseconds = seconds * 1000 + (attoseconds + perMillisecond - 1) / perMillisecond
        return Int32(clamping: milliseconds)
    }
}
