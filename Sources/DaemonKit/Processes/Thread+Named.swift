import CSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Threads of the supervisor's own (the spawn threads, the output monitor, the watchers), named in the kernel, as
/// `ps -L`, `top -H` and `/proc/PID/task/*/comm` show them. Plain POSIX threads: Foundation's `Thread` would bring
/// the whole of Foundation for this, and its `name` does not reach the kernel on Linux.
public enum NamedThread {
    /// The closure a new thread runs, and the name it takes first.
    private final class Start {
        let name: String
        let body: @Sendable () -> Void

        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// Starts `body` on a new, detached thread named `name` (15 bytes at most).
    public static func start(named name: String, _ body: @escaping @Sendable () -> Void) {
        let start = Unmanaged.passRetained(Start(name: name, body: body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(
            &thread,
            nil,
            { argument in
                guard let argument else { return nil }
                let start = Unmanaged<Start>.fromOpaque(argument).takeRetainedValue()
                NamedThread.nameCurrentThread(start.name)
                start.body()
                return nil
            },
            start
        )
        precondition(result == 0, "cannot start thread \(name): error \(result)")
        pthread_detach(thread)
    }

    /// Names the calling thread in the kernel (the first 15 bytes of `name`).
    static func nameCurrentThread(_ name: String) {
        _ = csupport_set_thread_name(name)
    }
}
