import CSupport
import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A process group, addressed by its ID: what the supervisor signals to stop a command together with everything
/// it started, and what it records so that a later `up` can clean up after a supervisor that was SIGKILLed.
public struct ProcessGroup: Hashable, Sendable {
    /// The group ID (the PID of the process that created the group).
    public let id: Int32

    /// Names a group.
    public init(id: Int32) {
        precondition(id > 1, "a process group ID is a positive PID other than init's")
        self.id = id
    }

    /// Sends `signal` to every member. Returns false when the group has no members left (ESRCH).
    @discardableResult
    public func send(_ signal: Signal) -> Bool {
        send(signal.number)
    }

    /// True while the group has a member, a zombie included.
    public var exists: Bool {
        kill(-id, 0) == 0 || errno == EPERM
    }

    @discardableResult
    func send(_ signal: Int32) -> Bool {
        kill(-id, signal) == 0 || errno == EPERM
    }

    /// Reaps every member that is an exited child of this process: members adopted through the child subreaper.
    /// Cannot take another waiter's exit status: the group's leader (the only member this process spawned) must
    /// already have been reaped, and no other spawned child lives in this group.
    func reapExitedMembers() {
        while csupport_reap_group_member(id) > 0 {}
    }

    /// SIGKILLs the whole group, then reaps the members this process can reap until the group is empty or
    /// `deadline` has passed. Returns true when the group is gone.
    ///
    /// Polls with short, growing pauses: a SIGKILLed process dies within milliseconds, and most groups are
    /// already empty when this is called (the leader was reaped, nothing else was started), which costs one
    /// `kill`.
    func killAndReap(within deadline: Duration) async -> Bool {
        let clock = ContinuousClock()
        let end = clock.now.advanced(by: deadline)
        var pause = Duration.milliseconds(1)
        while true {
            guard send(SIGKILL) else { return true }
            reapExitedMembers()
            guard exists else { return true }
            if clock.now >= end { return false }
            await uncancellableSleep(for: pause)
            pause = min(pause * 2, .milliseconds(20))
        }
    }
}

/// Sleeps even when the calling task is cancelled: cleanup that must finish (stop, drain, reap) cannot let
/// a cancelled `Task.sleep` turn its pauses into a busy loop or skip its grace periods.
func uncancellableSleep(for duration: Duration) async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        DispatchQueue.timers.asyncAfter(deadline: .now() + duration.dispatchInterval) {
            continuation.resume()
        }
    }
}
