import FoundationEssentials

/// How one run of a ``CommandRunner`` ended: the exit status or signal, why it ended, and when.
public struct CommandRunResult: Sendable, Hashable {
    /// What the kernel reported for the child process.
    public enum Termination: Sendable, Hashable, CustomStringConvertible {
        /// The process exited with this status.
        case exited(Int32)
        /// The process was killed by this signal number.
        case signaled(Int32)

        /// `exit 3` or `signal 9`.
        public var description: String {
            switch self {
            case .exited(let code): "exit \(code)"
            case .signaled(let signal): "signal \(signal)"
            }
        }
    }

    /// Why the run ended, as an extensible set of reasons.
    public struct Reason: Hashable, Sendable, CustomStringConvertible {
        /// The reason's stable name.
        public let name: String

        /// The command ended on its own.
        public static let completed = Reason(name: "completed")
        /// The run outlived its timeout and was stopped.
        public static let timedOut = Reason(name: "timedOut")
        /// ``RunningCommand/stop()`` was called.
        public static let stopped = Reason(name: "stopped")
        /// The task running the command was cancelled.
        public static let cancelled = Reason(name: "cancelled")

        /// The reason's name.
        public var description: String { name }
    }

    /// The child's process ID (it is gone by now).
    public var pid: Int32
    /// The child's process group (and session) ID, equal to `pid`.
    public var processGroupID: Int32
    /// The wall-clock time the child was spawned.
    public var startedAt: Date
    /// From spawn to the child's exit.
    public var duration: Duration

    /// ``duration`` in whole milliseconds.
    public var durationMilliseconds: Int {
        Int(duration.components.seconds * 1_000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }
    /// Exit status or terminating signal.
    public var termination: Termination
    /// Why the run ended.
    public var reason: Reason
    /// True when members of the process group were still there after the final SIGKILL and the reap deadline:
    /// processes this supervisor cannot reap (adopted by init because it is not a child subreaper).
    public var processGroupOutlivedRun: Bool

    /// Makes a result.
    public init(
        pid: Int32,
        processGroupID: Int32,
        startedAt: Date,
        duration: Duration,
        termination: Termination,
        reason: Reason,
        processGroupOutlivedRun: Bool = false
    ) {
        self.pid = pid
        self.processGroupID = processGroupID
        self.startedAt = startedAt
        self.duration = duration
        self.termination = termination
        self.reason = reason
        self.processGroupOutlivedRun = processGroupOutlivedRun
    }

    /// The exit status, when the child exited rather than being killed by a signal.
    public var exitCode: Int32? {
        if case .exited(let code) = termination { return code }
        return nil
    }

    /// The terminating signal number, when a signal ended the child.
    public var signal: Int32? {
        if case .signaled(let signal) = termination { return signal }
        return nil
    }

    /// True when the run hit its timeout.
    public var timedOut: Bool { reason == .timedOut }

    /// True when the command ended on its own with status 0.
    public var succeeded: Bool { reason == .completed && termination == .exited(0) }
}
