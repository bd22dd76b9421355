import DaemonKit
import FoundationEssentials
import Manifest
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

/// One run of a periodic or watcher daemon outside any supervisor (`orchestrate run NAME`): for CI jobs, cron, a
/// Kubernetes CronJob or a systemd timer. The command runs as the daemon's runs do (its folder, environment, timeout
/// and stop signal, `ORCHESTRATE_DAEMON`, `ORCHESTRATE_RUN=1`, `ORCHESTRATE_ATTEMPT`), retried as its `retry` says; a
/// watcher's run is a full rescan (`ORCHESTRATE_RESCAN=1`, an empty list of changed files). SIGINT and SIGTERM stop
/// the run's process group as a supervisor would.
public struct SingleRun: Sendable {
    /// The exit status of a run stopped for its timeout, as `timeout(1)` gives.
    public static let timedOutStatus: Int32 = 124

    /// The daemon.
    public let daemon: DaemonSpec
    /// What each attempt executes.
    let command: Command
    /// An attempt taking longer is stopped.
    let timeout: Duration?
    /// Retries of a failed attempt.
    let retry: RetryPolicy
    /// Whether the run is a watcher's, which gets the variables of a rescan.
    let isWatcher: Bool

    /// A run of `daemon`; throws a sentence saying why when its kind has no runs of its own.
    public init(daemon: DaemonSpec) throws(OrchestratorError) {
        self.daemon = daemon
        if let periodic = daemon.settings(as: PeriodicSpec.self) {
            (command, timeout, retry, isWatcher) = (periodic.command, periodic.timeout, periodic.retry, false)
        } else if let watcher = daemon.settings(as: WatcherSpec.self) {
            (command, timeout, retry, isWatcher) = (watcher.command, watcher.timeout, watcher.retry, true)
        } else {
            throw OrchestratorError(
                code: .notRunnable,
                message: "'\(daemon.name)' is \(daemon.kindTitle), which has no single run: `run` runs "
                    + "\(PeriodicSpec.title) or \(WatcherSpec.title) once; `up --only \(daemon.name)` runs this one"
            )
        }
    }

    /// Runs the command, retrying a failed attempt, and returns the exit status of the last attempt: its own
    /// status, 124 when it timed out, 128 + N when signal N ended it, 127 when it could not start. `output` and
    /// `errorOutput` get the command's standard output and error as they come; `note` gets a line for each retry.
    public func run(
        output: @escaping @Sendable (ArraySlice<UInt8>) -> Void,
        errorOutput: @escaping @Sendable (ArraySlice<UInt8>) -> Void,
        note: @escaping @Sendable (String) -> Void
    ) async -> Int32 {
        let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
        return await withTaskGroup(of: Ending.self) { group in
            group.addTask { .finished(await attempts(output: output, errorOutput: errorOutput, note: note)) }
            group.addTask {
                for await signal in signals { return .signal(128 + Int32(signal.rawValue)) }
                return .none
            }
            var signalled: Int32?
            var status: Int32 = 0
            while let ending = await group.next() {
                switch ending {
                case .finished(let code):
                    status = code
                    group.cancelAll()
                case .signal(let code):
                    // Cancelling the attempts stops the run's process group (stop signal, then SIGKILL).
                    signalled = code
                    group.cancelAll()
                case .none: break
                }
            }
            return signalled ?? status
        }
    }

    /// How a task of ``run(output:errorOutput:note:)`` ended.
    private enum Ending: Sendable {
        case finished(Int32)
        case signal(Int32)
        case none
    }

    private func attempts(
        output: @escaping @Sendable (ArraySlice<UInt8>) -> Void,
        errorOutput: @escaping @Sendable (ArraySlice<UInt8>) -> Void,
        note: @escaping @Sendable (String) -> Void
    ) async -> Int32 {
        var runner = CommandRunner(
            command,
            workingDirectory: daemon.workingDirectory,
            environment: daemon.environment,
            timeout: timeout,
            stopSignal: daemon.stopSignal,
            stopTimeout: daemon.stopTimeout
        )
        runner.environment[CommandVariable.daemon.name] = daemon.name
        runner.environment[CommandVariable.run.name] = "1"
        var changedFile: String?
        if isWatcher {
            changedFile = Self.emptyChangedFile(for: daemon.name)
            runner.environment[CommandVariable.changedFile.name] = changedFile ?? "/dev/null"
            runner.environment[CommandVariable.changedCount.name] = "0"
            runner.environment[CommandVariable.rescan.name] = "1"
        }
        defer { if let changedFile { unlink(changedFile) } }
        var attempt = 1
        while true {
            runner.environment[CommandVariable.attempt.name] = String(attempt)
            let status: Int32
            let ending: String
            do {
                let result = try await runner.run(output: output, errorOutput: errorOutput)
                ending = RunExecutor.describe(result)
                status =
                    switch (result.reason, result.termination) {
                    case (.timedOut, _): Self.timedOutStatus
                    case (_, .exited(let code)): code
                    case (_, .signaled(let signal)): 128 + signal
                    }
            } catch {
                ending = "could not start: \(error)"
                status = 127
            }
            if status == 0 || Task.isCancelled || attempt > retry.attempts { return status }
            note(
                "\(daemon.name): attempt \(attempt) \(ending); retrying in \(DurationText.format(retry.backoff)) "
                    + "(attempt \(attempt + 1) of \(retry.attempts + 1))"
            )
            do {
                try await Task.sleep(for: retry.backoff)
            } catch {
                return status
            }
            attempt += 1
        }
    }

    /// An empty file for `ORCHESTRATE_CHANGED_FILE`, in the temporary folder; nil when none can be made.
    private static func emptyChangedFile(for name: String) -> String? {
        let folder = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(folder)/orchestrate-run-XXXXXX".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { return nil }
        close(descriptor)
        return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
