import CSupport
import FoundationEssentials

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Waits for a spawned child to exit without a thread blocked or a timer running: the child's pidfd joins the
/// output monitor's `epoll` set, and the child is reaped once it is readable. (swift-subprocess, which this
/// replaces, woke every running child's task once a second while waiting: with 100 long-running processes, 100
/// wake-ups a second and 110 ms of CPU every 10 s for a supervisor with nothing to do.)
enum ProcessExit {
    /// Waits until child `pid` has exited, reaps it, and returns how it ended. Not cancellable: the caller stops
    /// the child instead, and this returns once it is gone.
    static func wait(for pid: Int32) async -> CommandRunResult.Termination {
        await withCheckedContinuation { continuation in
            let reap: @Sendable () -> Void = {
                var exited: Int32 = 0
                var status: Int32 = 0
                // -1 only if another waiter took the child, which nothing in this process does.
                guard csupport_wait_exit(pid, &exited, &status) == pid else {
                    return continuation.resume(returning: .exited(-1))
                }
                continuation.resume(returning: exited != 0 ? .exited(status) : .signaled(status))
            }
            let pidfd = csupport_pidfd_open(pid)
            if pidfd >= 0 {
                OutputMonitor.shared.watchExit(pidfd, onExit: reap)
            } else {
                // No pidfd (a kernel before 5.3): a thread of its own blocks in waitpid.
                NamedThread.start(named: "exit-wait") { reap() }
            }
        }
    }
}
