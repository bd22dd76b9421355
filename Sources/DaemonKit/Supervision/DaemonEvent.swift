import FoundationEssentials

/// Something that happened to one daemon, as its service or its supervisor reports it.
///
/// Services never write their record themselves: they report what happened, and the registry applies the event
/// to the record (``DaemonRecord/apply(_:)``, the one place a record changes) and publishes what came of it on the
/// supervisor's event stream (``SupervisorEvent``).
public enum DaemonEvent: Sendable, Hashable {
    // MARK: The service's life, reported by the supervisor

    /// The supervisor is starting the daemon: `starting`, until its dependencies are met and its service is up.
    case launching
    /// Held back by its dependencies: `waiting`, with what it waits for (`db to be ready (db is starting)`).
    case waiting(for: String)
    /// Its dependencies are met: nothing is awaited any more.
    case dependenciesMet
    /// The supervisor is stopping the daemon: `stopping`.
    case stopping
    /// The service is up in `state` (`idle` for a periodic or watcher daemon between runs, `running` for a server):
    /// the last error is cleared.
    case up(DaemonRecord.State)
    /// The service failed and restarts after its backoff: `backoff`, with the restarts so far and why it failed.
    case backoff(restarts: Int, error: String?)
    /// The service ended and stays down: `completed` when it finished by itself without failing (a one-shot
    /// process that exited 0), `stopped` otherwise. No process of it is left.
    case ended(completed: Bool)
    /// Parked as `failed` (too many failures, or a service that cannot be made): why.
    case parked(reason: String)

    // MARK: Runs of a periodic or watcher daemon

    /// A run's command started (`run` has no duration yet): `running`, its PID among the daemon's (nil for a run
    /// without a process of its own, such as a kind's own check).
    case runStarted(pid: Int32?, run: DaemonRecord.Run)
    /// A run's command ended: `run` with its duration and exit status (its lateness is kept from its start);
    /// `failure` says why when it counts as a failed run. The daemon is `idle` again once none of its runs is left.
    case runEnded(pid: Int32?, run: DaemonRecord.Run, failure: String?)
    /// A run's command could not be started: a failed run, with the status a shell gives a missing command.
    case runNotStarted(run: DaemonRecord.Run, error: String)

    // MARK: Lives of a long-running command (a process daemon)

    /// The command of a new life started: `running` when it needs no readiness probe, else `starting`.
    case lifeStarted(pid: Int32, run: DaemonRecord.Run, ready: Bool)
    /// It passed its readiness probe: `running`, and how it became ready.
    case ready(String)
    /// The command of the life ended: `run` with its duration and exit status.
    case lifeEnded(run: DaemonRecord.Run)
    /// The life counted as a failure (a probe gave up on it, or its command failed).
    case lifeFailed

    // MARK: Anything else

    /// When the next run is due, or nil when none is scheduled.
    case nextRun(Date?)
    /// A kind-specific health value (`watching`, `listen`, `liveness`); nil removes it.
    case health(String, String?)
    /// A line of the supervisor's about the daemon, for its log; the record does not change.
    case note(String)

    /// What a started life of a long-running command reports besides its run.
    public struct Life: Sendable, Hashable {
        /// Whether it counts as ready at once (it has no readiness probe).
        public var ready: Bool

        /// Describes a life that is `ready` at once or waits for its probe.
        public init(ready: Bool) { self.ready = ready }
    }
}

extension DaemonRecord {
    /// Applies `event` to the record: the one place a daemon's record changes.
    public mutating func apply(_ event: DaemonEvent) {
        switch event {
        case .launching:
            state = .starting
        case .waiting(let what):
            state = .waiting
            health["waiting_for"] = what
        case .dependenciesMet:
            health["waiting_for"] = nil
        case .stopping:
            state = .stopping
        case .up(let state):
            self.state = state
            lastError = nil
        case .backoff(let restarts, let error):
            state = .backoff
            self.restarts = restarts
            if let error { lastError = error }
        case .ended(let completed):
            state = completed ? .completed : .stopped
            pids = []
            health["waiting_for"] = nil
        case .parked(let reason):
            state = .failed
            pids = []
            lastError = reason
        case .runStarted(let pid, let run):
            state = .running
            runs += 1
            if let pid { pids.append(pid) }
            lastRun = run
        case .runEnded(let pid, let run, let failure):
            if let pid { pids.removeAll { $0 == pid } }
            if pids.isEmpty { state = .idle }
            // A replaced run may end after its successor started: the last run is then the successor's.
            if let last = lastRun, last.startedAt == run.startedAt {
                lastRun = run
                lastRun?.lateMilliseconds = run.lateMilliseconds ?? last.lateMilliseconds
            }
            if let failure {
                failures += 1
                lastError = failure
            }
        case .runNotStarted(let run, let error):
            runs += 1
            failures += 1
            lastRun = run
            lastError = error
        case .lifeStarted(let pid, let run, let ready):
            state = ready ? .running : .starting
            runs += 1
            pids = [pid]
            lastRun = run
            health["ready"] = ready ? nil : "waiting"
            health["liveness"] = nil
        case .ready(let how):
            state = .running
            lastError = nil
            health["ready"] = how
        case .lifeEnded(let run):
            pids = []
            health["ready"] = nil
            lastRun = run
        case .lifeFailed:
            failures += 1
        case .nextRun(let date):
            nextRun = date
        case .health(let key, let value):
            health[key] = value
        case .note:
            break
        }
    }

}
