import CoreMetrics
import Logging
import Synchronization

/// Runs one ``DaemonService`` under its restart policy: the supervision loop of a single daemon.
///
/// Each life of the service gets a fresh request stream; a failure (a thrown error) goes to the
/// ``RestartStateMachine``, which says to restart after a backoff, to stay stopped, or to give up and park the
/// daemon as `failed`. Cancelling the task that runs ``run()`` stops the service (and a pending backoff) and
/// leaves the daemon `stopped`; so does ``requestStop()``, for the task of the launch that ``armStop()`` armed.
public final class ServiceSupervisor: Sendable {
    /// The daemon.
    public let service: any DaemonService
    /// Its restart policy.
    public let policy: RestartPolicy
    private let registry: DaemonRegistry
    /// The daemon's log.
    public let log: RotatingLogFile
    private let logger: Logger
    private let processGroups: ProcessGroupLedger?
    private let link: (any SupervisorLink)?
    private let metrics: any MetricsFactory
    private let mailbox = Mutex<AsyncStream<DaemonRequest>.Continuation?>(nil)
    private let stopTrigger = Mutex<AsyncStream<Void>.Continuation?>(nil)

    /// Makes a supervisor for `service`.
    public init(
        service: any DaemonService,
        policy: RestartPolicy,
        registry: DaemonRegistry,
        log: RotatingLogFile,
        logger: Logger,
        processGroups: ProcessGroupLedger? = nil,
        link: (any SupervisorLink)? = nil,
        metrics: any MetricsFactory = NOOPMetricsHandler.instance
    ) {
        self.metrics = metrics
        self.processGroups = processGroups
        self.link = link
        self.service = service
        self.policy = policy
        self.registry = registry
        self.log = log
        self.logger = logger
    }

    /// Delivers `request` to the running service, or refuses it when the service is not running.
    public func send(_ request: DaemonRequest) {
        let delivered = mailbox.withLock { continuation -> Bool in
            guard let continuation else { return false }
            if case .enqueued = continuation.yield(request) { return true }
            return false
        }
        if !delivered { request.reply(.refused("'\(service.name)' is not running")) }
    }

    /// Arms the stop of the launch about to start: the returned stream ends at the next ``requestStop()``.
    public func armStop() -> AsyncStream<Void> {
        let (stopped, stop) = AsyncStream.makeStream(of: Void.self)
        stopTrigger.withLock { $0 = stop }
        return stopped
    }

    /// Ends the stream of the armed launch, which its task takes as the order to stop.
    public func requestStop() {
        stopTrigger.withLock { $0 }?.finish()
    }

    /// Supervises the service until the task is cancelled, or the policy leaves it stopped or failed.
    public func run() async {
        var machine = RestartStateMachine(policy: policy)
        let clock = ContinuousClock()
        let name = service.name
        while !Task.isCancelled {
            registry.report(name, .launching)
            machine.started(at: clock.now)
            let (requests, continuation) = AsyncStream.makeStream(of: DaemonRequest.self)
            mailbox.withLock { $0 = continuation }
            let context = DaemonContext(
                name: name,
                registry: registry,
                log: log,
                logger: logger,
                requests: requests,
                processGroups: processGroups,
                supervisor: link,
                metrics: metrics
            )
            var failure: (any Error)?
            do {
                try await service.run(context)
            } catch {
                failure = error
            }
            mailbox.withLock { $0 = nil }
            continuation.finish()
            // Requests that arrived after the service stopped reading get an answer too.
            for await request in requests { request.reply(.refused("'\(name)' stopped")) }
            if Task.isCancelled { break }
            if let failure {
                logger.error("daemon failed", metadata: ["daemon": .string(name), "error": .string("\(failure)")])
                registry.report(name, .note("the daemon failed: \(failure)"))
            }
            let now = clock.now
            switch machine.exited(at: now, failed: failure != nil) {
            case .restart(let delay):
                registry.report(name, .backoff(restarts: machine.restarts, error: failure.map { "\($0)" }))
                do {
                    try await CancellableSleep.for(delay)
                } catch {
                    break
                }
            case .stayStopped:
                // A service that ended by itself without failing (a one-shot process that exited 0) is done.
                registry.report(name, .ended(completed: failure == nil))
                return
            case .giveUp(let reason):
                logger.error("daemon parked as failed", metadata: ["daemon": .string(name), "reason": .string(reason)])
                registry.report(name, .note("given up: \(reason)"))
                registry.report(name, .parked(reason: failure.map { "\($0) (\(reason))" } ?? reason))
                return
            }
        }
        registry.report(name, .ended(completed: false))
    }
}
