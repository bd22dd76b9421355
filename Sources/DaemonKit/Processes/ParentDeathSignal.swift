import CSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Makes a child die with the supervisor, even when the supervisor is SIGKILLed, by having the kernel send it a
/// signal (`PR_SET_PDEATHSIG`) when its parent goes.
///
/// The setting must be made in the child, after fork and before exec (fork clears it, exec keeps it), which
/// `posix_spawn` has no hook for: `csupport_spawn` forks with `vfork` and sets it in the child, then checks that
/// its parent is still the supervisor (if the supervisor died in between, no signal would ever come, so the child
/// kills itself), and execs the command.
///
/// The kernel sends the signal when the *thread* that forked the child exits, not the process. Every child is
/// spawned from dedicated threads that live until the process exits (``SpawnThread``), never from a
/// cooperative-pool thread (those retire when idle), so the signal fires exactly when the supervisor dies.
///
/// Limits: only the direct child gets the signal; its descendants in the same process group survive a
/// SIGKILLed supervisor (the supervisor records the group IDs and kills them on its next start). Executing a
/// set-user-ID or set-group-ID program, or one with file capabilities, clears the setting.
public struct ParentDeathSignal: Sendable, Hashable {
    /// The signal the child receives when the supervisor dies.
    public var signal: Signal

    /// Arms `signal`.
    public init(signal: Signal = .kill) {
        self.signal = signal
    }

    /// SIGKILL, what every command of the supervisor gets.
    public static let automatic = ParentDeathSignal()

    /// The parent-death signal armed in the calling process, or 0 when none is. For diagnostics and tests.
    public static func currentProcessSignal() -> Int32 {
        var number: Int32 = 0
        return csupport_get_parent_death_signal(&number) == 0 ? number : 0
    }
}
