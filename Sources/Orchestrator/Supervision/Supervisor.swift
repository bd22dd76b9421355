import DaemonKit
import FoundationEssentials
import Hummingbird
import Logging
import Manifest
import ServiceLifecycle
import Synchronization
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

/// Runs a manifest: every enabled daemon in a child task of its own, supervised under its restart policy, with the
/// control API on its state folder's socket and the PID lock held for the supervisor's life (``StateFolder``).
///
/// One owner decides: the main loop (``SupervisorLoop``) holds the ``SupervisorStateMachine`` and feeds it one event
/// at a time from one stream — the control API's requests, signals (SIGTERM and SIGINT stop everything gracefully;
/// SIGHUP reloads), saves of the manifest, daemons' tasks ending — and carries out the actions it returns. What
/// others read of that state (the manifest running, each daemon's service, the last reload) is a ``Snapshot`` only
/// the loop writes. Each daemon's record lives in the ``registry``, which publishes the one event stream.
public final class Supervisor: Sendable {
    /// Makes the service of a daemon (by default, its kind does: ``DaemonKind/makeService(for:stateFolder:)``).
    public typealias ServiceFactory = @Sendable (DaemonSpec, StateFolder) throws -> any DaemonService
    typealias Machine = SupervisorStateMachine<ServiceSupervisor>

    /// What the control API, `status` and the daemons read of the main loop's state; written by the loop alone.
    struct Snapshot: Sendable {
        /// The manifest running.
        var manifest: Manifest
        /// The service of each enabled daemon.
        var services: [String: ServiceSupervisor]
        /// The last reload, applied or refused.
        var lastReload: ReloadReport?
    }

    /// The manifest being run: the one `up` loaded, then the last one a reload applied.
    public var manifest: Manifest { snapshot.withLock { $0.manifest } }
    /// The folder of the lock, socket and logs, for the supervisor's whole life (a reload cannot move it).
    public let stateFolder: StateFolder
    /// The daemons' records and the event stream about them.
    public let registry = DaemonRegistry()
    /// The socket the control API listens on.
    public let socketPath: String
    let logger: Logger
    let startedAt = Date()
    /// The series of `GET /metrics`, fed by the event stream.
    let metrics: SupervisorMetrics
    /// The daemons' log lines as they are written, for the clients that follow a log.
    let logTaps = LogTaps()
    /// How hooks reach `https://` webhooks.
    let webhookTLS: (any WebhookTLS)?
    /// Gives back what start-up and each reload touched once they have settled (``MemoryRelease``).
    let memoryRelease = MemoryRelease()
    private let makeService: ServiceFactory
    private let mirror: (@Sendable (String, [UInt8]) -> Void)?
    /// The supervisor's own log, when the caller keeps one in the state folder.
    let ownLog: RotatingLogFile?
    let processGroups: ProcessGroupLedger
    private let adoptsOrphans: Bool
    let snapshot: Mutex<Snapshot>
    /// Where the first reload reads the manifest from; the loop keeps the source of later ones.
    let initialSource: ManifestLoader
    let events: AsyncStream<Machine.Event>
    private let input: AsyncStream<Machine.Event>.Continuation
    /// The watch of the manifest and its env_file while `reload: auto`; stopped to take new settings.
    let manifestWatch = Mutex<(any FileWatcher)?>(nil)
    /// Wakes the manifest watch when a reload changed what it watches (the mode, the env_file).
    let watchSettingsChanged: AsyncStream<Void>.Continuation
    let watchSettingsStream: AsyncStream<Void>
    /// Wakes the watches of process daemons' files when a reload changed them.
    let restartWatchesChanged: AsyncStream<Void>.Continuation
    let restartWatchesStream: AsyncStream<Void>
    /// Ends the supervisor's own watches (the manifest, the state folder) as `down` begins: closing an inotify
    /// descriptor waits for the kernel (10 to 20 ms here), which then overlaps with the daemons stopping.
    let endWatches: AsyncStream<Void>.Continuation
    private let watchesEnded: AsyncStream<Void>

    /// Makes a supervisor for `manifest`. `mirror`, when given, also receives each daemon's log lines (for a
    /// supervisor in the foreground, which shows them on the terminal). `adoptsOrphans` is for a supervisor that
    /// owns its process (`orchestrate up`): it reaps the strays it adopts as they exit and ends those still alive
    /// when it stops. A supervisor inside another program (a test runner) leaves that program's children alone.
    /// `source` is where reloads read the manifest (by default its file, with this process's environment).
    /// `ownLog` is the supervisor's log when it is in the state folder, made again with the folder. `webhookTLS` is how
    /// hooks post to `https://` URLs (none without it).
    public init(
        manifest: Manifest,
        logger: Logger,
        makeService: @escaping ServiceFactory = { try $0.kind.makeService(for: $0, stateFolder: $1) },
        mirror: (@Sendable (String, [UInt8]) -> Void)? = nil,
        adoptsOrphans: Bool = false,
        source: ManifestLoader? = nil,
        ownLog: RotatingLogFile? = nil,
        webhookTLS: (any WebhookTLS)? = nil
    ) {
        self.ownLog = ownLog
        self.webhookTLS = webhookTLS
        metrics = SupervisorMetrics(startedAt: startedAt)
        snapshot = Mutex(Snapshot(manifest: manifest, services: [:]))
        stateFolder = manifest.stateFolder
        initialSource = source ?? ManifestLoader(file: manifest.file, kinds: manifest.kinds)
        (watchSettingsStream, watchSettingsChanged) = AsyncStream.makeStream(
            of: Void.self,
            bufferingPolicy: .bufferingNewest(1)
        )
        (restartWatchesStream, restartWatchesChanged) = AsyncStream.makeStream(
            of: Void.self,
            bufferingPolicy: .bufferingNewest(1)
        )
        self.adoptsOrphans = adoptsOrphans
        self.logger = logger
        self.makeService = makeService
        self.mirror = mirror
        socketPath = stateFolder.socket()
        processGroups = ProcessGroupLedger(path: stateFolder.processGroupLedger)
        (events, input) = AsyncStream.makeStream(of: Machine.Event.self)
        (watchesEnded, endWatches) = AsyncStream.makeStream(of: Void.self)
    }

    /// Runs until `down`, SIGTERM or SIGINT; then every daemon is stopped, the socket removed, the lock released.
    ///
    /// - Parameter onReady: Called once the control socket answers.
    public func run(onReady: @escaping @Sendable () -> Void = {}) async throws {
        // Trapping the signals takes a round trip to Dispatch's queue per signal: it runs while the state folder is
        // taken, and is awaited before the first daemon starts, so that a SIGTERM never leaves daemons behind.
        async let trapping = UnixSignalsSequence(trapping: .sigterm, .sigint, .sighup)
        let manifest = self.manifest
        CommandRunner.prepareSpawning()
        let lock = try PIDLock.acquire(path: stateFolder.lockFile)
        stateFolder.recordOwner(manifest: manifest.file)
        stateFolder.recordRunning(manifest: manifest.file)
        defer { stateFolder.forgetRunning(manifest: manifest.file) }
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
        stateFolder.recordSocket(socketPath)
        let services: [String: ServiceSupervisor]
        let http: (host: String, port: Int, key: String?)?
        do {
            services = try compile()
            http = try controlHTTPAddress()
        } catch {
            lock.release()
            throw error
        }
        let notes = registry.observe(
            DaemonRegistry.noteWriter(prefix: "[orchestrate] ") { [weak self] name in
                self?.serviceSupervisor(name)?.log
            }
        )
        defer { notes.cancel() }
        let measuring = registry.observe { [metrics] in metrics.observe($0) }
        defer { measuring.cancel() }
        let hooks = Hooks(
            stateFolder: stateFolder,
            registry: registry,
            metrics: metrics,
            logger: logger,
            tls: webhookTLS,
            log: { [weak self] name in self?.serviceSupervisor(name)?.log },
            spec: { [weak self] name in self?.manifest[daemon: name] }
        )
        let hooking = registry.observe { hooks.observe($0) }
        defer {
            hooking.cancel()
            hooks.finish()
        }
        registry.publish(.supervisor(SupervisorNotice(state: .starting, pid: getpid())))
        logger.info(
            "supervisor started",
            metadata: ["pid": "\(getpid())", "manifest": .string(manifest.file), "daemons": "\(services.count)"]
        )
        let signals = await trapping
        var loop = SupervisorLoop(
            supervisor: self,
            machine: Machine(manifest: manifest, services: services),
            lock: lock
        )
        await withDiscardingTaskGroup { serving in
            // A discarding group: the task of every daemon that ends (a stop, a restart, a reload) is released at
            // once instead of being kept until someone awaits its result.
            await withDiscardingTaskGroup { group in
                // The daemons are launched first: their tasks are queued ahead of the servers', the watches' and the
                // signals', and the first spawns overlap with making those.
                let finished = loop.start(in: &group)
                openLogs(of: services)
                await Task.yield()  // lets the daemons' tasks run up to their spawns first
                let servers = controlServers(onReady: onReady, http: http)
                loop.servers = servers
                serving.addTask { [input, logger] in
                    do {
                        try await servers.run()
                    } catch  where !Task.isCancelled {
                        // Without its control API the supervisor could not be told anything: stop rather than run
                        // blind.
                        logger.critical("the control server failed; stopping", metadata: ["error": "\(error)"])
                        input.yield(.down)
                    } catch {}
                }
                group.addTask { [input, logger] in
                    for await signal in signals {
                        if signal == .sighup {
                            logger.info("SIGHUP received: reloading the manifest")
                            input.yield(.reloadRequested(ReloadRequest(origin: .signal)))
                            continue
                        }
                        logger.info("signal received, stopping", metadata: ["signal": "\(signal)"])
                        input.yield(.down)
                        return
                    }
                }
                group.addTask { await hooks.run() }
                group.addTask { [watchesEnded] in
                    await withDiscardingTaskGroup { watches in
                        watches.addTask { await self.watchManifest() }
                        watches.addTask { await self.watchStateFolder() }
                        watches.addTask { await self.watchProcessFiles() }
                        for await _ in watchesEnded {}
                        watches.cancelAll()
                    }
                }
                if !finished { await loop.run(in: &group) }
                watchSettingsChanged.finish()
                restartWatchesChanged.finish()
                if adoptsOrphans {
                    // Strays that left their command's process group (by setsid) outlive the group kill: end them.
                    let strays = await ChildReaper.endAdoptedOrphans(grace: .seconds(2))
                    if !strays.isEmpty {
                        logger.warning(
                            "ended processes that left their command's group",
                            metadata: ["pids": "\(strays)"]
                        )
                    }
                }
                group.cancelAll()
            }
            // Event streams end first, then the servers finish the answers in flight and stop.
            registry.finishSubscribers()
            logTaps.finish()
            await loop.servers?.triggerGracefulShutdown()
        }
        for lock in loop.locks { lock.release() }
        logger.info("supervisor stopped")
    }

    /// The control servers: the control socket's, and `control.http`'s when the manifest sets it. They run in a
    /// service group of their own, so that `down` lets them finish the requests in flight (the `down` that asked for
    /// it, above all) before they stop: hummingbird's graceful shutdown.
    private func controlServers(
        onReady: @escaping @Sendable () -> Void,
        http: (host: String, port: Int, key: String?)?
    ) -> ServiceGroup {
        var services = [ServiceGroupConfiguration.ServiceConfiguration(service: controlSocketServer(onReady: onReady))]
        if let http {
            let router = ControlAPI(supervisor: self, apiKey: http.key, dashboard: true).router()
            services.append(.init(service: IPCServer(router: router, host: http.host, port: http.port, logger: logger)))
        }
        var configuration = ServiceGroupConfiguration(services: services, logger: logger)
        configuration.maximumGracefulShutdownDuration = .seconds(1)
        return ServiceGroup(configuration: configuration)
    }

    /// The control API on the control socket; `onReady` runs once it answers.
    func controlSocketServer(onReady: @escaping @Sendable () -> Void = {}) -> IPCServer<BasicRequestContext> {
        IPCServer(router: ControlAPI(supervisor: self).router(), socketPath: socketPath, logger: logger) {
            onReady()
        }
    }

    /// Where the control API listens on `control.http`, when the manifest sets it, and its key: the value of the
    /// variable `control.api_key_env` names (the manifest only allows a non-loopback address with one).
    private func controlHTTPAddress() throws -> (host: String, port: Int, key: String?)? {
        guard let control = manifest.control, case .tcp(let host, let port)? = control.http else { return nil }
        guard let variable = control.apiKeyEnvironment else { return (host, port, nil) }
        guard let value = ProcessInfo.processInfo.environment[variable], !value.isEmpty else {
            throw OrchestratorError(
                code: .supervisorUnavailable,
                message: "control.api_key_env names \(variable), which is not set in the supervisor's environment"
            )
        }
        return (host, port, value)
    }

    /// Asks the supervisor to stop everything and exit.
    public func shutDown() { input.yield(.down) }

    /// Posts an event to the main loop (from the control API, the watches).
    func post(_ event: Machine.Event) { input.yield(event) }

    /// Makes a service supervisor for each enabled daemon, its log not opened yet (``openLogs(of:)``).
    private func compile() throws -> [String: ServiceSupervisor] {
        var result: [String: ServiceSupervisor] = [:]
        try RotatingLogFile.prepareFolder(stateFolder.logs)
        for spec in manifest.daemons where spec.enabled {
            result[spec.name] = try makeSupervisor(spec, service: try service(for: spec), openingLogLater: true)
        }
        snapshot.withLock { $0.services = result }
        return result
    }

    /// The service of an enabled daemon.
    func service(for spec: DaemonSpec) throws -> any DaemonService { try makeService(spec, stateFolder) }

    /// Opens the logs of `services` in the manifest's order, from a thread of their own: the daemons are launched
    /// first, and what they write meanwhile waits in memory.
    private func openLogs(of services: [String: ServiceSupervisor]) {
        RotatingLogFile.openInBackground(manifest.daemons.compactMap { services[$0.name]?.log })
    }

    /// The supervisor of `service` under the restart policy of `spec`, with the daemon's log opened (or, with
    /// `openingLogLater`, made ready to be opened by ``RotatingLogFile/open()``).
    func makeSupervisor(
        _ spec: DaemonSpec,
        service: any DaemonService,
        openingLogLater: Bool = false
    ) throws -> ServiceSupervisor {
        let name = spec.name
        let (mirror, taps) = (mirror, logTaps)
        let lineMirror: @Sendable ([UInt8]) -> Void = { line in
            mirror?(name, line)
            taps.publish(name, line)
        }
        let (registry, logger) = (registry, logger)
        let onNotice = { @Sendable (notice: RotatingLogFile.Notice) in
            // A log that cannot be written (a full disk) is reported in the daemon's health and the supervisor's
            // log; the daemon keeps running, and the lines wait in a bounded backlog.
            switch notice {
            case .failing(let reason):
                logger.error(
                    "a daemon's log cannot be written",
                    metadata: ["daemon": .string(name), "error": .string(reason)]
                )
                registry.report(name, .health("log", "not written: \(reason)"))
            case .resumed(let dropped):
                logger.notice(
                    "a daemon's log is written again",
                    metadata: ["daemon": .string(name), "lost_lines": "\(dropped)"]
                )
                registry.report(name, .health("log", nil))
            }
        }
        let path = stateFolder.log(of: spec.name)
        let log =
            openingLogLater
            ? RotatingLogFile(unopenedAt: path, rotation: spec.log, mirror: lineMirror, onNotice: onNotice)
            : try RotatingLogFile(path: path, rotation: spec.log, mirror: lineMirror, onNotice: onNotice)
        return ServiceSupervisor(
            service: service,
            policy: spec.restart,
            registry: registry,
            log: log,
            logger: logger,
            processGroups: processGroups,
            link: WeakSupervisorLink(self),
            metrics: metrics
        )
    }

    /// The service supervisor of a daemon, for the control API.
    func serviceSupervisor(_ name: String) -> ServiceSupervisor? { snapshot.withLock { $0.services[name] } }

    /// Records a reload's outcome for `status`, the log and the event stream.
    func record(_ outcome: ReloadOutcome, trigger: ReloadRequest.Origin) {
        let report = ReloadReport(
            at: Date(),
            ok: outcome.ok,
            errors: outcome.errors,
            plan: outcome.plan,
            trigger: trigger.rawValue
        )
        snapshot.withLock { $0.lastReload = report }
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
        registry.publish(.reload(report))
    }
}

/// Why a control request was refused: an HTTP status and one sentence.
struct ControlFailure: Error, Sendable {
    var status: Int
    var message: String
    var suggestion: String? = nil
}
