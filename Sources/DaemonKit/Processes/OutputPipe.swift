import CSupport
import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One pipe that receives a child's stdout and stderr (both are the same write end, as with `2>&1`, so their
/// order is kept), read by the ``OutputMonitor`` thread, which hands each chunk to a sink.
///
/// The reader is independent of task cancellation on purpose: output written while a command is being stopped
/// still reaches the log. It ends at end-of-file, or when ``stopReading(after:)`` gives up waiting for it: a
/// process that left the command's group (setsid) can hold the write end open for ever.
final class OutputPipe: Sendable {
    let readEnd: Int32
    let writeEnd: Int32
    private let registration = Mutex<UInt64?>(nil)
    private let state = Mutex<(ended: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    /// Opens the pipe, both ends close-on-exec, the read end non-blocking.
    init() throws {
        var descriptors: [Int32] = [-1, -1]
        guard csupport_pipe_cloexec(&descriptors) == 0 else {
            throw DaemonKitError(code: .processControl, message: "cannot create a pipe", errno: errno)
        }
        readEnd = descriptors[0]
        writeEnd = descriptors[1]
        _ = fcntl(readEnd, F_SETFL, fcntl(readEnd, F_GETFL) | O_NONBLOCK)
    }

    /// Starts delivering chunks to `sink`, in order. From here on the monitor owns (and closes) the read end.
    func start(delivering sink: @escaping @Sendable (ArraySlice<UInt8>) -> Void) {
        let id = OutputMonitor.shared.register(readEnd, sink: sink) { [self] in
            let waiters = state.withLock { state in
                state.ended = true
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }
        registration.withLock { $0 = id }
    }

    /// Stops reading after `grace` unless end-of-file comes first: what is in the pipe then is still delivered,
    /// anything written later is lost (and its writer gets EPIPE).
    func stopReading(after grace: Duration) {
        guard let id = registration.withLock({ $0 }) else { return }
        if grace <= .zero {
            OutputMonitor.shared.close(id)
            return
        }
        DispatchQueue.timers.asyncAfter(deadline: .now() + grace.dispatchInterval) {
            OutputMonitor.shared.close(id)
        }
    }

    /// Returns once reading has ended.
    func finished() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ended = state.withLock { state in
                if !state.ended { state.waiters.append(continuation) }
                return state.ended
            }
            if ended { continuation.resume() }
        }
    }
}
