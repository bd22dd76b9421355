import DaemonKit
import FoundationEssentials
import Manifest

#if canImport(Glibc)
import Glibc
#endif

/// Runs one attempt of a periodic or watcher daemon's command and records it: the child's output into the
/// daemon's log between `[orchestrate] run N …` notes, and the run in the daemon's registry record (state,
/// pids, runs, last run, failures, last error).
///
/// A run that fails (non-zero exit, signal, timeout, or a command that cannot be started) is not a service
/// failure (docs/architecture.md): it is counted and reported, and the caller's schedule goes on.
struct RunExecutor: Sendable {
    /// How a run ended, for the event loop.
    struct Outcome: Sendable {
        /// The result; a command that could not be started is reported as exit status 127, as a shell does.
        var result: CommandRunResult
        /// Whether the run counts as failed: not a success, and not stopped on purpose (replaced, restarted,
        /// or the daemon stopping).
        var failed: Bool
    }

    /// The command, its folder, environment, timeout and stop behaviour.
    let runner: CommandRunner

    /// Describes the runs of `spec`'s daemon executing `command`.
    init(spec: DaemonSpec, command: Command, timeout: Duration?) {
        runner = CommandRunner(
            command,
            workingDirectory: spec.workingDirectory,
            environment: spec.environment,
            timeout: timeout,
            stopSignal: spec.stopSignal,
            stopTimeout: spec.stopTimeout
        )
    }

    /// Runs attempt `attempt` of run `number` with `environment` added to the daemon's, until it ends (or is
    /// stopped through `control`, or the task is cancelled). `scheduled` is the time a schedule started the
    /// run for; the run record then has its lateness. With `start`, the command is spawned as soon as its instant
    /// has come (``CommandRunner/run(at:onStart:output:errorOutput:)``), and nil is returned when it was called
    /// off before: nothing ran and nothing was recorded. Without it, the result is never nil.
    func run(
        number: Int,
        attempt: Int,
        environment: [String: String],
        context: DaemonContext,
        control: RunControl,
        scheduled: ContinuousClock.Instant? = nil,
        at start: ScheduledStart? = nil
    ) async -> Outcome? {
        var runner = runner
        runner.environment.merge(environment) { _, added in added }
        runner.environment[CommandVariable.daemon.name] = context.name
        runner.environment[CommandVariable.run.name] = String(number)
        runner.environment[CommandVariable.attempt.name] = String(attempt)
        let label = attempt > 1 ? "run \(number) (attempt \(attempt))" : "run \(number)"
        let log = context.log
        let result: CommandRunResult
        do {
            result = try await runner.run(
                at: start,
                onStart: { command in
                    let late = scheduled.map { Self.lateness(of: $0, startedAt: command.startInstant) }
                    context.note("\(label) started (pid \(command.pid))")
                    context.report(
                        .runStarted(
                            pid: command.pid,
                            run: DaemonRecord.Run(startedAt: command.startedAt, lateMilliseconds: late)
                        )
                    )
                    context.processGroups?.add(command.pid)
                    control.started(command)
                },
                output: { bytes in log.write(bytes) }
            )
        } catch is CancellationError {
            return nil
        } catch {
            // No child: count it as a failed run with the status a shell gives a missing command.
            let now = Date()
            context.note("\(label) could not start: \(error)")
            context.report(
                .runNotStarted(
                    run: DaemonRecord.Run(startedAt: now, durationMilliseconds: 0, exitCode: 127),
                    error: "\(label) could not start: \(error)"
                )
            )
            let result = CommandRunResult(
                pid: 0,
                processGroupID: 0,
                startedAt: now,
                duration: .zero,
                termination: .exited(127),
                reason: .completed
            )
            return Outcome(result: result, failed: true)
        }
        context.processGroups?.remove(result.processGroupID)
        log.flush()
        let milliseconds = Self.milliseconds(result.duration)
        let ending = Self.describe(result)
        context.note("\(label) \(ending) after \(milliseconds) ms")
        let stoppedOnPurpose = result.reason == .stopped || result.reason == .cancelled || control.stopRequested
        let failed = !result.succeeded && !stoppedOnPurpose
        let run = DaemonRecord.Run(
            startedAt: result.startedAt,
            durationMilliseconds: milliseconds,
            exitCode: result.exitCode,
            signal: result.signal,
            timedOut: result.timedOut
        )
        context.report(.runEnded(pid: result.pid, run: run, failure: failed ? "\(label) \(ending)" : nil))
        return Outcome(result: result, failed: failed)
    }

    /// "exited with status 1", "timed out and was killed by signal 15".
    static func describe(_ result: CommandRunResult) -> String {
        let termination =
            switch result.termination {
            case .exited(let code): "exited with status \(code)"
            case .signaled(let signal): "was killed by signal \(signal)"
            }
        switch result.reason {
        case .timedOut: return "timed out and " + termination
        case .stopped, .cancelled: return "was stopped and " + termination
        default: return termination
        }
    }

    /// How long after `scheduled` the run started, in milliseconds to the hundredth (never below 0).
    static func lateness(of scheduled: ContinuousClock.Instant, startedAt: ContinuousClock.Instant) -> Double {
        let milliseconds = (startedAt - scheduled) / .milliseconds(1)
        return max(0, (milliseconds * 100).rounded() / 100)
    }

    /// `duration` in whole milliseconds, rounded.
    static func milliseconds(_ duration: Duration) -> Int {
        Int((duration / .milliseconds(1)).rounded())
    }
}
