import DaemonKit
import FoundationEssentials
import Manifest

#if canImport(Glibc)
import Glibc
#endif

/// The `process` kind (README, "The process kind"): a long-running command kept up by the restart policy.
///
/// One life of the service is one life of the command, in a process group of its own:
/// - it is `starting` until its `ready` probe passes (an `http` URL answering 2xx, a `tcp` port accepting, an
///   `exec` command exiting 0, or a `log_line` regex seen in its output), then `running`; without a probe it is
///   `running` once spawned. A probe that has not passed within its timeout stops the command and fails the life;
/// - once ready, the optional `liveness` probe runs every `period`; `failures` failed checks in a row stop the
///   command and fail the life;
/// - the command exiting ends the life: status 0 returns (the policy restarts it under `always`; otherwise the
///   daemon is `completed`), anything else throws, so the restart policy's backoff and burst limit apply.
///
/// Each life's PID, start, exit status or signal and duration go to the registry (and so to the event stream).
/// Cancellation stops the command: `stop_signal` to its group, `stop_timeout`, then SIGKILL to the group, and
/// whatever the group left behind is killed and reaped (``CommandRunner``).
public struct ProcessDaemon: DaemonService {
    public let spec: DaemonSpec
    let process: ProcessSpec

    public var name: String { spec.name }
    public var kind: String { ProcessSpec.name }

    /// Makes the service of a process daemon.
    public init(spec: DaemonSpec, process: ProcessSpec) {
        self.spec = spec
        self.process = process
    }

    /// Why a life of the process ended in failure.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// What the life's tasks report to its loop.
    private enum Event: Sendable {
        case spawned(RunningCommand)
        case ready(String)
        case probeFailed(String)
        /// The command ended: why, when that is a failure.
        case exited(failure: String?)
    }

    /// Runs one life of the command: returns when it exits 0 or the task is cancelled, throws when it fails.
    public func run(_ context: DaemonContext) async throws {
        var command = CommandRunner(
            process.command,
            workingDirectory: spec.workingDirectory,
            environment: spec.environment,
            stopSignal: spec.stopSignal,
            stopTimeout: spec.stopTimeout
        )
        command.environment[CommandVariable.daemon.name] = name
        command.environment[CommandVariable.run.name] = String((context.registry.record(name)?.runs ?? 0) + 1)
        let runner = command
        var matcher: OutputLineMatcher?
        if case .logLine(let pattern)? = process.ready?.check { matcher = try OutputLineMatcher(pattern: pattern) }
        let lineMatcher = matcher
        let log = context.log
        let (events, sink) = AsyncStream.makeStream(of: Event.self)

        // The command's own task records its start and end, so that both are recorded even when a stop (the task
        // cancelled) ends the loop below before it hears of them.
        let failure: String? = await withDiscardingTaskGroup { group in
            group.addTask {
                for await request in context.requests {
                    request.reply(
                        .refused("'\(context.name)' is \(ProcessSpec.title): use `orchestrate restart` instead")
                    )
                }
            }
            group.addTask {
                var failure: String?
                do {
                    let result = try await runner.run(
                        onStart: { command in
                            started(command, context: context)
                            sink.yield(.spawned(command))
                        },
                        output: { bytes in
                            log.write(bytes)
                            lineMatcher?.feed(bytes)
                        }
                    )
                    ended(result, context: context)
                    if !result.succeeded, result.reason == .completed { failure = "it " + RunExecutor.describe(result) }
                } catch {
                    context.note("could not start: \(error)")
                    failure = "\(error)"
                }
                lineMatcher?.finish()
                sink.yield(.exited(failure: failure))
            }
            var running: RunningCommand?
            var failure: String?
            for await event in events {
                switch event {
                case .spawned(let command):
                    running = command
                    if let probe = process.ready {
                        group.addTask { sink.yield(await readiness(probe, matcher: lineMatcher)) }
                    } else {
                        sink.yield(.ready("started"))
                    }
                case .ready(let how):
                    context.report(.ready(how))
                    if process.ready != nil { context.note("ready: \(how)") }
                    if let probe = process.liveness {
                        group.addTask {
                            if let failed = await liveness(probe, context: context) { sink.yield(.probeFailed(failed)) }
                        }
                    }
                case .probeFailed(let reason):
                    guard failure == nil else { continue }
                    failure = reason
                    context.note(reason + "; stopping it")
                    running?.stop()
                case .exited(let exitFailure):
                    failure = failure ?? exitFailure
                    sink.finish()
                    group.cancelAll()
                }
            }
            return failure
        }
        guard let failure, !Task.isCancelled else { return }
        context.report(.lifeFailed)
        throw Failure(description: failure)
    }

    /// Records a new life: its PID, its start, and `starting` until a probe passes.
    private func started(_ command: RunningCommand, context: DaemonContext) {
        context.processGroups?.add(command.pid)
        context.note("started (pid \(command.pid))")
        context.report(
            .lifeStarted(
                pid: command.pid,
                run: DaemonRecord.Run(startedAt: command.startedAt),
                ready: process.ready == nil
            )
        )
    }

    /// Records the end of a life: its exit status or signal and how long it lived.
    private func ended(_ result: CommandRunResult, context: DaemonContext) {
        context.processGroups?.remove(result.processGroupID)
        context.log.flush()
        context.note("\(RunExecutor.describe(result)) after \(RunExecutor.milliseconds(result.duration)) ms")
        context.report(
            .lifeEnded(
                run: DaemonRecord.Run(
                    startedAt: result.startedAt,
                    durationMilliseconds: RunExecutor.milliseconds(result.duration),
                    exitCode: result.exitCode,
                    signal: result.signal
                )
            )
        )
    }

    /// Waits until the readiness probe passes (`.ready`) or its timeout passes (`.probeFailed`, with the last
    /// check's reason).
    private func readiness(_ probe: Probe, matcher: OutputLineMatcher?) async -> Event {
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + probe.timeout
        let elapsed = { "after \(RunExecutor.milliseconds(clock.now - start)) ms" }
        if let matcher {
            let line: String? = await withTaskGroup(of: String?.self) { race in
                race.addTask {
                    for await line in matcher.matches { return line }
                    return nil
                }
                race.addTask {
                    try? await CancellableSleep.until(deadline)
                    return nil
                }
                let first = await race.next() ?? nil
                race.cancelAll()
                return first
            }
            if let line { return .ready("log line '\(line)' \(elapsed())") }
            return .probeFailed(
                "not ready within \(DurationText.format(probe.timeout)): no output line matched '\(matcher.pattern)'"
            )
        }
        guard let check = probe.check.socketOrCommand else { return .ready("started") }
        var reason = "no check finished"
        var hasReason = false
        while !Task.isCancelled {
            let remaining = clock.now.duration(to: deadline)
            if remaining <= .zero { break }
            let full = max(probe.period, .seconds(1))
            let outcome = await check.run(
                timeout: min(remaining, full),
                workingDirectory: spec.workingDirectory,
                environment: spec.environment
            )
            switch outcome {
            case .passed: return .ready("\(probe.check) \(elapsed())")
            case .failed(let why):
                // A last check cut short by the deadline says less than a whole one before it ("answered 404").
                if remaining >= full || !hasReason { reason = why }
                hasReason = true
            }
            let next = min(clock.now + probe.period, deadline)
            do { try await CancellableSleep.until(next) } catch { break }
        }
        return .probeFailed("not ready within \(DurationText.format(probe.timeout)): \(reason)")
    }

    /// Checks liveness every period; returns why once `failures` checks in a row failed (nil when cancelled).
    private func liveness(_ probe: Probe, context: DaemonContext) async -> String? {
        guard let check = probe.check.socketOrCommand else { return nil }
        let limit = probe.failures ?? 3
        var failed = 0
        while true {
            do { try await CancellableSleep.for(probe.period) } catch { return nil }
            let outcome = await check.run(
                timeout: probe.timeout,
                workingDirectory: spec.workingDirectory,
                environment: spec.environment
            )
            if Task.isCancelled { return nil }
            switch outcome {
            case .passed:
                if failed > 0 { context.note("liveness check passed again") }
                failed = 0
                context.report(.health("liveness", "ok"))
            case .failed(let why):
                failed += 1
                context.note("liveness check failed (\(failed) of \(limit)): \(why)")
                context.report(.health("liveness", "failed \(failed) of \(limit): \(why)"))
                if failed >= limit { return "liveness failed \(failed) times in a row: \(why)" }
            }
        }
    }
}

extension Probe.Check {
    /// The check a probe runs, for every kind of probe but `log_line` (which watches the output instead).
    var socketOrCommand: ProbeCheck? {
        switch self {
        case .http(let url): .http(url)
        case .tcp(let address): .connection(address)
        case .exec(let command): .exec(command)
        case .logLine: nil
        }
    }
}

extension Probe.Check: CustomStringConvertible {
    /// "http http://127.0.0.1:8000/ answered 2xx", as the log and `status` say how a process became ready.
    public var description: String {
        switch self {
        case .http(let url): "\(url) answered 2xx"
        case .tcp(let address): "\(address) accepted a connection"
        case .exec(let command): "'\(command)' exited 0"
        case .logLine(let pattern): "a line matched '\(pattern)'"
        }
    }
}
