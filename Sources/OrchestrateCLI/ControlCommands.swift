import ArgumentParser
import DaemonKit
import FoundationEssentials
import Manifest
import Orchestrator

#if canImport(Glibc)
import Glibc
#endif

/// What every command that talks to a running supervisor shares.
///
/// A supervisor running for the manifest file is found through the state folder it recorded at `up`, without
/// loading the manifest: the command then costs a process start and one request, and it reaches the supervisor
/// whatever the file on disk holds now (`status` shows a save that was not applied as the last reload). With
/// `--set`, which may move the state folder, or when none runs, the manifest is loaded; when it is not valid but a
/// supervisor recorded for the file runs, that one is used, with a warning.
struct ControlContext {
    /// The manifest file, absolute.
    let file: String
    /// The manifest, when it was loaded and is valid (not when the running supervisor was found by its record).
    let manifest: Manifest?
    let client: SupervisorClient

    init(_ options: ManifestOptions) throws {
        // The record names the supervisor of the manifest's own state folder; another one set from outside (as the
        // units of `export systemd` set it) has a supervisor of its own, which only the loaded manifest names.
        let overrides =
            Override.fromEnvironment(ProcessInfo.processInfo.environment)
            + Override.fromArguments(options.set).overrides
        let overridden = overrides.contains(where: \.setsStateDirectory)
        if options.set.isEmpty, !overridden, let (location, stateFolder) = Self.recordedSupervisor(options) {
            manifest = nil
            file = location.path
            client = SupervisorClient(stateFolder: stateFolder)
            return
        }
        do {
            let loaded = try options.load()
            manifest = loaded.manifest
            file = loaded.manifest.file
            client = SupervisorClient(manifest: loaded.manifest)
        } catch let failure as CommandFailure {
            guard !overridden, let (location, stateFolder) = Self.recordedSupervisor(options) else { throw failure }
            Terminal.warning(
                "\(location.label) is not valid now; its supervisor keeps running the last valid version"
                    + " (`orchestrate reload` lists the errors)"
            )
            manifest = nil
            file = location.path
            client = SupervisorClient(stateFolder: stateFolder)
        }
    }

    /// The manifest file and the state folder of the supervisor running for it, from the record it keeps; nil when
    /// none runs.
    private static func recordedSupervisor(
        _ options: ManifestOptions
    ) -> (location: ManifestLocator.Location, stateFolder: StateFolder)? {
        // A manifest whose file is gone (a branch switch, `git stash -u`) is found by its supervisor's record alone.
        let running = { (path: String) in
            StateFolder.running(manifest: path).map { PIDLock.isRunning(path: $0.lockFile) } ?? false
        }
        guard let location = try? ManifestLocator().locate(explicit: options.file, orWhere: running),
            let stateFolder = StateFolder.running(manifest: location.path),
            PIDLock.isRunning(path: stateFolder.lockFile)
        else { return nil }
        return (location, stateFolder)
    }

    /// With `auto_start: true`, starts a detached supervisor when none runs (saying so on stderr).
    func autoStart(_ options: ManifestOptions) throws {
        guard let manifest, manifest.autoStart, !client.isRunning else { return }
        Terminal.error("no supervisor runs for \(manifest.file); starting one (auto_start: true)")
        try Up.detach(manifest, options: options, waitForDaemons: true, quiet: true)
    }

    /// A client failure as the command's failure: exit 3 when nothing runs.
    func fail(_ failure: SupervisorClient.Failure) -> CommandFailure {
        if failure.notRunning {
            return CommandFailure(message: "no supervisor runs for \(file)", status: 3)
        }
        return CommandFailure(message: failure.message, status: failure.status == 404 ? 2 : 1)
    }
}

struct Down: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "down",
        abstract: "Stop every daemon gracefully, then the supervisor.",
        discussion: """
            Each daemon gets its stop_signal and stop_timeout, dependents before their dependencies; then the supervisor \
            removes its socket and exits.

            With --all, every supervisor this user runs on the machine is stopped (those `orchestrate ls` lists), \
            whatever its manifest, all at once.

            Exit status: 0 once the supervisor stopped (with --all: every one, or none ran); 1 when one did not stop \
            within --timeout (it is then killed); 3 when none runs for this manifest.

            Examples:
              orchestrate down
              orchestrate down --timeout 30s
              orchestrate down --all
            """
    )

    @OptionGroup var manifest: ManifestOptions

    @Option(help: "How long to wait for everything to stop before killing the supervisor (such as 30s).")
    var timeout: String = Down.defaultTimeout

    @Flag(help: "Stop every supervisor this user runs on the machine (see `orchestrate ls`), not the manifest's.")
    var all = false

    static let defaultTimeout = "1m"

    func run() throws {
        guard let limit = DurationText.parse(timeout) else {
            throw CommandFailure.usage("--timeout: expected a duration like 30s, found '\(timeout)'")
        }
        if all { return try downAll(within: limit) }
        let context = try ControlContext(manifest)
        let pid = context.client.pid
        do {
            try context.client.down()
        } catch  where error.notRunning {
            throw context.fail(error)
        } catch {
            // The supervisor may stop before its answer is out; whether it stopped is what counts.
        }
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if !context.client.isRunning {
                Terminal.out("orchestrate: stopped\n")
                return
            }
            usleep(5_000)
        }
        if let pid { kill(pid, SIGKILL) }
        throw CommandFailure.failure("the supervisor did not stop within \(timeout); it was killed")
    }
}

extension Down {
    /// `down --all`: asks every supervisor to stop, then waits for them all; kills those still there at the deadline.
    func downAll(within limit: Duration) throws {
        let clients = StateFolder.allRunning().map { SupervisorClient(stateFolder: $0, timeout: .seconds(5)) }
        guard !clients.isEmpty else {
            Terminal.out("orchestrate: no supervisor runs\n")
            return
        }
        var running: [(client: SupervisorClient, pid: Int32?, manifest: String)] = []
        for client in clients {
            let manifest = (try? client.status().supervisor.manifest) ?? client.stateFolder.path
            running.append((client, client.pid, manifest))
            // A supervisor may stop before its answer is out; whether it stopped is what counts.
            try? client.down()
        }
        let deadline = ContinuousClock.now + limit
        var killed: [String] = []
        while !running.isEmpty {
            running.removeAll { entry in
                guard !entry.client.isRunning else { return false }
                Terminal.out("orchestrate: stopped \(entry.manifest)" + (entry.pid.map { " (pid \($0))" } ?? "") + "\n")
                return true
            }
            if running.isEmpty { break }
            if ContinuousClock.now >= deadline {
                for entry in running {
                    if let pid = entry.pid { kill(pid, SIGKILL) }
                    killed.append(entry.manifest)
                }
                break
            }
            usleep(5_000)
        }
        guard killed.isEmpty else {
            throw CommandFailure.failure(
                "these supervisors did not stop within \(timeout) and were killed: " + killed.joined(separator: ", ")
            )
        }
    }
}

struct Trigger: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trigger",
        abstract: "Run a periodic or watcher daemon now.",
        discussion: """
            The run is the daemon's own (its command, cwd, environment, timeout and retries); a watcher's run gets \
            ORCHESTRATE_RESCAN=1. Without --wait, it prints "accepted" once the daemon has the request, which runs it \
            now, after the run in progress, or not at all, as its overlap or on_busy policy says. With --wait, it waits \
            for the run (the queued one, when a run was in progress) and prints its exit status and duration.

            Exit status: 0 when the daemon took the request (or, with --wait, the run exited 0); with --wait, the \
            run's own exit status, or 1 when it timed out, was killed by a signal, or was skipped because a run was \
            in progress; 1 when the daemon is not running or its kind does not run on trigger (a process: use \
            restart); 2 when there is no such daemon; 3 when no supervisor runs (with auto_start: true, one is \
            started first).

            Examples:
              orchestrate trigger issues-sync
              orchestrate trigger issues-sync --wait
            """
    )

    @OptionGroup var manifest: ManifestOptions

    @Argument(help: "The daemon.", completion: .daemonNames { type(of: $0.kind).runsOnTrigger })
    var name: String

    @Flag(help: "Wait for the run to finish and exit with its status.")
    var wait = false

    func run() throws {
        let context = try ControlContext(manifest)
        try context.autoStart(manifest)
        let result: TriggerOutcome
        do {
            result = try context.client.trigger(name, wait: wait)
        } catch {
            throw context.fail(error)
        }
        guard wait, result.outcome == .finished else {
            if wait, result.outcome == .skipped {
                // Nothing ran for this request: a script waiting for the run must not go on as if it had.
                throw CommandFailure.failure(
                    "\(name): skipped: a run is in progress, and its overlap or on_busy policy is skip"
                )
            }
            Terminal.out("\(name): \(result.outcome.rawValue)\n")
            return
        }
        let took = result.durationMilliseconds.map { " after \($0) ms" } ?? ""
        if let code = result.exitCode {
            Terminal.out("\(name): exited with status \(code)\(took)\n")
            if code != 0 { throw ExitCode(code) }
        } else if result.timedOut == true {
            throw CommandFailure.failure("\(name): stopped after its timeout\(took)")
        } else {
            throw CommandFailure.failure("\(name): ended by signal \(result.signal ?? 0)\(took)")
        }
    }
}

/// `start`, `stop` and `restart` of one daemon.
protocol LifecycleCommand: ParsableCommand {
    static var action: String { get }
    var manifest: ManifestOptions { get }
    var name: String { get }
}

extension LifecycleCommand {
    func run() throws {
        let context = try ControlContext(manifest)
        if Self.action != "stop" { try context.autoStart(manifest) }
        do {
            for record in try context.client.lifecycleOfEach(Self.action, name) {
                Terminal.out("\(record.name): \(record.state)\n")
            }
        } catch {
            throw context.fail(error)
        }
    }
}

struct Start: LifecycleCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Start one daemon.",
        discussion: """
            Starts a daemon that was stopped with `orchestrate stop`, or parked as failed. It prints the daemon's new state. \
            NAME may be one copy of a daemon with replicas (web#2) or the daemon (web), which means every copy.

            Exit status: 0 done; 2 no such daemon; 3 no supervisor runs (with auto_start: true, one is started first).

            Example:
              orchestrate start docs
            """
    )
    static let action = "start"
    @OptionGroup var manifest: ManifestOptions
    @Argument(help: "The daemon.", completion: .daemonNames()) var name: String
}

struct Stop: LifecycleCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop",
        abstract: "Stop one daemon.",
        discussion: """
            Stops the daemon gracefully (stop_signal, then SIGKILL after stop_timeout); it stays stopped until `start`, \
            `restart` or the next `up` (a reload that changes it installs the new version without starting it). It prints the daemon's new state. \
            NAME may be one copy of a daemon with replicas (web#2) or the daemon (web), which means every copy.

            Exit status: 0 done; 2 no such daemon; 3 no supervisor runs.

            Example:
              orchestrate stop docs
            """
    )
    static let action = "stop"
    @OptionGroup var manifest: ManifestOptions
    @Argument(help: "The daemon.", completion: .daemonNames()) var name: String
}

struct Restart: LifecycleCommand {
    static let configuration = CommandConfiguration(
        commandName: "restart",
        abstract: "Restart one daemon (also one parked as failed).",
        discussion: """
            Stops the daemon gracefully and starts it again; the daemons that follow it with \
            restart_with_dependencies: true restart too. It prints the daemon's new state. NAME may be one copy of a \
            daemon with replicas (web#2) or the daemon (web), which means every copy.

            Exit status: 0 done; 2 no such daemon; 3 no supervisor runs (with auto_start: true, one is started first).

            Example:
              orchestrate restart core
            """
    )
    static let action = "restart"
    @OptionGroup var manifest: ManifestOptions
    @Argument(help: "The daemon.", completion: .daemonNames()) var name: String
}

struct Reload: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Apply the manifest now: print the plan (+ added  ~ changed  - removed  = unchanged), or the errors.",
        discussion: """
            The running supervisor reads the manifest and applies only what changed: added daemons start, removed ones stop, \
            changed ones restart (and, marked ↻, those that restart with them), and unchanged ones are not touched. A \
            manifest that is not valid changes nothing: its errors are printed and every daemon keeps running. SIGHUP to the \
            supervisor does the same.

            Exit status: 0 applied (or, with --dry-run, planned); 2 the manifest is not valid; 3 no supervisor runs (with \
            --dry-run, the plan then starts every daemon).

            Examples:
              orchestrate reload --dry-run
              ORCHESTRATE__DAEMONS__ISSUES_SYNC__INTERVAL=5s orchestrate reload --env
            """
    )

    @OptionGroup var manifest: ManifestOptions

    @Flag(help: "Print the plan without applying it (with no supervisor running, every daemon would start).")
    var dryRun = false

    @Flag(
        help: "Load with this shell's environment (interpolation and ORCHESTRATE__ overrides), kept for later reloads."
    )
    var env = false

    func run() throws {
        let context = try ControlContext(manifest)
        let body = ReloadBody(
            environment: env ? ProcessInfo.processInfo.environment : nil,
            set: manifest.set.isEmpty ? nil : manifest.set,
            dryRun: dryRun
        )
        let outcome: ReloadOutcome
        do {
            outcome = try context.client.reload(body)
        } catch let failure where failure.notRunning && dryRun {
            // Nothing runs: the plan starts every daemon of the manifest (valid, or ControlContext had thrown).
            var plan = ReloadPlan()
            plan.added = context.manifest?.daemons.map(\.name) ?? []
            Terminal.out(plan.lines.map { $0 + "\n" }.joined())
            Terminal.out("dry run: no supervisor runs for \(context.file); `orchestrate up` would start these\n")
            return
        } catch {
            throw context.fail(error)
        }
        guard outcome.ok, let plan = outcome.plan else {
            throw CommandFailure(
                message: "the manifest was not applied; every daemon keeps running as it was:\n"
                    + outcome.errors.map { "  " + $0 }.joined(separator: "\n"),
                status: 2
            )
        }
        Terminal.out(plan.lines.map { $0 + "\n" }.joined())
        Terminal.out(dryRun ? "dry run, nothing applied: \(plan.summary)\n" : "applied: \(plan.summary)\n")
    }
}

struct Scale: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale",
        abstract: "Run a process daemon as N copies, starting or stopping only the difference.",
        discussion: """
            The copies are NAME#1…NAME#N, each with ORCHESTRATE_REPLICA (1…N) in its environment; scaling up starts the \
            new copies (the running ones are not touched), scaling down stops the highest-numbered ones gracefully. A \
            daemon without replicas becomes NAME#1…NAME#N. The count holds over later reloads until the manifest's own \
            `replicas` of the daemon changes (that newer decision wins); `down` and `up` start the manifest's count. It \
            prints the plan once the new copies are launched; `orchestrate status NAME --ready` exits 0 once every copy \
            is ready.

            Exit status: 0 applied; 1 the daemon's kind has no replicas, or NAME is one copy (web#2: scale web); 2 no \
            such daemon, or N out of 1…1000; 3 no supervisor runs.

            Examples:
              orchestrate scale web 4
              orchestrate scale web 1
            """
    )

    @OptionGroup var manifest: ManifestOptions

    @Argument(help: "The process daemon.", completion: .daemonNames { $0.kind is ProcessSpec })
    var name: String

    @Argument(help: "How many copies run from now on (1 to 1000).")
    var replicas: Int

    func run() throws {
        let context = try ControlContext(manifest)
        let outcome: ReloadOutcome
        do {
            outcome = try context.client.scale(name, to: replicas)
        } catch {
            throw error.status == 400 ? CommandFailure.usage(error.message) : context.fail(error)
        }
        guard outcome.ok, let plan = outcome.plan else {
            throw CommandFailure.failure(
                "\(name) was not scaled:\n" + outcome.errors.map { "  " + $0 }.joined(separator: "\n")
            )
        }
        Terminal.out(plan.lines.filter { !$0.hasPrefix("= ") }.map { $0 + "\n" }.joined())
        Terminal.out("\(name): \(replicas) \(replicas == 1 ? "replica" : "replicas"): \(plan.summary)\n")
    }
}
