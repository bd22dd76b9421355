import DaemonKit
import Foundation
import Hummingbird
import Logging
import Manifest
import ServiceLifecycle
import Synchronization
import UnixSignals

/// Runs a manifest: every enabled daemon in a child task of its own, supervised under its restart policy,
/// with the control API on `STATE_DIR/orchestrate.sock` and the PID lock held for the supervisor's life.
///
/// One event stream drives it: the control API's requests, signals (SIGTERM and SIGINT stop everything
/// gracefully; SIGHUP is trapped so it cannot kill the supervisor), and daemons ending. Each daemon's task
/// runs a small nested group (its ``ServiceSupervisor`` and a stop trigger), so one daemon can be stopped,
/// started or restarted without touching the others. `down` stops all daemons in parallel.
public final class Supervisor: Sendable {
    /// Makes the service of a daemon; nil when this build cannot run its kind.
    public typealias ServiceFactory = @Sendable (DaemonSpec, _ stateDirectory: String) throws -> (any DaemonService)?

    /// What the control API and signals ask of the supervisor.
    enum Event: Sendable {
        case start(String, reply: @Sendable (Result<DaemonRecord, ControlFailure>) -> Void)
        case stop(String, reply: @Sendable (Result<DaemonRecord, ControlFailure>) -> Void)
        case restart(String, reply: @Sendable (Result<DaemonRecord, ControlFailure>) -> Void)
        case down
        case ended(String, generation: Int)
    }

    /// The manifest being run.
    public let manifest: Manifest
    /// The registry `status` reads.
    public let registry = DaemonRegistry()
    /// The socket the control API listens on.
    public let socketPath: String
    let logger: Logger
    let startedAt = Date()
    private let makeService: ServiceFactory
    private let mirror: (@Sendable (String, [UInt8]) -> Void)?
    private let events: AsyncStream<Event>
    private let input: AsyncStream<Event>.Continuation
    private let supervisors = Mutex<[String: ServiceSupervisor]>([:])
    private let processGroups: ProcessGroupLedger
    private let adoptsOrphans: Bool

    /// Makes a supervisor for `manifest`. `mirror`, when given, also receives each daemon's log lines (for a
    /// supervisor in the foreground, which shows them on the terminal). `adoptsOrphans` is for a supervisor that
    /// owns its process (`orchestrate up`): it reaps the strays it adopts as they exit and ends those still alive
    /// when it stops. A supervisor inside another program (a test runner) leaves that program's children alone.
    public init(
        manifest: Manifest,
        logger: Logger,
        makeService: @escaping ServiceFactory,
        mirror: (@Sendable (String, [UInt8]) -> Void)? = nil,
        adoptsOrphans: Bool = false
    ) {
        self.manifest = manifest
        self.adoptsOrphans = adoptsOrphans
        self.logger = logger
        self.makeService = makeService
        self.mirror = mirror
        socketPath = ControlSocket.path(stateDirectory: manifest.stateDirectory)
        processGroups = ProcessGroupLedger(path: manifest.stateDirectory + "/run/process-groups")
        (events, input) = AsyncStream.makeStream(of: Event.self)
    }

    /// The lock file of a manifest's supervisor.
    public static func lockPath(stateDirectory: String) -> String { stateDirectory + "/orchestrate.pid" }

    /// Runs until `down`, SIGTERM or SIGINT; then every daemon is stopped, the socket removed, the lock released.
    ///
    /// - Parameter onReady: Called once the control socket answers.
    public func run(onReady: @escaping @Sendable () -> Void = {}) async throws {
        let lock = try PIDLock.acquire(path: Self.lockPath(stateDirectory: manifest.stateDirectory))
        defer { lock.release() }
        try? ChildReaper.becomeSubreaper()
        if adoptsOrphans {
            do {
                try ChildReaper.reapOnChildExit()
            } catch {
                logger.warning("adopted processes will only be reaped at exit", metadata: ["error": "\(error)"])
            }
        }
        // What a supervisor killed before it could stop its commands left behind goes first.
        let leftovers = processGroups.cleanUpPrevious()
        if !leftovers.isEmpty {
            logger.warning("killed processes a previous supervisor left behind", metadata: ["pids": "\(leftovers)"])
        }
        if socketPath != manifest.stateDirectory + "/orchestrate.sock" {
            try? socketPath.write(
                toFile: ControlSocket.recordPath(stateDirectory: manifest.stateDirectory),
                atomically: true,
                encoding: .utf8
            )
        }
        let services = try compile()
        logger.info(
            "supervisor started",
            metadata: ["pid": "\(getpid())", "manifest": .string(manifest.file), "daemons": "\(services.count)"]
        )
        // The server is cancelled when the supervisor stops, which hummingbird reports as an error: its own
        // logger only speaks up for what is critical.
        var serverLogger = logger
        serverLogger.logLevel = .critical
        let server = IPCServer(
            router: ControlAPI(supervisor: self).router(),
            socketPath: socketPath,
            logger: serverLogger
        ) {
            onReady()
        }
        let httpServer = try controlHTTPServer(logger: serverLogger)
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint, .sighup)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            if let httpServer { group.addTask { try await httpServer.run() } }
            group.addTask { [input, logger] in
                for await signal in signals {
                    if signal == .sighup {
                        logger.info("SIGHUP received; reloading the manifest arrives with hot reload")
                        continue
                    }
                    logger.info("signal received, stopping", metadata: ["signal": "\(signal)"])
                    input.yield(.down)
                    return
                }
            }
            try await supervise(services, in: &group)
            if adoptsOrphans {
                // Strays that left their command's process group (by setsid) outlive the group kill: end them.
                let strays = await ChildReaper.endAdoptedOrphans(grace: .seconds(2))
                if !strays.isEmpty {
                    logger.warning("ended processes that left their command's group", metadata: ["pids": "\(strays)"])
                }
            }
            // Event streams end first, then the server gets a moment to send the answers in flight (the `down`
            // that asked for this, above all) before it is cancelled.
            registry.finishSubscribers()
            await serverQuiet()
            group.cancelAll()
        }
        logger.info("supervisor stopped")
    }

    /// Waits until no control request is being answered (at most a second), so that the answer to `down` is sent
    /// before the server stops.
    private func serverQuiet() async {
        let deadline = ContinuousClock.now + .seconds(1)
        while inFlight.load(ordering: .relaxed) > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    /// Counts the control requests being answered.
    let inFlight = Atomic<Int>(0)

    /// The control API on `control.http`, when the manifest sets it: the same routes, behind the key that
    /// `control.api_key_env` names (the manifest only allows a non-loopback address with one).
    private func controlHTTPServer(logger: Logger) throws -> IPCServer<BasicRequestContext>? {
        guard let control = manifest.control, case .tcp(let host, let port)? = control.http else { return nil }
        var key: String?
        if let variable = control.apiKeyEnvironment {
            guard let value = ProcessInfo.processInfo.environment[variable], !value.isEmpty else {
                throw OrchestratorError(
                    code: .supervisorUnavailable,
                    message: "control.api_key_env names \(variable), which is not set in the supervisor's environment"
                )
            }
            key = value
        }
        return IPCServer(
            router: ControlAPI(supervisor: self, apiKey: key).router(),
            host: host,
            port: port,
            logger: logger
        )
    }

    /// Asks the supervisor to stop everything and exit.
    public func shutDown() { input.yield(.down) }

    /// Makes a service supervisor for each enabled daemon, and registers every daemon.
    private func compile() throws -> [String: ServiceSupervisor] {
        var result: [String: ServiceSupervisor] = [:]
        for spec in manifest.daemons {
            registry.register(DaemonRecord(name: spec.name, kind: spec.kindName, enabled: spec.enabled))
            guard spec.enabled else { continue }
            guard let service = try makeService(spec, manifest.stateDirectory) else {
                throw OrchestratorError(
                    code: .unsupportedKind,
                    message:
                        "daemon '\(spec.name)' is \(spec.kindName.withArticle) daemon, which this version cannot run yet"
                )
            }
            let name = spec.name
            var lineMirror: (@Sendable ([UInt8]) -> Void)? = nil
            if let mirror { lineMirror = { line in mirror(name, line) } }
            let log = try RotatingLogFile(
                path: manifest.stateDirectory + "/logs/\(spec.name).log",
                rotation: spec.log,
                mirror: lineMirror
            )
            result[spec.name] = ServiceSupervisor(
                service: service,
                policy: spec.restart,
                registry: registry,
                log: log,
                logger: logger,
                processGroups: processGroups
            )
        }
        supervisors.withLock { $0 = result }
        return result
    }

    /// The supervisor of a daemon, for the control API.
    func serviceSupervisor(_ name: String) -> ServiceSupervisor? { supervisors.withLock { $0[name] } }

    /// Posts an event (from the control API).
    func post(_ event: Event) { input.yield(event) }

    /// The main loop: starts every daemon, then reacts to events until `down`.
    private func supervise(
        _ services: [String: ServiceSupervisor],
        in group: inout ThrowingTaskGroup<Void, any Error>
    )
        async throws
    {
        var running: [String: (generation: Int, stop: AsyncStream<Void>.Continuation)] = [:]
        var generation = 0
        // Replies of restarts waiting for their daemon's old task to end.
        var restarting: [String: [@Sendable (Result<DaemonRecord, ControlFailure>) -> Void]] = [:]
        var shuttingDown = false

        func launch(_ name: String, in group: inout ThrowingTaskGroup<Void, any Error>) {
            guard let supervisor = services[name], running[name] == nil else { return }
            generation += 1
            let (stopped, stop) = AsyncStream.makeStream(of: Void.self)
            running[name] = (generation, stop)
            let current = generation
            group.addTask { [input] in
                await withTaskGroup(of: Void.self) { daemon in
                    daemon.addTask { await supervisor.run() }
                    daemon.addTask { for await _ in stopped {} }
                    await daemon.next()
                    daemon.cancelAll()
                }
                input.yield(.ended(name, generation: current))
            }
        }

        for spec in manifest.daemons where spec.enabled { launch(spec.name, in: &group) }

        for await event in events {
            switch event {
            case .start(let name, let reply):
                guard services[name] != nil else {
                    reply(.failure(unknownDaemon(name)))
                    continue
                }
                if running[name] == nil { launch(name, in: &group) }
                reply(.success(registry.record(name)!))
            case .stop(let name, let reply):
                guard services[name] != nil else {
                    reply(.failure(unknownDaemon(name)))
                    continue
                }
                if let handle = running[name] {
                    registry.update(name) { $0.state = .stopping }
                    handle.stop.finish()
                }
                reply(.success(registry.record(name)!))
            case .restart(let name, let reply):
                guard services[name] != nil else {
                    reply(.failure(unknownDaemon(name)))
                    continue
                }
                if let handle = running[name] {
                    registry.update(name) { $0.state = .stopping }
                    handle.stop.finish()
                    restarting[name, default: []].append(reply)
                } else {
                    launch(name, in: &group)
                    reply(.success(registry.record(name)!))
                }
            case .ended(let name, let ended):
                guard running[name]?.generation == ended else { continue }
                running[name] = nil
                if let waiting = restarting.removeValue(forKey: name) {
                    if shuttingDown {
                        for reply in waiting {
                            reply(.failure(ControlFailure(status: 409, message: "the supervisor is stopping")))
                        }
                    } else {
                        launch(name, in: &group)
                        for reply in waiting { reply(.success(registry.record(name)!)) }
                    }
                }
                if shuttingDown, running.isEmpty { return }
            case .down:
                guard !shuttingDown else { continue }
                shuttingDown = true
                logger.info("stopping every daemon")
                for (name, handle) in running {
                    registry.update(name) { $0.state = .stopping }
                    handle.stop.finish()
                }
                if running.isEmpty { return }
            }
        }
    }

    private func unknownDaemon(_ name: String) -> ControlFailure { unknownDaemonFailure(name) }
}

/// Why a control request was refused: an HTTP status and one sentence.
struct ControlFailure: Error, Sendable {
    var status: Int
    var message: String
    var suggestion: String? = nil
}
