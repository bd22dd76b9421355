import DaemonKit
import Logging
import Manifest

/// The supervisor's state between events, owned by its main loop's task: the daemons' services, the task of
/// each running daemon, restarts waiting for a task to end, and the reload being applied.
///
/// A reload is applied in two steps. First, without touching anything, the new manifest is loaded, compared
/// (``ReloadPlan``) and the services of added and changed daemons are made: any failure there leaves everything
/// as it was. Then the plan is committed: added daemons start, removed and changed ones are told to stop, and
/// as each stopped one's task ends, a changed one starts again with its new service and a removed one is
/// dropped. The reload's requester is answered once the last of them is done. Reloads that arrive meanwhile
/// wait their turn (a burst of saves collapses into one), so two plans are never applied at once.
struct SupervisionLoop {
    typealias Reply = @Sendable (Result<DaemonRecord, ControlFailure>) -> Void

    /// A reload whose plan is committed, waiting for the old tasks of removed and changed daemons to end.
    struct Applying {
        var request: ReloadRequest
        var plan: ReloadPlan
        /// Daemons whose old task must end before the plan is done.
        var waiting: Set<String>
        /// The new services of changed and added daemons that are enabled.
        var services: [String: any DaemonService]
    }

    let supervisor: Supervisor
    let input: AsyncStream<Supervisor.Event>.Continuation
    /// The service supervisor of every enabled daemon.
    var services: [String: ServiceSupervisor]
    /// The task of each running daemon: its generation and the trigger that stops it.
    var running: [String: (generation: Int, stop: AsyncStream<Void>.Continuation)] = [:]
    var generation = 0
    /// Replies of restarts waiting for their daemon's old task to end.
    var restarting: [String: [Reply]] = [:]
    var shuttingDown = false
    /// Daemons told to stop by `down`.
    var stopping: Set<String> = []
    var applying: Applying?
    var queuedReloads: [ReloadRequest] = []

    init(
        supervisor: Supervisor,
        services: [String: ServiceSupervisor],
        input: AsyncStream<Supervisor.Event>.Continuation
    ) {
        self.supervisor = supervisor
        self.services = services
        self.input = input
    }

    var registry: DaemonRegistry { supervisor.registry }

    /// Starts the task of daemon `name`, unless it runs or has no service (disabled).
    /// It first waits for its dependencies (``DependencyGate``), `waiting`; a stop then ends the wait.
    mutating func launch(_ name: String, in group: inout DiscardingTaskGroup) {
        guard let service = services[name], running[name] == nil else { return }
        generation += 1
        let (stopped, stop) = AsyncStream.makeStream(of: Void.self)
        running[name] = (generation, stop)
        registry.update(name) { $0.state = .starting }
        let (current, input) = (generation, input)
        let log = service.log
        let gate = DependencyGate(
            name: name,
            dependencies: supervisor.manifest[daemon: name]?.dependencies ?? [],
            registry: registry,
            note: { log.writeLine("[orchestrate] " + $0) }
        )
        group.addTask {
            await withTaskGroup(of: Void.self) { daemon in
                daemon.addTask { if await gate.wait() { await service.run() } }
                daemon.addTask { for await _ in stopped {} }
                await daemon.next()
                daemon.cancelAll()
            }
            input.yield(.ended(name, generation: current))
        }
    }

    /// Tells the task of `name` to stop; false when it does not run.
    mutating func requestStop(_ name: String) -> Bool {
        guard let handle = running[name] else { return false }
        registry.update(name) { $0.state = .stopping }
        handle.stop.finish()
        return true
    }

    /// Handles one event; true once the supervisor is done (every daemon stopped after `down`).
    mutating func handle(_ event: Supervisor.Event, in group: inout DiscardingTaskGroup) -> Bool {
        switch event {
        case .start(let name, let reply):
            guard services[name] != nil else { return refuse(name, reply) }
            if running[name] == nil { launch(name, in: &group) }
            reply(.success(registry.record(name)!))
        case .stop(let name, let reply):
            guard services[name] != nil else { return refuse(name, reply) }
            _ = requestStop(name)
            reply(.success(registry.record(name)!))
        case .restart(let name, let reply):
            guard services[name] != nil else { return refuse(name, reply) }
            if requestStop(name) {
                restarting[name, default: []].append(reply)
            } else {
                launch(name, in: &group)
                reply(.success(registry.record(name)!))
            }
            // Daemons that follow it (`restart_with_dependencies`) restart too, and wait for it to be ready again.
            for follower in ReloadPlan.followers(of: [name], in: supervisor.manifest) where requestStop(follower) {
                restarting[follower, default: []].append { _ in }
            }
        case .ended(let name, let ended):
            guard running[name]?.generation == ended else { return false }
            running[name] = nil
            if !shuttingDown, var applying, applying.waiting.remove(name) != nil {
                self.applying = applying
                if applying.plan.restarted.contains(name) {
                    launch(name, in: &group)
                } else {
                    replace(name, in: &group)
                }
                if applying.waiting.isEmpty { finishReload(in: &group) }
            }
            if let waiting = restarting.removeValue(forKey: name) {
                if shuttingDown {
                    for reply in waiting {
                        reply(.failure(ControlFailure(status: 409, message: "the supervisor is stopping")))
                    }
                } else if services[name] == nil {
                    for reply in waiting { reply(.failure(supervisor.unknownDaemonFailure(name))) }
                } else {
                    launch(name, in: &group)
                    for reply in waiting { reply(.success(registry.record(name)!)) }
                }
            }
            if shuttingDown {
                if running.isEmpty { return true }
                stopInDependencyOrder()
            }
        case .reload(let request):
            if shuttingDown {
                request.reply?(ReloadOutcome(ok: false, dryRun: request.dryRun, errors: ["the supervisor is stopping"]))
            } else if applying != nil {
                // A save while a plan is applied: applied after it. Saves waiting already cover this one.
                let coalesces = request.origin == .file && queuedReloads.contains { $0.origin == .file }
                if !coalesces { queuedReloads.append(request) }
            } else {
                begin(request, in: &group)
            }
        case .checkStateFolder:
            // While stopping, the supervisor removes its socket itself.
            if !shuttingDown { supervisor.restoreStateFolder(in: &group) }
        case .down:
            guard !shuttingDown else { return false }
            shuttingDown = true
            supervisor.logger.info("stopping every daemon")
            let stopping = ReloadOutcome(ok: false, errors: ["the supervisor is stopping"])
            applying?.request.reply?(stopping)
            applying = nil
            for request in queuedReloads { request.reply?(stopping) }
            queuedReloads = []
            if running.isEmpty { return true }
            stopInDependencyOrder()
        }
        return false
    }

    /// During `down`: tells every running daemon that no running daemon depends on to stop, so dependents stop
    /// before what they depend on (independent daemons all at once). Called again as each task ends.
    mutating func stopInDependencyOrder() {
        var needed: Set<String> = []
        for spec in supervisor.manifest.daemons where running[spec.name] != nil {
            for dependency in spec.dependencies { needed.insert(dependency.name) }
        }
        for name in running.keys.sorted() where !needed.contains(name) && !stopping.contains(name) {
            stopping.insert(name)
            _ = requestStop(name)
        }
    }

    private func refuse(_ name: String, _ reply: Reply) -> Bool {
        reply(.failure(supervisor.unknownDaemonFailure(name)))
        return false
    }

    // MARK: - Reload

    /// Loads the manifest, makes the plan, and (unless it is a dry run) commits it; a failure changes nothing.
    mutating func begin(_ request: ReloadRequest, in group: inout DiscardingTaskGroup) {
        var source = supervisor.manifestSource
        if let environment = request.environment { source.environment = environment }
        if let setArguments = request.setArguments { source.setArguments = setArguments }
        let old = supervisor.manifest
        let loaded: LoadedManifest
        do {
            loaded = try source.load()
        } catch {
            return fail(request, errors: error.errors.map(\.description), in: &group)
        }
        let plan = ReloadPlan(from: old, to: loaded.manifest)
        if request.dryRun {
            request.reply?(ReloadOutcome(ok: true, dryRun: true, plan: plan))
            return next(in: &group)
        }
        let new = ReloadPlan.applicable(loaded.manifest, keeping: old)
        var made: [String: any DaemonService] = [:]
        for name in plan.added + plan.changed {
            guard let spec = new[daemon: name], spec.enabled else { continue }
            do {
                made[name] = try supervisor.service(for: spec)
            } catch {
                return fail(request, errors: ["daemons.\(name): \(error)"], in: &group)
            }
        }

        // Committed from here on.
        for warning in loaded.warnings { supervisor.logger.warning("\(warning)") }
        supervisor.commit(new, source: source)
        var waiting: Set<String> = []
        for name in plan.removed + plan.changed + plan.restarted where requestStop(name) { waiting.insert(name) }
        applying = Applying(request: request, plan: plan, waiting: waiting, services: made)
        for name in plan.removed + plan.changed + plan.added where !waiting.contains(name) { replace(name, in: &group) }
        registry.reorder(new.daemons.map(\.name))
        if waiting.isEmpty { finishReload(in: &group) }
    }

    /// Puts the committed manifest's version of daemon `name` in place (its old task has ended): a removed daemon
    /// is dropped; a changed or added one gets a fresh record and, when enabled, its new service, started.
    mutating func replace(_ name: String, in group: inout DiscardingTaskGroup) {
        services[name] = nil
        defer { supervisor.publishServices(services) }
        guard let spec = supervisor.manifest[daemon: name] else {
            registry.remove(name)
            return
        }
        registry.register(DaemonRecord(name: spec.name, kind: spec.kindName, enabled: spec.enabled))
        guard let service = applying?.services[name] else { return }
        do {
            services[name] = try supervisor.makeSupervisor(spec, service: service)
            launch(name, in: &group)
        } catch {
            registry.update(name) {
                $0.state = .failed
                $0.lastError = "\(error)"
            }
        }
    }

    /// The committed plan is done: every stop and start of it.
    mutating func finishReload(in group: inout DiscardingTaskGroup) {
        guard let applying else { return }
        self.applying = nil
        let outcome = ReloadOutcome(ok: true, plan: applying.plan)
        supervisor.record(outcome, trigger: applying.request.origin)
        applying.request.reply?(outcome)
        next(in: &group)
    }

    /// A reload that changed nothing: recorded (except a dry run's), answered.
    mutating func fail(_ request: ReloadRequest, errors: [String], in group: inout DiscardingTaskGroup) {
        let outcome = ReloadOutcome(ok: false, dryRun: request.dryRun, errors: errors)
        if !request.dryRun { supervisor.record(outcome, trigger: request.origin) }
        request.reply?(outcome)
        next(in: &group)
    }

    /// Starts the next waiting reload, if any.
    mutating func next(in group: inout DiscardingTaskGroup) {
        guard applying == nil, !queuedReloads.isEmpty else { return }
        begin(queuedReloads.removeFirst(), in: &group)
    }
}
