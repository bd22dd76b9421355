import DaemonKit
import FoundationEssentials
import Manifest

#if canImport(Glibc)
import Glibc
#endif

/// Starts a supervisor in the background, for `up -d` and `auto_start`: this same executable running `up` in a new
/// session (so the terminal's Ctrl-C does not reach it), its early output in the state folder's
/// ``StateFolder/detachedOutput``.
public struct Detacher: Sendable {
    /// Set in the background supervisor's environment: it then logs to its file only.
    public static let childVariable = "ORCHESTRATE_DETACHED"

    /// What came of a start.
    public struct Started: Sendable {
        /// The supervisor's process.
        public var pid: Int32
        /// With `waitForDaemons`: the daemons that are not ready (starting, waiting, in backoff or failed).
        public var notReady: [DaemonRecord]
        /// Whether every daemon settled before the deadline (only daemons that failed, or wait on one that did,
        /// are left not ready); false when the wait gave up.
        public var settled: Bool
    }

    /// The manifest to run.
    public let manifest: Manifest
    /// `--set` arguments the supervisor loads it with.
    public let setArguments: [String]

    /// More arguments of the supervisor's `up` (a selection such as `--only web`).
    public let upArguments: [String]

    /// A detacher for `manifest`, loaded with `setArguments`, its `up` given `upArguments`.
    public init(manifest: Manifest, setArguments: [String] = [], upArguments: [String] = []) {
        self.manifest = manifest
        self.setArguments = setArguments
        self.upArguments = upArguments
    }

    /// Spawns the supervisor and returns once its socket answers (and, with `waitForDaemons`, once no daemon is
    /// still on its way to ready); fails with the supervisor's own words when it exits first.
    public func start(waitForDaemons: Bool) throws(OrchestratorError) -> Started {
        let folder = manifest.stateFolder
        // The user's only, as the supervisor makes them: logs name the daemons and hold their output.
        try? FileManager.default.createDirectory(
            atPath: folder.logs,
            withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700]
        )
        let output = folder.detachedOutput
        var arguments = ["up", "-f", manifest.file]
        for assignment in setArguments { arguments += ["--set", assignment] }
        arguments += upArguments
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
                    throw OrchestratorError(
                        code: .alreadyRunning,
                        message: "orchestrate is already running for \(manifest.file) (pid \(other))"
                    )
                }
                let said = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
                throw OrchestratorError(
                    code: .supervisorUnavailable,
                    message: "the supervisor exited at once"
                        + (said.isEmpty ? "" : ":\n" + said.trimmingWhitespace())
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
            throw OrchestratorError(
                code: .supervisorUnavailable,
                message: "the supervisor did not answer within 30 s (pid \(pid))"
            )
        }
        guard waitForDaemons else { return Started(pid: pid, notReady: [], settled: true) }
        // Once settled, what is left waiting waits on a failure.
        let notReady = status.daemons.filter { [.starting, .waiting, .backoff, .failed].contains($0.state) }
        return Started(pid: pid, notReady: notReady, settled: settled)
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
                // A failed dependency blocks, but for `completed`, which a failed end meets.
                let blockedGroups = Set(blocked.map { String(DaemonSpec.group(of: $0)) })
                if dependencies.contains(where: { blockedGroups.contains($0.name) && $0.condition != .completed }) {
                    blocked.insert(name)
                    grew = true
                }
            }
        }
        pending.subtract(blocked)
        return pending
    }

    private func spawn(arguments: [String], output: String) throws(OrchestratorError) -> pid_t {
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
            throw OrchestratorError(
                code: .supervisorUnavailable,
                message: "cannot start the supervisor: \(String(cString: strerror(result)))"
            )
        }
        return pid
    }
}
