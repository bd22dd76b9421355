import DaemonKit
import Foundation

/// An `http-check` daemon: GETs its URL every interval (DaemonKit's ``ProbeCheck``, bounded by the timeout) and
/// records each check as a run: `runs`, `failures`, `last_run` (its duration, and exit code 0 when the URL answered
/// 2xx, 1 when not), `last_error`, `next_run`, and in its log a line a check.
///
/// `misses` failed checks in a row throw: the daemon fails, and its restart policy decides what follows (with
/// `restart: {policy: never}` it stays `failed`; with `on-failure` it starts again after the backoff, its count of
/// misses from zero, until the policy's burst limit parks it as `failed`). Checks keep their schedule, anchored
/// to the first: a slow answer does not push the next one back.
public struct HTTPCheckDaemon: DaemonService {
    /// Why the daemon failed.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public let name: String
    /// What to check, how often, and how many misses fail the daemon.
    public let check: HTTPCheckSpec

    public var kind: String { HTTPCheckSpec.name }

    /// Makes the service of daemon `name`.
    public init(name: String, check: HTTPCheckSpec) {
        self.name = name
        self.check = check
    }

    /// Checks until cancelled (returns) or until `misses` checks in a row failed (throws).
    public func run(_ context: DaemonContext) async throws {
        context.started(state: .idle)
        defer { context.report(.nextRun(nil)) }
        let clock = ContinuousClock()
        var due = clock.now
        var missed = 0
        while !Task.isCancelled {
            let number = (context.registry.record(name)?.runs ?? 0) + 1
            let started = clock.now
            let run = DaemonRecord.Run(startedAt: Date())
            context.report(.nextRun(nil))
            // A check is a run without a process of its own.
            context.report(.runStarted(pid: nil, run: run))
            let outcome = await ProbeCheck.http(check.url).run(timeout: check.timeout)
            // A check cut short by a stop is not a miss.
            if Task.isCancelled { return }
            let milliseconds = Int(((clock.now - started) / .milliseconds(1)).rounded())
            while due <= clock.now { due += check.interval }
            let nextRun = Date().addingTimeInterval(Double((due - clock.now) / .milliseconds(1)) / 1_000)
            missed = outcome.passed ? 0 : missed + 1
            var ended = run
            ended.durationMilliseconds = milliseconds
            ended.exitCode = outcome.passed ? 0 : 1
            var failure: String?
            if case .failed(let reason) = outcome { failure = "check \(number): \(reason)" }
            context.report(.runEnded(pid: nil, run: ended, failure: failure))
            context.report(.nextRun(nextRun))
            context.report(.health("missed", String(missed)))
            switch outcome {
            case .passed:
                context.note("check \(number) passed after \(milliseconds) ms")
            case .failed(let reason):
                context.note("check \(number) failed after \(milliseconds) ms: \(reason)")
                if missed >= check.misses {
                    throw Failure(description: "\(missed) checks in a row failed; the last: \(reason)")
                }
            }
            do {
                try await Task.sleep(until: due, clock: clock)
            } catch {
                return
            }
        }
    }
}
