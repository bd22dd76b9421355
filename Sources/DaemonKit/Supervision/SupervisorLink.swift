/// What a daemon may ask of the supervisor about the other daemons: the `rpc` kind's built-in methods reach the
/// supervisor through it (`daemons.trigger`), as the control API does.
public protocol SupervisorLink: Sendable {
    /// Asks daemon `name` to run now; with `wait`, answers once the run has ended.
    func trigger(_ name: String, wait: Bool) async -> TriggerReply
}

/// The answer to a trigger.
public enum TriggerReply: Sendable, Hashable {
    /// The run ended with this result (`wait`).
    case finished(CommandRunResult)
    /// The run was started (without `wait`).
    case accepted
    /// It will run after the run in progress.
    case queued
    /// Dropped: a run is in progress and the daemon's overlap policy skips.
    case skipped
    /// There is no daemon of that name (or it is disabled); the sentence says which.
    case unknown(String)
    /// The daemon cannot run now or is not of a kind that runs on trigger; the sentence says why.
    case refused(String)
}
