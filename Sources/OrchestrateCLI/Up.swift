import ArgumentParser
import DaemonKit
import Foundation
import Logging
import Manifest
import Orchestrator

struct Up: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Start the supervisor and every daemon of the manifest (Ctrl-C stops them)."
    )

    @OptionGroup var manifest: ManifestOptions

    @Flag(name: [.customShort("d"), .customLong("detach")], help: "Run in the background; return once it answers.")
    var detach = false

    @Flag(
        help:
            "With -d, also wait until every daemon is ready (processes: their ready probe passed); exit 1 naming those that failed."
    )
    var wait = false

    func run() async throws {
        let loaded = try manifest.load()
        let client = SupervisorClient(manifest: loaded.manifest)
        if client.isRunning {
            let pid = client.pid.map { " (pid \($0))" } ?? ""
            throw CommandFailure.failure("orchestrate is already running for \(loaded.manifest.file)\(pid)")
        }
        if detach {
            try Detacher(manifest: loaded.manifest, options: manifest).start(waitForDaemons: wait)
            return
        }
        try await runInForeground(loaded.manifest)
    }

    private func runInForeground(_ manifest: Manifest) async throws {
        let detached = ProcessInfo.processInfo.environment[Detacher.childVariable] == "1"
        let supervisorLog: RotatingLogFile
        do {
            supervisorLog = try RotatingLogFile(path: manifest.stateDirectory + "/logs/orchestrate.log")
        } catch {
            throw CommandFailure.failure("cannot open the supervisor's log: \(error)")
        }
        LoggingSystem.bootstrap { label in
            var file = LogFileHandler(file: supervisorLog)
            file.logLevel = .info
            guard !detached else { return file }
            var terminal = StreamLogHandler.standardError(label: label)
            terminal.logLevel = .info
            return MultiplexLogHandler([file, terminal])
        }
        let logger = Logger(label: "orchestrate")
        let width = manifest.daemons.map(\.name.count).max() ?? 0
        var mirror: (@Sendable (String, [UInt8]) -> Void)? = nil
        if !detached {
            mirror = { name, line in
                // The line starts with its timestamp; the terminal shows the daemon's name instead.
                let text = line.drop { $0 != UInt8(ascii: " ") }.dropFirst()
                let prefix = name.padding(toLength: width, withPad: " ", startingAt: 0) + " | "
                FileHandle.standardOutput.write(Data(prefix.utf8) + Data(text))
            }
        }
        let supervisor = Supervisor(
            manifest: manifest,
            logger: logger,
            mirror: mirror,
            adoptsOrphans: true,
            source: self.manifest.source(for: manifest),
            ownLog: supervisorLog
        )
        do {
            try await supervisor.run {
                if !detached {
                    Terminal.error(
                        "running \(manifest.summary); logs in \(manifest.stateDirectory)/logs; Ctrl-C stops"
                    )
                }
            }
        } catch let error as DaemonKitError where error.code == .alreadyRunning {
            throw CommandFailure.failure(error.message)
        } catch {
            throw CommandFailure.failure("\(error)")
        }
    }
}

/// Starts a supervisor in the background for `up -d` and `auto_start`: the same binary, `up` in a new session
/// (so the terminal's Ctrl-C does not reach it), its early output in `STATE_DIR/logs/orchestrate.out`.
struct Detacher {
    /// Set in the background supervisor's environment: it then logs to its file only.
    static let childVariable = "ORCHESTRATE_DETACHED"

    let manifest: Manifest
    let options: ManifestOptions

    /// Spawns the supervisor and returns once its socket answers (and, with `waitForDaemons`, once no daemon is
    /// still starting); fails with the supervisor's own words when it exits first.
    func start(waitForDaemons: Bool, quiet: Bool = false) throws {
        let logs = manifest.stateDirectory + "/logs"
        // The user's only, as the supervisor makes them: logs name the daemons and hold their output.
        try? FileManager.default.createDirectory(
            atPath: logs,
            withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700]
        )
        let output = logs + "/orchestrate.out"
        var arguments = ["up", "-f", manifest.file]
        for assignment in options.set { arguments += ["--set", assignment] }
        let pid = try spawn(arguments: arguments, output: output)
        let client = SupervisorClient(manifest: manifest, timeout: .seconds(5))
        // Room for every readiness probe to use its whole timeout, one after the other (a chain of dependencies).
        let readiness = manifest.daemons.reduce(Duration.zero) { total, spec in
            if spec.enabled, let timeout = spec.kind.readinessTimeout { return total + timeout }
            return total
        }
        let deadline = ContinuousClock.now + .seconds(30) + (waitForDaemons ? readiness : .zero)
        var status: StatusDocument?
        var settled = false
        // Another `up` that won the race: its supervisor answers while ours exits for want of the lock.
        var other: Int32?
        while ContinuousClock.now < deadline {
            var exitStatus: Int32 = 0
            if waitpid(pid, &exitStatus, WNOHANG) == pid {
                if let other {
                    throw CommandFailure.failure("orchestrate is already running for \(manifest.file) (pid \(other))")
                }
                let said = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
                throw CommandFailure.failure(
                    "the supervisor exited at once"
                        + (said.isEmpty ? "" : ":\n" + said.trimmingCharacters(in: .newlines))
                )
            }
            if let current = try? client.status() {
                guard current.supervisor.pid == pid else {
                    other = current.supervisor.pid
                    usleep(10_000)
                    continue
                }
                status = current
                settled = Self.pending(current.daemons, manifest: manifest).isEmpty
                if !waitForDaemons || settled { break }
            }
            usleep(10_000)
        }
        guard let status else {
            throw CommandFailure.failure("the supervisor did not answer within 30 s (pid \(pid))")
        }
        if !quiet {
            Terminal.out("orchestrate: started (pid \(pid)), \(manifest.summary); logs in \(logs)\n")
        }
        guard waitForDaemons else { return }
        // Once settled, what is left waiting waits on a failure.
        let notReady = status.daemons.filter { [.starting, .waiting, .backoff, .failed].contains($0.state) }
        guard notReady.isEmpty else {
            let lines = notReady.map { record in
                let why = record.health["waiting_for"].map { "waiting for " + $0 } ?? record.lastError
                return "  \(record.name): \(record.state)" + (why.map { ", " + $0 } ?? "")
            }
            throw CommandFailure.failure(
                (settled ? "" : "gave up waiting; ") + "these daemons are not ready (the supervisor keeps running):\n"
                    + lines.joined(separator: "\n")
            )
        }
    }

    /// The daemons on their way to ready, which `--wait` waits for: starting, in backoff, not launched yet, or
    /// waiting for dependencies, unless one of those has failed (then nothing will come of the wait).
    static func pending(_ records: [DaemonRecord], manifest: Manifest) -> Set<String> {
        var pending = Set(
            records.filter { record in
                [.starting, .waiting, .backoff].contains(record.state)
                    || (record.state == .stopped && record.enabled && record.lastRun == nil)
            }.map(\.name)
        )
        var blocked = Set(records.filter { $0.state == .failed }.map(\.name))
        var grew = true
        while grew {
            grew = false
            for name in pending.subtracting(blocked) {
                let dependencies = manifest[daemon: name]?.dependencies ?? []
                if dependencies.contains(where: { blocked.contains($0.name) }) {
                    blocked.insert(name)
                    grew = true
                }
            }
        }
        pending.subtract(blocked)
        return pending
    }

    private func spawn(arguments: [String], output: String) throws -> pid_t {
        let executable =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // POSIX_SPAWN_SETSID (glibc 2.26+): the supervisor leads its own session, away from the terminal.
        posix_spawnattr_setflags(&attributes, Int16(0x80))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else of this process may reach the supervisor: an inherited pipe (a caller's captured
        // output, say) would stay open for the supervisor's whole life and its reader would never see EOF.
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for descriptor in open.compactMap(Int32.init) where descriptor > 2 {
            posix_spawn_file_actions_addclose(&actions, descriptor)
        }
        var environment = ProcessInfo.processInfo.environment
        environment[Self.childVariable] = "1"
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw CommandFailure.failure("cannot start the supervisor: \(String(cString: strerror(result)))")
        }
        return pid
    }
}
