import CSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A Linux `eventfd`, used to wake a monitor thread out of `poll` or `epoll_wait` for shutdown.
enum EventDescriptor {
    /// A new non-blocking, close-on-exec eventfd, or -1 with `errno` set.
    static func make() -> Int32 { csupport_eventfd() }

    /// Makes `descriptor` readable.
    static func signal(_ descriptor: Int32) {
        var one: UInt64 = 1
        while write(descriptor, &one, MemoryLayout<UInt64>.size) < 0, errno == EINTR {}
    }
}
