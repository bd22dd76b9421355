/// Decides what happens when a daemon service exits: restart after a backoff, stay stopped, or give up and
/// park the daemon as failed.
///
/// A value with no clock of its own: the supervisor passes the current instant into every event, so tests
/// drive time by hand.
///
/// - The backoff starts at `initialBackoff` and doubles after each restart up to `maxBackoff`; it goes back to
///   `initialBackoff` when the service exits after having been up for at least `maxBackoff`.
/// - `never` restarts nothing: a clean exit leaves the daemon stopped, a failed one parks it as failed (as
///   systemd marks a unit that failed without `Restart=`).
/// - `onFailure` restarts failed exits only; a clean exit leaves the daemon stopped.
/// - `always` restarts every exit. Like supervisord, a clean exit counts toward the burst limit only when it
///   is quick (up less than `maxBackoff`), so a service that finishes its work and is restarted now and then
///   is never parked; a clean exit that is quick also grows the backoff, so a command that exits at once is not
///   restarted in a tight loop.
/// - `burst` counted exits within a sliding `window` park the daemon as failed: a start, a restart or a reload that
///   changes it launches the service again with a new machine.
public struct RestartStateMachine: Sendable {
    /// What the supervisor does after an exit.
    public enum Action: Hashable, Sendable {
        /// Start the service again after this delay.
        case restart(after: Duration)
        /// Leave the service stopped; the exit does not call for a restart.
        case stayStopped
        /// Park the daemon as `failed` until a start, a reload that changes it, or `orchestrate restart`.
        case giveUp(reason: String)
    }

    /// Where the service is, as `status` shows it.
    public enum State: Hashable, Sendable {
        /// Not running and not going to restart by itself.
        case stopped
        /// Up since `lastStart`.
        case running
        /// Waiting to restart at `until`.
        case backoff(until: ContinuousClock.Instant)
        /// Given up; this machine restarts nothing any more.
        case failed(reason: String)
    }

    /// The policy the machine was made with.
    public let policy: RestartPolicy
    /// Where the service is.
    public private(set) var state: State = .stopped
    /// Restarts decided so far.
    public private(set) var restarts = 0
    /// The delay the next restart waits (before any reset for a healthy stretch, which is applied at the exit).
    public private(set) var currentBackoff: Duration
    /// When the service last started.
    public private(set) var lastStart: ContinuousClock.Instant?

    /// The instants of the exits that count toward the burst limit, oldest first, within the window.
    private var counted: [ContinuousClock.Instant] = []

    /// Makes a machine for a service that has not started.
    public init(policy: RestartPolicy) {
        self.policy = policy
        self.currentBackoff = policy.initialBackoff
    }

    /// Records that the service started at `now`.
    public mutating func started(at now: ContinuousClock.Instant) {
        state = .running
        lastStart = now
    }

    /// Records that the supervisor is stopping the service on purpose, so that the exit that follows is not
    /// restarted or counted.
    public mutating func stopRequested() {
        if case .failed = state { return }
        state = .stopped
    }

    /// Decides what follows the service exiting at `now`, cleanly or with a failure (non-zero status, a
    /// signal, a watcher that cannot watch, a server that cannot bind).
    ///
    /// An exit while the service is not running (after `stopRequested()`, or a duplicate report) changes
    /// nothing and returns `.stayStopped`, or `.giveUp` again when the daemon is parked.
    public mutating func exited(at now: ContinuousClock.Instant, failed: Bool) -> Action {
        switch state {
        case .running:
            break
        case .failed(let reason):
            return .giveUp(reason: reason)
        case .stopped, .backoff:
            return .stayStopped
        }

        let uptime = lastStart.map { now - $0 } ?? .zero
        let healthy = uptime >= policy.maxBackoff
        if healthy {
            currentBackoff = policy.initialBackoff
        }

        switch policy.mode {
        case .never:
            return failed ? park(reason: "exited with a failure and the restart policy is never") : stop()
        case .onFailure where !failed:
            return stop()
        default:
            break
        }

        // Failures always count; a clean exit (only restarted under `always`) counts when it was quick.
        if failed || !healthy {
            let window = policy.window
            counted.append(now)
            counted.removeAll { now - $0 >= window }
            if counted.count >= max(1, policy.burst) {
                return park(reason: "\(counted.count) exits within \(policy.window.shortText)")
            }
        }

        let delay = currentBackoff
        currentBackoff = min(currentBackoff * 2, policy.maxBackoff)
        restarts += 1
        state = .backoff(until: now + delay)
        return .restart(after: delay)
    }

    private mutating func stop() -> Action {
        state = .stopped
        return .stayStopped
    }

    private mutating func park(reason: String) -> Action {
        state = .failed(reason: reason)
        return .giveUp(reason: reason)
    }
}
