import CSupport
import FoundationEssentials
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One thread that waits on every command's output pipe, and on every command's exit (its pidfd), with `epoll`,
/// and hands what it reads to each pipe's sink: the pattern of swift-subprocess's `AsyncIO+Linux.swift`, one `eventfd` waking the thread for requests.
///
/// Not a `DispatchSource` per pipe: libdispatch on Linux can crash in `_dispatch_event_loop_drain` when read
/// sources on pipes are torn down while others are created (a use-after-free of its epoll bookkeeping,
/// swift-corelibs-libdispatch issue 949; it crashed this package's tests about one run in six). Here the pipe
/// descriptors are only ever closed on the monitor thread, after `EPOLL_CTL_DEL`, and epoll events carry a
/// registration number rather than the descriptor, so an event for a closed pipe whose number was reused is
/// recognised and dropped.
///
/// Sinks run on the monitor thread, one chunk at a time: they must be quick (append to a log), never block.
final class OutputMonitor: Sendable {
    static let shared = OutputMonitor()

    private struct Registration: Sendable {
        let descriptor: Int32
        let sink: @Sendable (ArraySlice<UInt8>) -> Void
        let onEnd: @Sendable () -> Void
        /// A process's pidfd rather than a pipe: readable once the process exits, never read.
        var watchesExit = false
    }

    private struct State {
        var registrations: [UInt64: Registration] = [:]
        var closeRequests: [UInt64] = []
        var nextID: UInt64 = 1  // 0 is the wake-up descriptor
    }

    private let state = Mutex(State())
    private let epoll: Int32
    private let wakeup: Int32

    private init() {
        epoll = csupport_epoll_create()
        wakeup = EventDescriptor.make()
        precondition(epoll >= 0 && wakeup >= 0, "cannot create the output monitor's epoll and eventfd: errno \(errno)")
        precondition(csupport_epoll_add(epoll, wakeup, 0) == 0, "epoll_ctl: errno \(errno)")
        NamedThread.start(named: "output-monitor") { [self] in self.loop() }
    }

    /// Starts reading the non-blocking `descriptor`, which the monitor now owns and will close. `onEnd` runs once,
    /// on the monitor thread, after end-of-file or ``close(_:)``, when no more chunks will come.
    func register(
        _ descriptor: Int32,
        sink: @escaping @Sendable (ArraySlice<UInt8>) -> Void,
        onEnd: @escaping @Sendable () -> Void
    ) -> UInt64 {
        let id = state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.registrations[id] = Registration(descriptor: descriptor, sink: sink, onEnd: onEnd)
            return id
        }
        if csupport_epoll_add(epoll, descriptor, id) != 0 {
            close(id)  // cannot watch it: end it on the monitor thread rather than leave the caller waiting
        }
        return id
    }

    /// Watches the pidfd `descriptor`, which the monitor now owns and will close: `onExit` runs once, on the
    /// monitor thread, when the process has exited (it has not been reaped yet).
    func watchExit(_ descriptor: Int32, onExit: @escaping @Sendable () -> Void) {
        let id = state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.registrations[id] = Registration(
                descriptor: descriptor,
                sink: { _ in },
                onEnd: onExit,
                watchesExit: true
            )
            return id
        }
        if csupport_epoll_add(epoll, descriptor, id) != 0 {
            // Cannot watch it: `onExit` waits for the exit itself, on a thread of its own, not this one.
            _ = state.withLock { $0.registrations.removeValue(forKey: id) }
            closeFileDescriptor(descriptor)
            NamedThread.start(named: "exit-wait") { onExit() }
        }
    }

    /// Reads what is already in the pipe, then closes it and ends the registration. Safe from any thread, and
    /// after the registration has ended.
    func close(_ id: UInt64) {
        state.withLock { $0.closeRequests.append(id) }
        EventDescriptor.signal(wakeup)
    }

    private func loop() {
        // The tokens live in memory of their own, allocated once: passing a Swift array `&tokens` to epoll_wait
        // here made a new copy on every wake-up that was never freed (544 bytes per wake-up, found with heaptrack:
        // 1.25 KiB per command run in all).
        let capacity = 64
        let tokens = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity)
        tokens.initialize(repeating: 0, count: capacity)
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = csupport_epoll_wait(epoll, tokens, Int32(capacity))
            if count < 0 {
                if errno == EINTR { continue }
                preconditionFailure("epoll_wait failed: errno \(errno)")
            }
            for id in UnsafeBufferPointer(start: tokens, count: Int(count)) {
                if id == 0 {
                    var value: UInt64 = 0
                    _ = withUnsafeMutableBytes(of: &value) { read(wakeup, $0.baseAddress, $0.count) }
                    let requests = state.withLock { state in
                        defer { state.closeRequests = [] }
                        return state.closeRequests
                    }
                    // Whatever is readable still goes to the sink; then the pipe ends, end-of-file or not.
                    for request in requests where drain(request, into: &buffer) { end(request) }
                } else {
                    _ = drain(id, into: &buffer)
                }
            }
        }
    }

    /// Reads until the pipe is empty, or 1 MiB at most so one chatty command cannot starve the others (epoll is
    /// level-triggered: the rest comes on the next turn). Returns true when it is still open; at end-of-file (or
    /// on a read error) ends the registration and returns false, as it does for one that has already ended.
    private func drain(_ id: UInt64, into buffer: inout [UInt8]) -> Bool {
        guard let registration = state.withLock({ $0.registrations[id] }) else { return false }
        if registration.watchesExit {
            end(id)
            return false
        }
        for _ in 0..<16 {
            let count = buffer.withUnsafeMutableBytes { read(registration.descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                registration.sink(buffer[0..<count])
            } else if count < 0 && errno == EINTR {
                continue
            } else if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                return true
            } else {
                end(id)
                return false
            }
        }
        return true
    }

    private func end(_ id: UInt64) {
        guard let registration = state.withLock({ $0.registrations.removeValue(forKey: id) }) else { return }
        _ = csupport_epoll_remove(epoll, registration.descriptor)
        closeFileDescriptor(registration.descriptor)
        registration.onEnd()
    }
}

/// `close(2)`, out of reach of ``OutputMonitor/close(_:)``.
private func closeFileDescriptor(_ descriptor: Int32) {
    _ = close(descriptor)
}
