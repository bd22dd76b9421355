import FoundationEssentials

/// A command that has been spawned and has not been reaped yet, handed to the `onStart` callback of
/// ``CommandRunner/run(onStart:output:)`` so the supervisor can record its process IDs and stop it.
public struct RunningCommand: Sendable {
    /// The child's process ID.
    public let pid: Int32
    /// The child's process group ID: the child leads a new session and group, so this equals `pid`.
    public let processGroupID: Int32
    /// The wall-clock time of the spawn.
    public let startedAt: Date
    /// The spawn on the monotonic clock: what a run's lateness is measured to.
    public let startInstant: ContinuousClock.Instant
    /// The signal the kernel sends the child if the supervisor dies, or nil when the runner arms none (see
    /// ``ParentDeathSignal``).
    public let parentDeathSignal: Signal?

    private let limits: RunLimits

    init(
        pid: Int32,
        startedAt: Date,
        startInstant: ContinuousClock.Instant,
        parentDeathSignal: Signal?,
        limits: RunLimits
    ) {
        self.pid = pid
        self.processGroupID = pid
        self.startedAt = startedAt
        self.startInstant = startInstant
        self.parentDeathSignal = parentDeathSignal
        self.limits = limits
    }

    /// Asks the run to stop: the stop signal goes to the whole process group, SIGKILL follows after the stop
    /// timeout. Returns at once; the run's result says `.stopped`. Does nothing once the run has ended.
    public func stop() {
        limits.stop(because: .stopped)
    }
}
