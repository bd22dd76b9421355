import Logging

/// What a running ``DaemonService`` works with: its record in the registry, its log, the supervisor's logger,
/// and the requests the control API sends it.
public struct DaemonContext: Sendable {
    /// The daemon's name, its key in the registry.
    public let name: String
    /// Where the service writes its state, runs and health.
    public let registry: DaemonRegistry
    /// The daemon's own log (`STATE_DIR/logs/NAME.log`): its commands' output goes here.
    public let log: RotatingLogFile
    /// The supervisor's logger, for messages about the daemon.
    public let logger: Logger
    /// Requests for this run of the service (a restarted service gets a fresh stream).
    public let requests: AsyncStream<DaemonRequest>
    /// Where the process groups of the service's commands are recorded, if anywhere.
    public let processGroups: ProcessGroupLedger?
    /// The supervisor, for what a daemon may ask about the others; nil outside a supervisor.
    public let supervisor: (any SupervisorLink)?

    /// Makes a context.
    public init(
        name: String,
        registry: DaemonRegistry,
        log: RotatingLogFile,
        logger: Logger,
        requests: AsyncStream<DaemonRequest>,
        processGroups: ProcessGroupLedger? = nil,
        supervisor: (any SupervisorLink)? = nil
    ) {
        self.name = name
        self.registry = registry
        self.log = log
        self.logger = logger
        self.requests = requests
        self.processGroups = processGroups
        self.supervisor = supervisor
    }

    /// Changes the daemon's record.
    @discardableResult
    public func update(_ change: (inout DaemonRecord) -> Void) -> DaemonRecord? { registry.update(name, change) }

    /// Records that the service is up, in `state` (`idle` for a periodic daemon between runs, `running` for a
    /// long-running one).
    public func started(state: DaemonRecord.State) {
        update {
            $0.state = state
            $0.lastError = nil
        }
    }

    /// Writes a line of the supervisor's own about this daemon into the daemon's log, marked as such.
    public func note(_ message: String) {
        log.writeLine("[orchestrate] " + message)
    }
}

/// A request from the control API to a running daemon.
public struct DaemonRequest: Sendable {
    /// What is asked.
    public enum Kind: Sendable, Hashable {
        /// Run now (periodic and watcher daemons).
        case trigger
    }

    /// What became of a request.
    public enum Outcome: Sendable, Hashable {
        /// The run it started finished with this result.
        case finished(CommandRunResult)
        /// It was accepted but will run later (queued behind a running run), or was merged into a queued one.
        case queued
        /// It was dropped (overlap `skip` while a run is in progress).
        case skipped
        /// It does not apply to this kind of daemon, or the daemon is not running.
        case refused(String)
    }

    /// What is asked.
    public let kind: Kind
    /// Called exactly once with the outcome.
    public let reply: @Sendable (Outcome) -> Void

    /// Makes a request.
    public init(_ kind: Kind, reply: @escaping @Sendable (Outcome) -> Void) {
        self.kind = kind
        self.reply = reply
    }
}
