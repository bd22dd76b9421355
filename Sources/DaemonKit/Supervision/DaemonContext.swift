import CoreMetrics
import Logging

/// What a running ``DaemonService`` works with: the registry it reports to, its log, the supervisor's logger,
/// and the requests the control API sends it.
public struct DaemonContext: Sendable {
    /// The daemon's name, its key in the registry.
    public let name: String
    /// Where the service reports its state, runs and health (``report(_:)``), and reads the other daemons'.
    public let registry: DaemonRegistry
    /// The daemon's own log: its commands' output goes here.
    public let log: RotatingLogFile
    /// The supervisor's logger, for messages about the daemon.
    public let logger: Logger
    /// Requests for this run of the service (a restarted service gets a fresh stream).
    public let requests: AsyncStream<DaemonRequest>
    /// Where the process groups of the service's commands are recorded, if anywhere.
    public let processGroups: ProcessGroupLedger?
    /// The supervisor, for what a daemon may ask about the others; nil outside a supervisor.
    public let supervisor: (any SupervisorLink)?
    /// Where the service's own counters go (swift-metrics), with a `daemon` dimension naming it: the supervisor's
    /// `/metrics`. Nothing records them outside a supervisor.
    public let metrics: any MetricsFactory

    /// Makes a context.
    public init(
        name: String,
        registry: DaemonRegistry,
        log: RotatingLogFile,
        logger: Logger,
        requests: AsyncStream<DaemonRequest>,
        processGroups: ProcessGroupLedger? = nil,
        supervisor: (any SupervisorLink)? = nil,
        metrics: any MetricsFactory = NOOPMetricsHandler.instance
    ) {
        self.name = name
        self.registry = registry
        self.log = log
        self.logger = logger
        self.requests = requests
        self.processGroups = processGroups
        self.supervisor = supervisor
        self.metrics = metrics
    }

    /// The counter `label` of this daemon (swift-metrics), with `dimensions` after its `daemon` one.
    public func counter(_ label: String, _ dimensions: [(String, String)] = []) -> Counter {
        Counter(label: label, dimensions: [("daemon", name)] + dimensions, factory: metrics)
    }

    /// Adds one to the counter `label` of this daemon (``counter(_:_:)``): for what happens now and then, not on a hot
    /// path, where the counter is kept instead.
    public func count(_ label: String, _ dimensions: [(String, String)] = []) { counter(label, dimensions).increment() }

    /// Reports what happened to the daemon: the registry applies it to the daemon's record and publishes it.
    @discardableResult
    public func report(_ event: DaemonEvent) -> DaemonRecord? { registry.report(name, event) }

    /// Reports that the service is up, in `state` (`idle` for a periodic daemon between runs, `running` for a
    /// long-running one).
    public func started(state: DaemonRecord.State) { report(.up(state)) }

    /// A line of the supervisor's own about this daemon, for its log (marked `[orchestrate]` there).
    public func note(_ message: String) { report(.note(message)) }
}

/// A request from the control API to a running daemon.
public struct DaemonRequest: Sendable {
    /// What is asked.
    public enum Kind: Sendable, Hashable {
        /// Run now (periodic and watcher daemons).
        case trigger
    }

    /// What is asked.
    public let kind: Kind
    /// Called exactly once with the outcome.
    public let reply: @Sendable (TriggerOutcome) -> Void

    /// Makes a request.
    public init(_ kind: Kind, reply: @escaping @Sendable (TriggerOutcome) -> Void) {
        self.kind = kind
        self.reply = reply
    }
}
