import DaemonKit
import FoundationEssentials
import Logging
import Manifest
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The supervisor's main loop: the one owner of its state. It feeds the ``SupervisorStateMachine`` one event at a
/// time and carries out the actions it returns — the effects: tasks started and stopped, records registered,
/// callers answered, reloads loaded and recorded — then publishes what others read (``Supervisor/Snapshot``).
struct SupervisorLoop {
    typealias Machine = Supervisor.Machine

    let supervisor: Supervisor
    var machine: Machine
    /// Where reloads read the manifest from now.
    var source: ManifestLoader
    /// The locks held on the PID file: the first, and one more for each time the state folder was made again.
    var locks: [PIDLock]
    /// The control servers' group, where a control socket made again is served (made once the daemons launched).
    var servers: ServiceGroup?
    /// The machine's version last published.
    private var published: Int

    init(supervisor: Supervisor, machine: Machine, lock: PIDLock) {
        self.supervisor = supervisor
        self.machine = machine
        locks = [lock]
        source = supervisor.initialSource
        published = machine.version
    }

    private var registry: DaemonRegistry { supervisor.registry }

    /// Starts every daemon; true when that finished the supervisor.
    mutating func start(in group: inout DiscardingTaskGroup) -> Bool { perform(machine.handle(.up), in: &group) }

    /// Handles events until `down` is done.
    mutating func run(in group: inout DiscardingTaskGroup) async {
        for await event in supervisor.events {
            if perform(machine.handle(event), in: &group) { return }
        }
    }

    /// Carries out `actions` in order; true once the supervisor is done.
    mutating func perform(_ actions: [Machine.Action], in group: inout DiscardingTaskGroup) -> Bool {
        var pending = actions[...]
        var finished = false
        // Daemons launched or a reload answered: start-up code ran that idling will not run again.
        var burst = false
        while let action = pending.popFirst() {
            switch action {
            case .launch(let name, let generation, let service):
                // The daemon's log must be findable (for its notes) before its task runs.
                publish()
                launch(name, generation: generation, service: service, in: &group)
                burst = true
            case .stop(let name, let service):
                registry.report(name, .stopping)
                service.requestStop()
            case .register(let spec):
                registry.register(DaemonRecord(name: spec.name, kind: spec.kindName, enabled: spec.enabled))
            case .remove(let name):
                registry.remove(name)
            case .reorder(let names):
                registry.reorder(names)
            case .answer(let reply, .record(let name)):
                if let record = registry.record(name) {
                    reply(.success(record))
                } else {
                    reply(.failure(unknownDaemonFailure(name, in: machine.manifest)))
                }
            case .answer(let reply, .failure(let failure)):
                reply(.failure(failure))
            case .prepareReload(let request):
                // Loading is synchronous: what it answers is handled before any other event.
                pending.append(contentsOf: machine.handle(.reloadPrepared(request, prepare(request))))
            case .commit(let manifest, let source, let warnings):
                for warning in warnings { supervisor.logger.warning("\(warning)") }
                commit(manifest, source: source)
            case .finishReload(let request, let outcome, let record):
                if record { supervisor.record(outcome, trigger: request.origin) }
                request.reply?(outcome)
                burst = true
            case .restoreStateFolder:
                restoreStateFolder(in: &group)
            case .stopping:
                supervisor.logger.info("stopping every daemon")
                supervisor.endWatches.finish()
                registry.publish(.supervisor(SupervisorNotice(state: .stopping, pid: getpid())))
            case .finish:
                finished = true
            }
        }
        publish()
        if burst, !finished { supervisor.memoryRelease.settled() }
        return finished
    }

    /// Publishes the manifest and services for the others to read, when they changed.
    private mutating func publish() {
        guard machine.version != published else { return }
        published = machine.version
        let manifest = machine.manifest
        let services = machine.daemons.compactMapValues(\.service)
        supervisor.snapshot.withLock { snapshot in
            snapshot.manifest = manifest
            snapshot.services = services
        }
    }

    /// Starts the task of daemon `name`'s launch `generation`: it first waits for its dependencies
    /// (``DependencyGate``, `waiting`), then runs its service until it is told to stop or gives up.
    private func launch(
        _ name: String,
        generation: Int,
        service: ServiceSupervisor,
        in group: inout DiscardingTaskGroup
    ) {
        let stopped = service.armStop()
        registry.report(name, .launching)
        let gate = DependencyGate(
            name: name,
            dependencies: machine.manifest[daemon: name]?.dependencies ?? [],
            registry: registry
        )
        let supervisor = supervisor
        group.addTask {
            await withTaskGroup(of: Void.self) { daemon in
                daemon.addTask { if await gate.wait() { await service.run() } }
                daemon.addTask { for await _ in stopped {} }
                await daemon.next()
                daemon.cancelAll()
            }
            supervisor.post(.ended(name, generation: generation))
        }
    }

    /// Loads the manifest, makes the plan and, unless it is a dry run, the services of the added and changed daemons;
    /// nothing is touched yet.
    private func prepare(_ request: ReloadRequest) -> Result<Machine.PreparedReload, Machine.ReloadRefusal> {
        var source = source
        if let environment = request.environment { source.environment = environment }
        if let setArguments = request.setArguments { source.setArguments = setArguments }
        let old = machine.manifest
        let loaded: Manifest
        var warnings: [String] = []
        if let scale = request.scale {
            // A scale changes the running manifest, whatever the file holds now; later loads keep it.
            if let refusal = scaleRefusal(scale.name, to: scale.count, in: old) {
                return .failure(Machine.ReloadRefusal(errors: [refusal.message]))
            }
            loaded = old.scaled(scale.name, to: scale.count)!
            source.scales[scale.name] = ReplicaScale(declared: old.declaredReplicas[scale.name], count: scale.count)
        } else {
            do {
                let file = try source.load()
                (loaded, warnings) = (file.manifest, file.warnings)
                source.scales = file.scales
            } catch {
                return .failure(Machine.ReloadRefusal(errors: error.errors.map(\.description)))
            }
        }
        let plan = ReloadPlan(from: old, to: loaded)
        let new = ReloadPlan.applicable(loaded, keeping: old)
        var services: [String: ServiceSupervisor] = [:]
        if !request.dryRun {
            for name in plan.added + plan.changed {
                guard let spec = new[daemon: name], spec.enabled else { continue }
                do {
                    services[name] = try supervisor.makeSupervisor(spec, service: try supervisor.service(for: spec))
                } catch {
                    return .failure(Machine.ReloadRefusal(errors: ["daemons.\(name): \(error)"]))
                }
            }
        }
        return .success(
            Machine.PreparedReload(
                manifest: new,
                source: source,
                plan: plan,
                services: services,
                warnings: warnings
            )
        )
    }

    /// Takes on a committed manifest's source, and has the manifest watch restart when what it watches changed.
    private mutating func commit(_ manifest: Manifest, source newSource: ManifestLoader) {
        let before = supervisor.manifest
        source = newSource
        publish()
        if Supervisor.restartWatches(of: before) != Supervisor.restartWatches(of: manifest) {
            supervisor.restartWatchesChanged.yield()
        }
        if before.reload != manifest.reload
            || Supervisor.watchedFiles(of: before) != Supervisor.watchedFiles(of: manifest)
        {
            supervisor.watchSettingsChanged.yield()
            supervisor.manifestWatch.withLock { $0?.stop() }
        }
    }
}
