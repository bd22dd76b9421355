import CSupport
import Foundation
import Subprocess
import Synchronization
import SystemPackage

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
/// simply independent. The few process-wide facts (the children swift-subprocess is waiting for) live in a
/// `Mutex`-guarded registry (see ``ChildReaper``).
///
/// A run goes:
/// 1. spawn through swift-subprocess with `createSession` (the child leads a new session and group, so its
///    group ID is its PID), stdin from ``standardInput`` (or empty), stdout and stderr into one pipe, and
///    through the ``ParentDeathSignal`` helper when there is one;
/// 2. report the PID and group through `onStart`, before the child can be reaped;
/// 3. on timeout or ``RunningCommand/stop()``: ``stopSignal`` to the group, then SIGKILL to the group after
///    ``stopTimeout``; on cancellation of the calling task swift-subprocess runs the same sequence;
/// 4. once the child has been reaped, whatever the outcome: SIGKILL to the group, and reap the members that
///    were re-parented to this process (swift-subprocess only watches the leader, so a grandchild that ignores
///    SIGTERM or outlived its parent would otherwise stay);
/// 5. read the pipe to end-of-file, waiting at most ``outputDrainTimeout`` for a writer that escaped the group.
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
    /// - Throws: ``DaemonKitError`` with code `commandNotFound` or `spawnFailed` when there is no child.
    public func run(
        onStart: (RunningCommand) -> Void = { _ in },
        output: @escaping @Sendable (ArraySlice<UInt8>) -> Void,
        errorOutput: (@Sendable (ArraySlice<UInt8>) -> Void)? = nil
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
        let (stopRequests, stopContinuation) = AsyncStream<Void>.makeStream()
        defer { stopContinuation.finish() }
        let stopReason = StopReason()

        var options = PlatformOptions()
        options.createSession = true
        options.teardownSequence = [
            .send(
                signal: Subprocess.Signal(rawValue: stopSignal.number),
                toProcessGroup: true,
                allowedDurationToNextStep: stopTimeout
            )
        ]
        let clock = ContinuousClock()
        var started: (pid: Int32, at: Date, instant: ContinuousClock.Instant)?
        ChildRegistry.shared.willSpawn()
        let termination: TerminationStatus
        do {
            termination = try await withThrowingTaskGroup(of: Void.self) { group in
                let execution = try await Subprocess.run(
                    .path(FilePath(launch.path)),
                    arguments: Arguments(executablePathOverride: launch.argv0, remainingValues: launch.arguments),
                    environment: .inherit.updating(
                        Dictionary(uniqueKeysWithValues: environment.map { (Environment.Key(stringLiteral: $0), $1) })
                    ),
                    workingDirectory: workingDirectory.map { FilePath($0) },
                    platformOptions: options,
                    input: .fileDescriptor(FileDescriptor(rawValue: input.readEnd), closeAfterSpawningProcess: true),
                    output: .fileDescriptor(FileDescriptor(rawValue: pipe.writeEnd), closeAfterSpawningProcess: true),
                    error: .fileDescriptor(FileDescriptor(rawValue: errorDescriptor), closeAfterSpawningProcess: true)
                ) { execution in
                    let pid = execution.processIdentifier.value
                    ChildRegistry.shared.spawned(pid)
                    input.finishWriting()
                    started = (pid, Date(), clock.now)
                    onStart(
                        RunningCommand(
                            pid: pid,
                            startedAt: started!.at,
                            parentDeathSignal: launch.parentDeathSignal,
                            stopRequests: stopContinuation
                        )
                    )
                    group.addTask {
                        await enforceLimits(on: ProcessGroup(id: pid), stopRequests: stopRequests, reason: stopReason)
                    }
                }
                group.cancelAll()
                return execution.terminationStatus
            }
        } catch {
            if let started {
                ChildRegistry.shared.reaped(started.pid)
                _ = await ProcessGroup(id: started.pid).killAndReap(within: processGroupReapTimeout)
            } else {
                ChildRegistry.shared.spawned(nil)
                input.abandon()
            }
            for pipe in [pipe] + (errorPipe.map { [$0] } ?? []) {
                pipe.stopReading(after: .zero)
                await pipe.finished()
            }
            throw Self.runError(error, command: command, started: started != nil)
        }
        guard let started else {
            // swift-subprocess returned without calling the body: cannot happen, but never leave a count behind.
            ChildRegistry.shared.spawned(nil)
            throw DaemonKitError(code: .spawnFailed, message: "'\(command)' was not started")
        }
        let duration = clock.now - started.instant
        ChildRegistry.shared.reaped(started.pid)

        let groupGone = await ProcessGroup(id: started.pid).killAndReap(within: processGroupReapTimeout)
        for pipe in [pipe] + (errorPipe.map { [$0] } ?? []) {
            pipe.stopReading(after: outputDrainTimeout)
            await pipe.finished()
        }

        let reason = stopReason.value ?? (Task.isCancelled ? .cancelled : .completed)
        return CommandRunResult(
            pid: started.pid,
            processGroupID: started.pid,
            startedAt: started.at,
            duration: duration,
            termination: Self.termination(termination),
            reason: reason,
            processGroupOutlivedRun: !groupGone
        )
    }

    /// Waits for the timeout or a stop request, whichever comes first, then stops the group: the stop signal,
    /// and SIGKILL if the child has not been reaped after the stop timeout (the caller cancels this task then).
    private func enforceLimits(
        on group: ProcessGroup,
        stopRequests: AsyncStream<Void>,
        reason: StopReason
    ) async {
        let trigger: CommandRunResult.Reason? = await withTaskGroup(of: CommandRunResult.Reason?.self) { race in
            if let timeout {
                race.addTask {
                    do {
                        try await CancellableSleep.for(timeout)
                        return .timedOut
                    } catch {
                        return nil
                    }
                }
            }
            race.addTask {
                for await _ in stopRequests { return .stopped }
                return nil
            }
            for await outcome in race {
                if let outcome {
                    race.cancelAll()
                    return outcome
                }
            }
            return nil
        }
        guard let trigger, !Task.isCancelled else { return }
        reason.record(trigger)
        group.send(stopSignal)
        do {
            try await CancellableSleep.for(stopTimeout)
        } catch {
            return  // the child was reaped within the stop timeout
        }
        group.send(SIGKILL)
    }

    /// SIGPIPE is ignored in the supervisor, once: ``standardInput`` is written to a pipe, and a command that
    /// exits without reading it all would otherwise kill the supervisor with SIGPIPE (the write then fails with
    /// EPIPE instead). Children are unaffected: swift-subprocess resets every signal to its
    /// default in the child.
    private static let ignoreBrokenPipes: Void = {
        _ = signal(SIGPIPE, SIG_IGN)
    }()

    private static func termination(_ status: TerminationStatus) -> CommandRunResult.Termination {
        switch status {
        case .exited(let code): .exited(code)
        case .signaled(let signal): .signaled(signal)
        }
    }

    private static func runError(_ error: any Error, command: Command, started: Bool) -> DaemonKitError {
        if let error = error as? DaemonKitError { return error }
        var number: Int32?
        if let error = error as? SubprocessError, let underlying = error.underlyingError {
            number = underlying.rawValue
        }
        let name = command.arguments.first ?? ""
        if started {
            // Spawned, then lost: swift-subprocess could not monitor or reap the child.
            return DaemonKitError(code: .processControl, message: "lost track of '\(name)': \(error)", errno: number)
        }
        return DaemonKitError(code: .spawnFailed, message: "cannot start '\(name)': \(error)", errno: number)
    }
}

/// Why a run was stopped, set once by whichever of timeout and stop request came first.
private final class StopReason: Sendable {
    private let reason = Mutex<CommandRunResult.Reason?>(nil)

    var value: CommandRunResult.Reason? { reason.withLock { $0 } }

    func record(_ trigger: CommandRunResult.Reason) {
        reason.withLock { if $0 == nil { $0 = trigger } }
    }
}
