import CSupport
import Foundation

extension Thread {
    /// Starts `body` on a new thread named `name` (15 bytes at most), as `ps -L`, `top -H` and `/proc/PID/task/*/comm`
    /// show it. Foundation's `Thread.name` does not reach the kernel on Linux: the thread would keep the name of the
    /// thread that made it (often a Dispatch worker's, `com.apple.root.default-qos`).
    static func start(named name: String, _ body: @escaping @Sendable () -> Void) {
        Thread {
            nameCurrentThread(name)
            body()
        }
        .start()
    }

    /// Names the calling thread in the kernel (the first 15 bytes of `name`).
    static func nameCurrentThread(_ name: String) {
        _ = csupport_set_thread_name(name)
    }
}
