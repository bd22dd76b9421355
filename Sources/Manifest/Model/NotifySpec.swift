import DaemonKit

/// A daemon's hooks (`notify`): what is told, and to what, when it fails, recovers or restarts.
public struct NotifySpec: Hashable, Sendable {
    /// What a hook is run for.
    public enum Event: String, CaseIterable, Hashable, Sendable {
        /// A run of a periodic or watcher daemon exited non-zero, was killed, or timed out.
        case runFailed = "run_failed"
        /// A process daemon's program ended when nobody asked it to.
        case exited
        /// The daemon was parked as failed (its restart limit was reached).
        case failed
        /// The first success after failures: a run that succeeded, or a process up again.
        case recovered
        /// The restart policy started the daemon again.
        case restarted
    }

    /// The events that run the hooks (`[failed, recovered]` unless the manifest says).
    public var events: Set<Event>
    /// The command run for each event, if any.
    public var command: Command?
    /// The URL each event is posted to as JSON, if any.
    public var webhook: String?
    /// How long a hook's command may run before it is killed.
    public var timeout: Duration

    /// Makes hooks.
    public init(
        events: Set<Event> = [.failed, .recovered],
        command: Command? = nil,
        webhook: String? = nil,
        timeout: Duration = .seconds(30)
    ) {
        self.events = events
        self.command = command
        self.webhook = webhook
        self.timeout = timeout
    }
}
