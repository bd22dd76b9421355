import DaemonKit
import Manifest

/// The supervisor's decisions, apart from their effects: events go in (up, a control request, a daemon's task
/// ended, a reload requested or prepared, down), actions come out (launch a daemon, ask one to stop, answer a
/// caller, prepare or commit a reload, record). The supervisor's main loop owns the one instance, feeds it its
/// events one at a time and carries out the actions; tests drive it by hand.
///
/// A reload is applied in two steps. First, without touching anything, the new manifest is loaded, compared
/// (``ReloadPlan``) and the services of added and changed daemons are made (``Action/prepareReload(_:)``, answered by
/// ``Event/reloadPrepared(_:_:)``): any failure there leaves everything as it was. Then the plan is committed: added
/// daemons start, removed and changed ones are told to stop, and as each stopped one's task ends, a changed one
/// starts again with its new service and a removed one is dropped. The reload's requester is answered once the last
/// of them is done. Reloads that arrive meanwhile wait their turn (a burst of saves collapses into one), so two
/// plans are never applied at once.
///
/// `Service` is what runs a daemon (the supervisor's ``ServiceSupervisor``; any value in tests).
struct SupervisorStateMachine<Service: Sendable> {
    /// Answers a start, stop or restart request.
    typealias Reply = @Sendable (Result<DaemonRecord, ControlFailure>) -> Void

    /// What the machine is told.
    enum Event {
        /// Start: register every daemon and launch the enabled ones.
        case up
        /// `orchestrate start NAME`.
        case start(String, Reply)
        /// `orchestrate stop NAME`.
        case stop(String, Reply)
        /// `orchestrate restart NAME`: it and the daemons that follow it (`restart_with_dependencies`).
        case restart(String, Reply)
        /// The task of a daemon's launch ended (stopped, or its service gave up or completed).
        case ended(String, generation: Int)
        /// A reload is asked for (a save, SIGHUP, `orchestrate reload`).
        case reloadRequested(ReloadRequest)
        /// The reload asked of ``Action/prepareReload(_:)`` was prepared, or could not be (its errors).
        case reloadPrepared(ReloadRequest, Result<PreparedReload, ReloadRefusal>)
        /// Stop everything, then finish.
        case down
        /// Something in the state folder changed or the folder went away.
        case stateFolderChanged
    }

    /// What the machine decides.
    enum Action {
        /// Start the task of daemon `name`'s launch number `generation`, running `service`.
        case launch(String, generation: Int, Service)
        /// Tell the running task of daemon `name` to stop.
        case stop(String, Service)
        /// Give daemon `spec` a fresh record.
        case register(DaemonSpec)
        /// Drop daemon `name`'s record.
        case remove(String)
        /// Put the records in this order.
        case reorder([String])
        /// Answer a start, stop or restart.
        case answer(Reply, Answer)
        /// Load the manifest for `request`, plan it and make its new services; answer with ``Event/reloadPrepared``.
        case prepareReload(ReloadRequest)
        /// The prepared manifest is committed: it is the one running now, read again from `source` by later reloads.
        case commit(Manifest, source: ManifestLoader, warnings: [String])
        /// The reload is done, or refused: answer its requester, and with `record` record it for `status` and the
        /// event stream (not for a dry run, nor for a reload refused because the supervisor is stopping).
        case finishReload(ReloadRequest, ReloadOutcome, record: Bool)
        /// Make again what is missing from the state folder.
        case restoreStateFolder
        /// `down` began: every daemon is being stopped.
        case stopping
        /// Every daemon has stopped after `down`: the supervisor is done.
        case finish
    }

    /// What a start, stop or restart is answered with.
    enum Answer {
        /// The daemon's record as it is when the answer is sent.
        case record(String)
        /// A refusal.
        case failure(ControlFailure)
    }

    /// A reload ready to commit: the manifest to run, its plan, and the services of its added and changed daemons.
    struct PreparedReload {
        var manifest: Manifest
        var source: ManifestLoader
        var plan: ReloadPlan
        var services: [String: Service]
        var warnings: [String] = []
    }

    /// Why a reload could not be prepared: every error found.
    struct ReloadRefusal: Error {
        var errors: [String]
    }

    /// A reload whose plan is committed, waiting for the old tasks of removed and changed daemons to end.
    struct Applying {
        var request: ReloadRequest
        var plan: ReloadPlan
        /// Daemons whose old task must end before the plan is done.
        var waiting: Set<String>
        /// The new services of changed and added daemons that are enabled.
        var services: [String: Service]
        /// Daemons of ``waiting`` not yet asked to stop, each with the daemons stopping that depend on it: as in
        /// `down`, dependents stop before what they depend on, each with its own stop timeout.
        var stopsAfter: [String: Set<String>] = [:]
    }

    /// Where the supervisor is.
    enum State {
        /// Made; `up` starts it.
        case initial
        /// Running the daemons.
        case running
        /// Loading and planning a reload; `queued` wait their turn.
        case preparingReload(ReloadRequest, queued: [ReloadRequest])
        /// Applying a committed plan; `queued` wait their turn.
        case applyingReload(Applying, queued: [ReloadRequest])
        /// `down`: stopping every daemon, dependents first; `told` have been asked to stop.
        case stopping(told: Set<String>)
        /// Every daemon stopped after `down`.
        case finished
    }

    /// One daemon of the manifest (or a removed one whose task has not ended yet).
    struct Daemon {
        /// What runs it; nil when it is disabled.
        var service: Service?
        /// The generation of its running task, if one runs.
        var running: Int?
        /// Replies waiting for its restart (its old task to end); nil when no restart is pending.
        var pendingRestart: [Reply]?
        /// Stopped by request while a reload was replacing it: its replacement is installed but not started.
        var held = false
    }

    /// Where the supervisor is.
    private(set) var state: State = .initial
    /// The manifest running: the one `up` loaded, then the last one a reload committed.
    private(set) var manifest: Manifest
    /// Every daemon, by name: the one map of them.
    private(set) var daemons: [String: Daemon]
    /// A number that changes whenever ``manifest`` or a daemon's service changes, for those who copy them.
    private(set) var version = 0
    private var generation = 0

    /// A machine for `manifest`, with the service of each enabled daemon.
    init(manifest: Manifest, services: [String: Service]) {
        self.manifest = manifest
        var daemons: [String: Daemon] = [:]
        for spec in manifest.daemons { daemons[spec.name] = Daemon(service: services[spec.name]) }
        self.daemons = daemons
    }

    /// The names of the daemons whose task runs now.
    var runningNames: [String] { daemons.filter { $0.value.running != nil }.map(\.key).sorted() }

    /// Handles one event and returns what to do about it, in order.
    mutating func handle(_ event: Event) -> [Action] {
        switch event {
        case .up: return up()
        case .start(let name, let reply): return start(name, reply)
        case .stop(let name, let reply): return stop(name, reply)
        case .restart(let name, let reply): return restart(name, reply)
        case .ended(let name, let generation): return ended(name, generation: generation)
        case .reloadRequested(let request): return reloadRequested(request)
        case .reloadPrepared(let request, let result): return reloadPrepared(request, result)
        case .down: return down()
        case .stateFolderChanged:
            switch state {
            case .stopping, .finished: return []  // the supervisor removes its socket itself
            default: return [.restoreStateFolder]
            }
        }
    }

    // MARK: - Daemons

    private mutating func up() -> [Action] {
        guard case .initial = state else { return [] }
        state = .running
        var actions = manifest.daemons.map { Action.register($0) }
        for spec in manifest.daemons { actions += launch(spec.name) }
        return actions
    }

    /// Launches daemon `name` unless it runs or has no service (disabled).
    private mutating func launch(_ name: String) -> [Action] {
        guard var daemon = daemons[name], let service = daemon.service, daemon.running == nil else { return [] }
        generation += 1
        daemon.running = generation
        daemon.held = false
        daemons[name] = daemon
        return [.launch(name, generation: generation, service)]
    }

    /// Asks daemon `name`'s task to stop; nothing when none runs.
    private func requestStop(_ name: String) -> [Action] {
        guard let daemon = daemons[name], daemon.running != nil, let service = daemon.service else { return [] }
        return [.stop(name, service)]
    }

    /// Whether `down` has begun.
    private var isStopping: Bool {
        switch state {
        case .stopping, .finished: true
        default: false
        }
    }

    private func refusal(_ name: String) -> ControlFailure? {
        if isStopping { return ControlFailure(status: 409, message: "the supervisor is stopping") }
        guard daemons[name]?.service != nil else { return unknownDaemonFailure(name, in: manifest) }
        return nil
    }

    private mutating func start(_ name: String, _ reply: @escaping Reply) -> [Action] {
        if let failure = refusal(name) { return [.answer(reply, .failure(failure))] }
        return launch(name) + [.answer(reply, .record(name))]
    }

    private mutating func stop(_ name: String, _ reply: @escaping Reply) -> [Action] {
        if let failure = refusal(name) { return [.answer(reply, .failure(failure))] }
        if case .applyingReload(let applying, _) = state, applying.waiting.contains(name) {
            // Its old task is stopping already; the stop also holds back the new version the plan would start.
            daemons[name]?.held = true
        }
        daemons[name]?.pendingRestart = nil
        return requestStop(name) + [.answer(reply, .record(name))]
    }

    private mutating func restart(_ name: String, _ reply: @escaping Reply) -> [Action] {
        if let failure = refusal(name) { return [.answer(reply, .failure(failure))] }
        daemons[name]?.held = false
        var actions = requestStop(name)
        if actions.isEmpty {
            actions = launch(name) + [.answer(reply, .record(name))]
        } else {
            let waiting = daemons[name]?.pendingRestart ?? []
            daemons[name]?.pendingRestart = waiting + [reply]
        }
        // Daemons that follow it (`restart_with_dependencies`) restart too, and wait for it to be ready again.
        for follower in ReloadPlan.followers(of: [name], in: manifest) {
            let stop = requestStop(follower)
            guard !stop.isEmpty else { continue }
            actions += stop
            if daemons[follower]?.pendingRestart == nil { daemons[follower]?.pendingRestart = [] }
        }
        return actions
    }

    private mutating func ended(_ name: String, generation ended: Int) -> [Action] {
        guard let daemon = daemons[name], daemon.running == ended else { return [] }
        daemons[name]?.running = nil
        var actions: [Action] = []
        switch state {
        case .stopping(var told):
            for reply in daemon.pendingRestart ?? [] {
                actions.append(
                    .answer(reply, .failure(ControlFailure(status: 409, message: "the supervisor is stopping")))
                )
            }
            daemons[name]?.pendingRestart = nil
            if runningNames.isEmpty {
                state = .finished
                return actions + [.finish]
            }
            actions += stopInDependencyOrder(&told)
            state = .stopping(told: told)
            return actions
        case .applyingReload(var applying, let queued) where applying.waiting.remove(name) != nil:
            applying.stopsAfter[name] = nil
            for (pending, blockers) in applying.stopsAfter where blockers.contains(name) {
                let left = blockers.subtracting([name])
                applying.stopsAfter[pending] = left.isEmpty ? nil : left
                if left.isEmpty { actions += requestStop(pending) }
            }
            if applying.plan.restarted.contains(name) {
                if daemons[name]?.held == false { actions += launch(name) }
                daemons[name]?.held = false
            } else {
                actions += replace(name, with: applying)
            }
            state = .applyingReload(applying, queued: queued)
            if applying.waiting.isEmpty { actions += finishReload(applying, queued: queued) }
        default:
            break
        }
        if let waiting = daemons[name]?.pendingRestart {
            daemons[name]?.pendingRestart = nil
            actions += launch(name)
            for reply in waiting { actions.append(.answer(reply, .record(name))) }
        }
        return actions
    }

    private mutating func down() -> [Action] {
        let stopping = ReloadOutcome(ok: false, errors: ["the supervisor is stopping"])
        var actions: [Action] = []
        switch state {
        case .stopping, .finished:
            return []
        case .initial, .running:
            break
        case .preparingReload(let request, let queued):
            actions = ([request] + queued).map { .finishReload($0, stopping, record: false) }
        case .applyingReload(let applying, let queued):
            actions = ([applying.request] + queued).map { .finishReload($0, stopping, record: false) }
        }
        actions.append(.stopping)
        var told: Set<String> = []
        actions += stopInDependencyOrder(&told)
        if runningNames.isEmpty {
            state = .finished
            return actions + [.finish]
        }
        state = .stopping(told: told)
        return actions
    }

    /// During `down`: asks every running daemon that no running daemon depends on to stop, so dependents stop
    /// before what they depend on (independent daemons all at once). Called again as each task ends.
    private func stopInDependencyOrder(_ told: inout Set<String>) -> [Action] {
        let running = runningNames
        var needed: Set<String> = []
        for name in running {
            for dependency in manifest[daemon: name]?.dependencies ?? [] { needed.insert(dependency.name) }
        }
        var actions: [Action] = []
        for name in running where !needed.contains(String(DaemonSpec.group(of: name))) && !told.contains(name) {
            told.insert(name)
            actions += requestStop(name)
        }
        return actions
    }

    // MARK: - Reload

    private mutating func reloadRequested(_ request: ReloadRequest) -> [Action] {
        switch state {
        case .initial, .stopping, .finished:
            let outcome = ReloadOutcome(ok: false, dryRun: request.dryRun, errors: ["the supervisor is stopping"])
            return [.finishReload(request, outcome, record: false)]
        case .running:
            state = .preparingReload(request, queued: [])
            return [.prepareReload(request)]
        case .preparingReload(let current, let queued):
            state = .preparingReload(current, queued: Self.queue(request, after: queued))
        case .applyingReload(let applying, let queued):
            state = .applyingReload(applying, queued: Self.queue(request, after: queued))
        }
        return []
    }

    /// Queues `request` behind `queued`; a save collapses into a save already waiting, which covers it.
    private static func queue(_ request: ReloadRequest, after queued: [ReloadRequest]) -> [ReloadRequest] {
        let coalesces = request.origin == .file && queued.contains { $0.origin == .file }
        return coalesces ? queued : queued + [request]
    }

    private mutating func reloadPrepared(
        _ request: ReloadRequest,
        _ result: Result<PreparedReload, ReloadRefusal>
    ) -> [Action] {
        // After `down`, the request has been answered already; what was prepared is dropped.
        guard case .preparingReload(_, let queued) = state else { return [] }
        let prepared: PreparedReload
        switch result {
        case .failure(let refusal):
            let outcome = ReloadOutcome(ok: false, dryRun: request.dryRun, errors: refusal.errors)
            state = .running
            return [.finishReload(request, outcome, record: !request.dryRun)] + next(queued)
        case .success(let value):
            prepared = value
        }
        if request.dryRun {
            state = .running
            let outcome = ReloadOutcome(ok: true, dryRun: true, plan: prepared.plan)
            return [.finishReload(request, outcome, record: false)] + next(queued)
        }

        // Committed from here on.
        let previous = manifest
        manifest = prepared.manifest
        version += 1
        let plan = prepared.plan
        var actions: [Action] = [.commit(prepared.manifest, source: prepared.source, warnings: prepared.warnings)]
        // The old tasks to end, dependents first: a daemon is asked to stop once those of the others that depend on
        // it (as they were started, by the previous manifest) have ended.
        let stopping = (plan.removed + plan.changed + plan.restarted).filter { name in
            daemons[name]?.running != nil && daemons[name]?.service != nil
        }
        let waiting = Set(stopping)
        var stopsAfter: [String: Set<String>] = [:]
        for name in stopping {
            let dependents = waiting.filter { other in
                previous[daemon: other]?.dependencies.contains { $0.name == DaemonSpec.group(of: name) } == true
            }
            if dependents.isEmpty { actions += requestStop(name) } else { stopsAfter[name] = dependents }
        }
        var applying = Applying(request: request, plan: plan, waiting: waiting, services: prepared.services)
        applying.stopsAfter = stopsAfter
        for name in plan.removed + plan.changed + plan.added where !waiting.contains(name) {
            actions += replace(name, with: applying)
        }
        actions.append(.reorder(manifest.daemons.map(\.name)))
        if waiting.isEmpty { return actions + finishReload(applying, queued: queued) }
        state = .applyingReload(applying, queued: queued)
        return actions
    }

    /// Puts the committed manifest's version of daemon `name` in place (its old task has ended): a removed daemon
    /// is dropped; a changed or added one gets a fresh record and, when enabled, its new service, started.
    private mutating func replace(_ name: String, with applying: Applying) -> [Action] {
        version += 1
        guard let spec = manifest[daemon: name] else {
            let waiting = daemons.removeValue(forKey: name)?.pendingRestart ?? []
            let gone = unknownDaemonFailure(name, in: manifest)
            return [.remove(name)] + waiting.map { .answer($0, .failure(gone)) }
        }
        var daemon = daemons[name] ?? Daemon()
        daemon.service = applying.services[name]
        let held = daemon.held
        daemon.held = false
        daemons[name] = daemon
        return [.register(spec)] + (held ? [] : launch(name))
    }

    /// The committed plan is done: every stop and start of it.
    private mutating func finishReload(_ applying: Applying, queued: [ReloadRequest]) -> [Action] {
        state = .running
        let outcome = ReloadOutcome(ok: true, plan: applying.plan)
        return [.finishReload(applying.request, outcome, record: true)] + next(queued)
    }

    /// Starts the next waiting reload, if any.
    private mutating func next(_ queued: [ReloadRequest]) -> [Action] {
        guard let first = queued.first else { return [] }
        state = .preparingReload(first, queued: Array(queued.dropFirst()))
        return [.prepareReload(first)]
    }
}

/// The refusal of a request about a daemon the manifest does not run: disabled (409), or unknown (404, with a
/// suggestion).
func unknownDaemonFailure(_ name: String, in manifest: Manifest) -> ControlFailure {
    if manifest[daemon: name] != nil {
        return ControlFailure(status: 409, message: "daemon '\(name)' is disabled in the manifest")
    }
    let count = manifest.members(of: name).count
    if count > 0 {
        let copies = count == 1 ? Manifest.replicaName(name, 1) : "\(name)#1…\(name)#\(count)"
        return ControlFailure(
            status: 404,
            message: "'\(name)' runs as \(count) \(count == 1 ? "copy" : "copies") (\(copies)): name one of them"
        )
    }
    return ControlFailure(
        status: 404,
        message: "no daemon named '\(name)'",
        suggestion: Suggestion.didYouMean(name, among: manifest.daemons.map(\.name))
    )
}

/// Why daemon `name` of `manifest` cannot run as `count` copies: unknown (404), of a kind without replicas (409), or a
/// count out of range (400); nil when it can.
func scaleRefusal(_ name: String, to count: Int, in manifest: Manifest) -> ControlFailure? {
    guard let spec = manifest.members(of: name).first else { return unknownDaemonFailure(name, in: manifest) }
    guard spec.replica == nil || spec.group == name else {
        return ControlFailure(status: 409, message: "'\(name)' is one copy of '\(spec.group)': scale '\(spec.group)'")
    }
    guard type(of: spec.kind).takesReplicas else {
        return ControlFailure(
            status: 409,
            message: "'\(name)' is \(spec.kindTitle), which runs once: it has no replicas"
        )
    }
    guard (1...Manifest.maximumReplicas).contains(count) else {
        return ControlFailure(
            status: 400,
            message: "replicas must be from 1 to \(Manifest.maximumReplicas), not \(count) (`orchestrate stop \(name)` "
                + "stops every copy)"
        )
    }
    return nil
}
