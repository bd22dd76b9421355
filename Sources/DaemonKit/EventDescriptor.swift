#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A Linux `eventfd`, used to wake a monitor thread out of `poll` for shutdown.
///
/// Glibc's Swift module does not import `<sys/eventfd.h>` (swift-subprocess includes it from a C shim), so
/// the function is looked up once in the C library already loaded into the process; it can move into a C
/// shim target once the package has one.
enum EventDescriptor {
    private typealias Function = @convention(c) (UInt32, Int32) -> Int32

    private static let function: Function? = {
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "eventfd") else { return nil }
        return unsafeBitCast(symbol, to: Function.self)
    }()

    /// A new non-blocking, close-on-exec eventfd, or -1 with `errno` set.
    static func make() -> Int32 {
        guard let function else {
            errno = ENOSYS
            return -1
        }
        // EFD_CLOEXEC and EFD_NONBLOCK are defined as O_CLOEXEC and O_NONBLOCK.
        return function(0, O_CLOEXEC | O_NONBLOCK)
    }

    /// Makes `descriptor` readable.
    static func signal(_ descriptor: Int32) {
        var one: UInt64 = 1
        while write(descriptor, &one, MemoryLayout<UInt64>.size) < 0, errno == EINTR {}
    }
}
