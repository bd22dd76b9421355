import CSupport
import Dispatch
import FoundationEssentials
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Runs one ``Command`` as a child process the way a supervisor needs it: in a new session and process group,
/// with its output streamed to a sink, a timeout, a graceful stop of the whole group, a parent-death signal,
/// and nothing left behind.
///
/// A value type, not an actor: a runner is only the description of a run. Everything that changes during a run
/// (the child, its stop request, its output pipe) lives inside one call of ``run(onStart:output:)``, in that
/// call's task group, so there is no state shared between runs to protect, and two runs of the same runner are
/// simply independent. The few process-wide facts (the children a run is waiting for) live in a `Mutex`-guarded
/// registry (see ``ChildReaper``).
///
/// A run goes:
/// 1. spawn (`csupport_spawn`: vfork and exec) in a new session (the child leads a new session and group, so its
///    group ID is its PID), every signal at its default, no descriptor but stdin from ``standardInput`` (or
///    empty) and stdout and stderr into one pipe, its ``ParentDeathSignal`` armed before the exec;
/// 2. report the PID and group through `onStart`, before the child can be reaped;
/// 3. wait for the exit on the child's pidfd (``ProcessExit``: no thread blocked, no timer);
/// 4. on timeout, ``RunningCommand/stop()`` or cancellation of the calling task: ``stopSignal`` to the group,
///    then SIGKILL to the group after ``stopTimeout`` if the child has not exited;
/// 5. once the child has been reaped, whatever the outcome: SIGKILL to the group, and reap the members that
///    were re-parented to this process (a grandchild that ignores SIGTERM or outlived its parent would
///    otherwise stay);
/// 6. read the pipe to end-of-file, waiting at most ``outputDrainTimeout`` for a writer that escaped the group.
public struct CommandRunner: Sendable {
    /// What to run.
    public var command: Command
    /// The child's working directory; nil for the supervisor's.
    public var workingDirectory: String?
    /// Variables set on top of the supervisor's inherited environment.
    public var environment: [String: String]
    /// How long the command may run before it is stopped and the result says `.timedOut`; nil for no limit.
    public var timeout: Duration?
    /// The signal that asks the group to stop.
    public var stopSignal: Signal
    /// How long the group has to exit after ``stopSignal`` before SIGKILL.
    public var stopTimeout: Duration
    /// Bytes written to the child's stdin, which is then closed; nil closes it at once (the child reads EOF).
    public var standardInput: [UInt8]?
    /// How the child is made to die with the supervisor; nil to not arm a parent-death signal.
    public var parentDeathSignal: ParentDeathSignal?
    /// How long to keep reading output after the run once the group is dead, for a writer that left the group.
    public var outputDrainTimeout: Duration
    /// How long to keep reaping the group's members after the final SIGKILL.
    public var processGroupReapTimeout: Duration

    /// Describes a run.
    public init(
        _ command: Command,
        workingDirectory: String? = nil,
        environment: [String: String] = [:],
        timeout: Duration? = nil,
        stopSignal: Signal = .terminate,
        stopTimeout: Duration = .seconds(10),
        standardInput: [UInt8]? = nil,
        parentDeathSignal: ParentDeathSignal? = .automatic,
        outputDrainTimeout: Duration = .milliseconds(200),
        processGroupReapTimeout: Duration = .seconds(1)
    ) {
        self.command = command
        self.workingDirectory = workingDirectory
        self.environment = environment
        self.timeout = timeout
        self.stopSignal = stopSignal
        self.stopTimeout = stopTimeout
        self.standardInput = standardInput
        self.parentDeathSignal = parentDeathSignal
        self.outputDrainTimeout = outputDrainTimeout
        self.processGroupReapTimeout = processGroupReapTimeout
    }

    /// Runs the command to its end and returns how it ended.
    ///
    /// Cancelling the calling task stops the command (stop signal, stop timeout, SIGKILL, all to the group) and
    /// still returns its result, with reason `.cancelled`.
    ///
    /// - Parameters:
    ///   - onStart: Called once, right after the spawn and before the child can be reaped, with its PID and
    ///     process group and a handle to stop it.
    ///   - output: Receives stdout and stderr chunks, interleaved as written, on a private queue, in order.
    ///     A chunk ends wherever the read ended, not at a line break.
    ///   - start: When to spawn the child: as soon as its instant has come, from the spawn thread that keeps the
    ///     time (see ``SpawnThread``); nil for now. Everything else (the pipes, the arguments and environment) is
    ///     made before, so that nothing but the spawn is left for the instant.
    /// - Throws: ``DaemonKitError`` with code `commandNotFound` or `spawnFailed` when there is no child;
    ///   `CancellationError` when `start` was called off, or the task cancelled, before it began (nothing was
    ///   spawned).
    public func run(
        at start: ScheduledStart? = nil,
        onStart: (RunningCommand) -> Void = { _ in },
        output: @escaping @Sendable (ArraySlice<UInt8>) -> Void,
        errorOutput: (@Sendable (ArraySlice<UInt8>) -> Void)? = nil
    ) async throws -> CommandRunResult {
        do {
            return try await execute(at: start, onStart: onStart, output: output, errorOutput: errorOutput)
        } catch let error as DaemonKitError {
            // A run that could not even be made ready (its program not found, no descriptor left) fails at its due
            // time, as it would have had it been started then: a schedule that prepares its runs ahead would
            // otherwise meet the failure again at once, and again.
            if let start, !start.hasBegun {
                guard await SpawnThread.shared.perform(at: start, { _ in }) != nil else { throw CancellationError() }
            }
            throw error
        }
    }

    private func execute(
        at start: ScheduledStart?,
        onStart: (RunningCommand) -> Void,
        output: @escaping @Sendable (ArraySlice<UInt8>) -> Void,
        errorOutput: (@Sendable (ArraySlice<UInt8>) -> Void)?
    ) async throws -> CommandRunResult {
        _ = Self.ignoreBrokenPipes
        let launch = try resolveLaunch()
        let input = try InputPipe(standardInput ?? [])
        let pipe: OutputPipe
        // Standard error has a pipe of its own when the caller wants it apart; otherwise it joins the output.
        let errorPipe: OutputPipe?
        do {
            pipe = try OutputPipe()
            errorPipe = try errorOutput.map { _ in try OutputPipe() }
        } catch {
            input.abandon()
            throw error
        }
        pipe.start(delivering: output)
        if let errorPipe, let errorOutput { errorPipe.start(delivering: errorOutput) }
        // Without a pipe of its own, standard error is a second descriptor of the output pipe's write end.
        let errorDescriptor = errorPipe?.writeEnd ?? fcntl(pipe.writeEnd, F_DUPFD_CLOEXEC, 3)
        guard errorDescriptor >= 0 else {
            let number = errno
            input.abandon()
            close(pipe.writeEnd)
            pipe.stopReading(after: .zero)
            await pipe.finished()
            throw DaemonKitError(
                code: .spawnFailed,
                message: "cannot start '\(command)': \(String(cString: strerror(number)))",
                errno: number
            )
        }

        let spawned = await spawn(
            launch,
            input: input.readEnd,
            output: pipe.writeEnd,
            error: errorDescriptor,
            at: start
        )
        // The child has its copies; the parent's go, or the output pipe would never see end-of-file.
        close(input.readEnd)
        close(pipe.writeEnd)
        close(errorDescriptor)
        guard case .success(let (pid, startedAt, startInstant))? = spawned else {
            input.abandon()
            for pipe in [pipe] + (errorPipe.map { [$0] } ?? []) {
                pipe.stopReading(after: .zero)
                await pipe.finished()
            }
            if case .failure(let error)? = spawned { throw error }
            throw CancellationError()
        }
        input.finishWriting()
        let limits = RunLimits(group: ProcessGroup(id: pid), stopSignal: stopSignal, stopTimeout: stopTimeout)
        onStart(
            RunningCommand(
                pid: pid,
                startedAt: startedAt,
                startInstant: startInstant,
                parentDeathSignal: launch.parentDeathSignal,
                limits: limits
            )
        )
        // The limits are timers and a cancellation handler, not tasks: a run costs no task but its own, and a
        // hundred runs due at once start that much sooner.
        if let timeout { limits.arm(timeout: timeout) }
        let termination = await withTaskCancellationHandler {
            await ProcessExit.wait(for: pid)
        } onCancel: {
            limits.stop(because: nil)
        }
        limits.exited()
        let duration = ContinuousClock.now - startInstant
        ChildRegistry.shared.reaped(pid)

        let groupGone = await ProcessGroup(id: pid).killAndReap(within: processGroupReapTimeout)
        for pipe in [pipe] + (errorPipe.map { [$0] } ?? []) {
            pipe.stopReading(after: outputDrainTimeout)
            await pipe.finished()
        }

        let reason = limits.reason ?? (Task.isCancelled ? .cancelled : .completed)
        return CommandRunResult(
            pid: pid,
            processGroupID: pid,
            startedAt: startedAt,
            duration: duration,
            termination: termination,
            reason: reason,
            processGroupOutlivedRun: !groupGone
        )
    }

    /// Makes the threads commands are spawned from now, if they are not made yet. A supervisor calls it before it
    /// opens its daemons' files: the descriptors each spawn thread reserves are then among the process's first, and
    /// a child copies only the descriptors below them (`csupport_spawn`).
    public static func prepareSpawning() { SpawnThread.prepare() }

    /// This process's environment as `NAME=value` C strings, made once and never freed: the supervisor never changes
    /// its own environment, and every spawn points at these, copying only the runner's own variables. (Reading it
    /// anew, then making every string for every spawn, was 80 allocations a spawn.)
    private static let inheritedEnvironment: [InheritedVariable] =
        ProcessInfo.processInfo.environment.sorted { $0.key < $1.key }.compactMap { name, value in
            strdup("\(name)=\(value)").map { InheritedVariable(name: name, entry: $0) }
        }

    /// A variable of this process's environment and its `NAME=value` C string. `@unchecked Sendable`: the string is
    /// written once, as the list is made, and only read after.
    private struct InheritedVariable: @unchecked Sendable {
        let name: String
        let entry: UnsafeMutablePointer<CChar>
    }

    /// Spawns the launch in a new session and process group, with the runner's folder and environment on top of
    /// this process's, from a ``SpawnThread`` thread, at `start` (nil: now); nil when it was called off before.
    private func spawn(
        _ launch: Launch,
        input: Int32,
        output: Int32,
        error: Int32,
        at start: ScheduledStart?
    ) async -> Result<(pid: Int32, at: Date, instant: ContinuousClock.Instant), DaemonKitError>? {
        let argv = CStrings([launch.argv0] + launch.arguments)
        let environment = CStrings(
            own: self.environment.map { "\($0)=\($1)" },
            shared: Self.inheritedEnvironment.lazy.filter { self.environment[$0.name] == nil }.map(\.entry)
        )
        let (path, workingDirectory) = (launch.path, workingDirectory)
        let deathSignal = launch.parentDeathSignal?.number ?? 0
        // The instant is taken on the spawn thread as the spawn returns: the run started then, not when the
        // awaiting task next gets a thread (which, with a hundred spawns at once, can be many milliseconds later).
        // The child is registered there too, so that the orphan reaper is held off only during the spawn itself.
        let body = { @Sendable (slots: [Int32]?) -> (Int32, Int32, Date, ContinuousClock.Instant) in
            let reserved = slots ?? []
            ChildRegistry.shared.willSpawn()
            let pid = reserved.withUnsafeBufferPointer { reserved in
                csupport_spawn(
                    path,
                    argv.pointers,
                    environment.pointers,
                    workingDirectory,
                    input,
                    output,
                    error,
                    deathSignal,
                    getpid(),
                    reserved.isEmpty ? nil : reserved.baseAddress
                )
            }
            let number = pid > 0 ? 0 : errno
            ChildRegistry.shared.spawned(pid > 0 ? pid : nil)
            return (pid, number, Date(), ContinuousClock.now)
        }
        let spawned =
            if let start {
                await SpawnThread.shared.perform(at: start, body)
            } else {
                await SpawnThread.shared.perform(body)
            }
        guard let (pid, number, startedAt, instant) = spawned else { return nil }
        guard pid > 0 else {
            let name = command.arguments.first ?? ""
            return .failure(
                DaemonKitError(
                    code: .spawnFailed,
                    message: "cannot start '\(name)'" + (workingDirectory.map { " in \($0)" } ?? "")
                        + ": \(String(cString: strerror(number)))",
                    errno: number
                )
            )
        }
        return .success((pid, startedAt, instant))
    }

    /// SIGPIPE is ignored in the supervisor, once: ``standardInput`` is written to a pipe, and a command that
    /// exits without reading it all would otherwise kill the supervisor with SIGPIPE (the write then fails with
    /// EPIPE instead). Children are unaffected: the spawn resets every signal to its default in the child.
    private static let ignoreBrokenPipes: Void = {
        _ = signal(SIGPIPE, SIG_IGN)
    }()
}

/// The limits of one run once its child is running: the timeout, stop requests and the cancellation of the run.
/// The first of them records why the run was stopped and sends the stop signal to the group, then SIGKILL after the
/// stop timeout if the child has not exited; once it has exited, nothing is sent (the group's ID may be reused).
final class RunLimits: Sendable {
    private let group: ProcessGroup
    private let stopSignal: Signal
    private let stopTimeout: Duration
    private let state = Mutex(State())

    private struct State {
        var reason: CommandRunResult.Reason?
        var stopping = false
        var exited = false
        var timeout: (any DispatchSourceTimer)?
    }

    init(group: ProcessGroup, stopSignal: Signal, stopTimeout: Duration) {
        self.group = group
        self.stopSignal = stopSignal
        self.stopTimeout = stopTimeout
    }

    /// Why the run was stopped, if it was, by the first of the timeout and a stop request.
    var reason: CommandRunResult.Reason? { state.withLock { $0.reason } }

    /// Stops the group after `timeout` unless the child exits first.
    func arm(timeout: Duration) {
        state.withLock { state in
            guard !state.exited else { return }
            let timer = DispatchSource.makeTimerSource(queue: .timers)
            timer.schedule(deadline: .now() + timeout.dispatchInterval)
            timer.setEventHandler { [weak self] in self?.stop(because: .timedOut) }
            timer.resume()
            state.timeout = timer
        }
    }

    /// Stops the group, once: `reason` is recorded unless another came first (nil: the run's task was cancelled,
    /// which the result tells by itself).
    func stop(because reason: CommandRunResult.Reason?) {
        let send = state.withLock { state -> Bool in
            guard !state.exited else { return false }
            if state.reason == nil { state.reason = reason }
            guard !state.stopping else { return false }
            state.stopping = true
            return true
        }
        guard send else { return }
        group.send(stopSignal)
        DispatchQueue.timers.asyncAfter(deadline: .now() + stopTimeout.dispatchInterval) { [self] in
            if !state.withLock({ $0.exited }) { group.send(SIGKILL) }
        }
    }

    /// The child has exited: nothing is sent to its group any more, and the timeout is disarmed.
    func exited() {
        state.withLock { state in
            state.exited = true
            state.timeout?.cancel()
            state.timeout = nil
        }
    }
}

/// Runs `body` with `strings` as a NULL-terminated array of C strings, valid for the call.
/// A NULL-terminated array of C strings (an `argv` or `envp`), made before a spawn and freed with the object.
///
/// `@unchecked Sendable` is safe because the strings are written only by `init` and freed only by `deinit`: in
/// between, the spawn thread only reads them, while the task that made them awaits the spawn and keeps them alive.
private final class CStrings: @unchecked Sendable {
    let pointers: [UnsafeMutablePointer<CChar>?]
    /// How many of the first pointers are copies of this object's own, freed with it.
    private let owned: Int

    init(_ strings: [String]) {
        pointers = strings.map { strdup($0) } + [nil]
        owned = strings.count
    }

    /// Copies of `own`, then `shared` (strings that outlive this object, not copied).
    init(own: [String], shared: some Sequence<UnsafeMutablePointer<CChar>>) {
        var pointers = own.map { strdup($0) }
        pointers.append(contentsOf: shared.map { Optional($0) })
        pointers.append(nil)
        self.pointers = pointers
        owned = own.count
    }

    deinit {
        for pointer in pointers.prefix(owned) { free(pointer) }
    }
}
