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
        case reload(ReloadRequest)
        /// Something in the state folder changed or the folder went away: make again what is missing.
        case checkStateFolder
    }

    /// The manifest being run: the one `up` loaded, then the last one a reload applied.
    public var manifest: Manifest { current.withLock { $0 } }
    /// The folder of the lock, socket and logs, for the supervisor's whole life (a reload cannot move it).
    public let stateDirectory: String
    /// The registry `status` reads.
    public let registry = DaemonRegistry()
    /// The socket the control API listens on.
    public let socketPath: String
    let logger: Logger
    let startedAt = Date()
    private let makeService: ServiceFactory
    private let mirror: (@Sendable (String, [UInt8]) -> Void)?
    /// The supervisor's own log, when the caller keeps one in the state folder.
    let ownLog: RotatingLogFile?
    /// The locks held on the PID file: the first, and one more for each time the state folder was made again.
    let locks = Mutex<[PIDLock]>([])
    /// The watch of the state folder, stopped as the supervisor stops.
    let stateWatch = Mutex<(any FileWatcher)?>(nil)
    private let events: AsyncStream<Event>
    private let input: AsyncStream<Event>.Continuation
    let supervisors = Mutex<[String: ServiceSupervisor]>([:])
    let processGroups: ProcessGroupLedger
    private let adoptsOrphans: Bool
    private let current: Mutex<Manifest>
    /// Where reloads read the manifest from.
    private let source: Mutex<ManifestLoader>
    private let lastReloadRecord = Mutex<StatusDocument.Reload?>(nil)
    /// The watch of the manifest and its env_file while `reload: auto`; stopped to take new settings.
    let manifestWatch = Mutex<(any FileWatcher)?>(nil)
    /// Set as the supervisor stops: the manifest watch ends for good.
    let watchEnded = Atomic<Bool>(false)
    /// Wakes the manifest watch when a reload changed what it watches (the mode, the env_file).
    let watchSettingsChanged: AsyncStream<Void>.Continuation
    let watchSettingsStream: AsyncStream<Void>

    /// Makes a supervisor for `manifest`. `mirror`, when given, also receives each daemon's log lines (for a
    /// supervisor in the foreground, which shows them on the terminal). `adoptsOrphans` is for a supervisor that
    /// owns its process (`orchestrate up`): it reaps the strays it adopts as they exit and ends those still alive
    /// when it stops. A supervisor inside another program (a test runner) leaves that program's children alone.
    /// `source` is where reloads read the manifest (by default its file, with this process's environment).
    /// `ownLog` is the supervisor's log when it is in the state folder, made again with the folder.
    public init(
        manifest: Manifest,
        logger: Logger,
        makeService: @escaping ServiceFactory,
        mirror: (@Sendable (String, [UInt8]) -> Void)? = nil,
        adoptsOrphans: Bool = false,
        source: ManifestLoader? = nil,
        ownLog: RotatingLogFile? = nil
    ) {
        self.ownLog = ownLog
        current = Mutex(manifest)
        stateDirectory = manifest.stateDirectory
        self.source = Mutex(source ?? ManifestLoader(file: manifest.file, kinds: manifest.kinds))
        (watchSettingsStream, watchSettingsChanged) = AsyncStream.makeStream(
            of: Void.self,
            bufferingPolicy: .bufferingNewest(1)
        )
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
        let manifest = self.manifest
        let lock = try PIDLock.acquire(path: Self.lockPath(stateDirectory: stateDirectory))
        locks.withLock { $0 = [lock] }
        StateFolderOwner.record(manifest: manifest.file, stateDirectory: stateDirectory)
        defer { locks.withLock { $0.forEach { $0.release() } } }
        ControlSocket.record(manifest: manifest.file, stateDirectory: stateDirectory)
        defer { ControlSocket.forget(manifest: manifest.file, stateDirectory: stateDirectory) }
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
        recordSocketPath()
        let services = try compile()
        logger.info(
            "supervisor started",
            metadata: ["pid": "\(getpid())", "manifest": .string(manifest.file), "daemons": "\(services.count)"]
        )
        let server = controlSocketServer(onReady: onReady)
        let httpServer = try controlHTTPServer(logger: serverLogger)
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint, .sighup)
        // A discarding group: the task of every daemon that ends (a stop, a restart, a reload) is released at once
        // instead of being kept until someone awaits its result.
        await withDiscardingTaskGroup { group in
            serve(server, named: "control socket", in: &group)
            if let httpServer { serve(httpServer, named: "control.http", in: &group) }
            group.addTask { [input, logger] in
                for await signal in signals {
                    if signal == .sighup {
                        logger.info("SIGHUP received: reloading the manifest")
                        input.yield(.reload(ReloadRequest(origin: .signal)))
                        continue
                    }
                    logger.info("signal received, stopping", metadata: ["signal": "\(signal)"])
                    input.yield(.down)
                    return
                }
            }
            group.addTask { await self.watchManifest() }
            group.addTask { await self.watchStateFolder() }
            await supervise(services, in: &group)
            watchEnded.store(true, ordering: .sequentiallyConsistent)
            manifestWatch.withLock { $0?.stop() }
            stateWatch.withLock { $0?.stop() }
            watchSettingsChanged.finish()
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

    /// The server's own logger, which only speaks up for what is critical: the server is cancelled when the
    /// supervisor stops, which hummingbird reports as an error.
    var serverLogger: Logger {
        var serverLogger = logger
        serverLogger.logLevel = .critical
        return serverLogger
    }

    /// The control API on the control socket; `onReady` runs once it answers.
    func controlSocketServer(onReady: @escaping @Sendable () -> Void = {}) -> IPCServer<BasicRequestContext> {
        IPCServer(router: ControlAPI(supervisor: self).router(), socketPath: socketPath, logger: serverLogger) {
            onReady()
        }
    }

    /// Runs `server` in `group` until the supervisor stops.
    func serve(_ server: IPCServer<BasicRequestContext>, named name: String, in group: inout DiscardingTaskGroup) {
        group.addTask { [input, logger] in
            do {
                try await server.run()
            } catch  where !Task.isCancelled {
                // Without its control API the supervisor could not be told anything: stop rather than run blind.
                logger.critical("the \(name) server failed; stopping", metadata: ["error": "\(error)"])
                input.yield(.down)
            } catch {}
        }
    }

    /// Records where the control socket is, when it is not in the state folder (a folder too deep for a socket
    /// path), for the commands to find.
    func recordSocketPath() {
        guard socketPath != stateDirectory + "/orchestrate.sock" else { return }
        try? socketPath.write(
            toFile: ControlSocket.recordPath(stateDirectory: stateDirectory),
            atomically: true,
            encoding: .utf8
        )
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
        let manifest = self.manifest
        for spec in manifest.daemons {
            registry.register(DaemonRecord(name: spec.name, kind: spec.kindName, enabled: spec.enabled))
            guard spec.enabled else { continue }
            result[spec.name] = try makeSupervisor(spec, service: try service(for: spec))
        }
        supervisors.withLock { $0 = result }
        return result
    }

    /// The service of an enabled daemon; throws when this build cannot run its kind.
    func service(for spec: DaemonSpec) throws -> any DaemonService {
        guard let service = try makeService(spec, stateDirectory) else {
            throw OrchestratorError(
                code: .unsupportedKind,
                message:
                    "daemon '\(spec.name)' is \(spec.kindTitle), which this version cannot run yet"
            )
        }
        return service
    }

    /// The supervisor of `service` under the restart policy of `spec`, with the daemon's log opened.
    func makeSupervisor(_ spec: DaemonSpec, service: any DaemonService) throws -> ServiceSupervisor {
        let name = spec.name
        var lineMirror: (@Sendable ([UInt8]) -> Void)? = nil
        if let mirror { lineMirror = { line in mirror(name, line) } }
        let (registry, logger) = (registry, logger)
        let log = try RotatingLogFile(
            path: stateDirectory + "/logs/\(spec.name).log",
            rotation: spec.log,
            mirror: lineMirror
        ) { notice in
            // A log that cannot be written (a full disk) is reported in the daemon's health and the supervisor's
            // log; the daemon keeps running, and the lines wait in a bounded backlog.
            switch notice {
            case .failing(let reason):
                logger.error(
                    "a daemon's log cannot be written",
                    metadata: ["daemon": .string(name), "error": .string(reason)]
                )
                registry.update(name) { $0.health["log"] = "not written: \(reason)" }
            case .resumed(let dropped):
                logger.notice(
                    "a daemon's log is written again",
                    metadata: ["daemon": .string(name), "lost_lines": "\(dropped)"]
                )
                registry.update(name) { $0.health["log"] = nil }
            }
        }
        return ServiceSupervisor(
            service: service,
            policy: spec.restart,
            registry: registry,
            log: log,
            logger: logger,
            processGroups: processGroups,
            link: WeakSupervisorLink(self)
        )
    }

    /// The supervisor of a daemon, for the control API.
    func serviceSupervisor(_ name: String) -> ServiceSupervisor? { supervisors.withLock { $0[name] } }

    /// Posts an event (from the control API).
    func post(_ event: Event) { input.yield(event) }

    /// The last reload's outcome, for `status`.
    var lastReload: StatusDocument.Reload? { lastReloadRecord.withLock { $0 } }

    /// The main loop: starts every daemon, then reacts to events until `down`.
    private func supervise(
        _ services: [String: ServiceSupervisor],
        in group: inout DiscardingTaskGroup
    ) async {
        var loop = SupervisionLoop(supervisor: self, services: services, input: input)
        for spec in manifest.daemons where spec.enabled { loop.launch(spec.name, in: &group) }
        for await event in events {
            if loop.handle(event, in: &group) { return }
        }
    }

    /// Sets the services the control API finds (after a reload changed them).
    func publishServices(_ services: [String: ServiceSupervisor]) {
        supervisors.withLock { $0 = services }
    }

    /// Applies the reload plan's new manifest and source (called by the loop once the plan is committed).
    func commit(_ manifest: Manifest, source newSource: ManifestLoader) {
        let before = current.withLock { current in
            defer { current = manifest }
            return current
        }
        source.withLock { $0 = newSource }
        if before.reload != manifest.reload || before.envFile != manifest.envFile {
            watchSettingsChanged.yield()
            manifestWatch.withLock { $0?.stop() }
        }
    }

    /// Where reloads read the manifest from now.
    var manifestSource: ManifestLoader { source.withLock { $0 } }

    /// Records a reload's outcome for `status`, the log and the event stream.
    func record(_ outcome: ReloadOutcome, trigger: ReloadRequest.Origin) {
        let entry = StatusDocument.Reload(
            at: Date(),
            ok: outcome.ok,
            errors: outcome.errors,
            plan: outcome.plan,
            trigger: trigger.rawValue
        )
        lastReloadRecord.withLock { $0 = entry }
        if outcome.ok, let plan = outcome.plan {
            logger.info(
                "manifest reloaded",
                metadata: [
                    "trigger": .string(trigger.rawValue), "added": "\(plan.added)", "changed": "\(plan.changed)",
                    "removed": "\(plan.removed)", "restarted": "\(plan.restarted)",
                    "unchanged": "\(plan.unchanged.count)",
                ]
            )
            if !plan.needsRestart.isEmpty {
                logger.warning(
                    "these manifest settings apply only after `orchestrate down` and `up`",
                    metadata: ["fields": "\(plan.needsRestart)"]
                )
            }
        } else {
            logger.error(
                "the manifest was not reloaded; every daemon keeps running as it was",
                metadata: ["trigger": .string(trigger.rawValue)]
            )
            for error in outcome.errors { logger.error("  \(error)") }
        }
        if let data = try? StatusDocument.encoder.encode(entry) {
            registry.publish(event: "reload", json: String(decoding: data, as: UTF8.self))
        }
    }
}

/// Why a control request was refused: an HTTP status and one sentence.
struct ControlFailure: Error, Sendable {
    var status: Int
    var message: String
    var suggestion: String? = nil
}
