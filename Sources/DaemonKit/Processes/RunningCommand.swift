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
    /// The signal the kernel sends the child if the supervisor dies, or nil when the runner arms none (see
    /// ``ParentDeathSignal``).
    public let parentDeathSignal: Signal?

    private let stopRequests: AsyncStream<Void>.Continuation

    init(
        pid: Int32,
        startedAt: Date,
        parentDeathSignal: Signal?,
        stopRequests: AsyncStream<Void>.Continuation
    ) {
        self.pid = pid
        self.processGroupID = pid
        self.startedAt = startedAt
        self.parentDeathSignal = parentDeathSignal
        self.stopRequests = stopRequests
    }

    /// Asks the run to stop: the stop signal goes to the whole process group, SIGKILL follows after the stop
    /// timeout. Returns at once; the run's result says `.stopped`. Does nothing once the run has ended.
    public func stop() {
        stopRequests.yield()
    }
}
