import DaemonKit
import FoundationEssentials
import Manifest

#if canImport(Glibc)
import Glibc
#endif

extension WatcherDaemon {
    /// What the event loop reacts to.
    enum Event: Sendable {
        /// A debounced batch of changes.
        case batch(FileChangeBatch)
        /// The batch stream ended, with the error that ended it.
        case watchEnded((any Error)?)
        /// Attempt `attempt` of run `number` ended.
        case finished(number: Int, attempt: Int, outcome: RunExecutor.Outcome)
        /// The retry backoff of generation `generation` is over.
        case retryDue(generation: Int)
        /// A request from the control API.
        case request(DaemonRequest)
    }

    /// A run: the paths it hands over, whether it asks for a rescan, and the triggers waiting for its result.
    struct Job {
        var number: Int
        var paths: Set<String>
        var rescan: Bool
        var waiters: [DaemonRequest]
        /// The attempt in progress or due next.
        var attempt = 1
        /// The running attempt's handle; nil while waiting for a retry.
        var control: RunControl?
        /// Set when `on_busy: restart` stopped it: its end starts the pending run instead of being counted.
        var interrupted = false
    }

    /// Changes (and triggers) waiting for the current run to end.
    struct Pending {
        var paths: Set<String> = []
        var rescan = false
        var waiters: [DaemonRequest] = []
        var isEmpty: Bool { paths.isEmpty && !rescan && waiters.isEmpty }
    }

    /// The event loop's state: the run in progress and what waits for it. Owned by the loop's task only.
    struct Loop {
        let daemon: WatcherDaemon
        let executor: RunExecutor
        let context: DaemonContext
        let sink: AsyncStream<Event>.Continuation
        /// The run in progress (running, or waiting out a retry backoff).
        var job: Job?
        var pending = Pending()
        /// The number of the latest run.
        var lastNumber = 0
        /// The generation of the armed retry timer; a timer of another generation is stale.
        var retryGeneration = 0
        /// Batches dropped by `on_busy: skip`.
        var skippedBatches = 0

        init(
            daemon: WatcherDaemon,
            executor: RunExecutor,
            context: DaemonContext,
            sink: AsyncStream<Event>.Continuation
        ) {
            self.daemon = daemon
            self.executor = executor
            self.context = context
            self.sink = sink
        }

        /// Handles one event; returns the error that ends the service, if any.
        mutating func handle(_ event: Event, in group: inout DiscardingTaskGroup) -> (any Error)? {
            switch event {
            case .batch(let batch):
                context.count("orchestrate_watcher_batches_total")
                return busy(paths: batch.paths, rescan: batch.rescan, request: nil, in: &group)
            case .request(let request):
                switch request.kind {
                case .trigger:
                    return busy(paths: [], rescan: true, request: request, in: &group)
                }
            case .watchEnded(let error):
                return error ?? DaemonKitError(code: .watchFailed, message: "the file watcher stopped")
            case .retryDue(let generation):
                guard generation == retryGeneration, let job, job.control == nil else { return nil }
                return launch(in: &group)
            case .finished(let number, let attempt, let outcome):
                guard var job, job.number == number, job.attempt == attempt else { return nil }
                job.control = nil
                if job.interrupted {
                    // Stopped by `on_busy: restart`: the pending run already holds its paths and waiters.
                    self.job = nil
                    return startPending(in: &group)
                }
                if outcome.failed && attempt <= daemon.watcher.retry.attempts {
                    job.attempt += 1
                    self.job = job
                    armRetry(after: daemon.watcher.retry.backoff, in: &group)
                    return nil
                }
                for request in job.waiters { request.reply(.finished(outcome.result)) }
                self.job = nil
                return startPending(in: &group)
            }
        }

        /// Changes or a trigger: a run now when idle, otherwise what `on_busy` says.
        mutating func busy(
            paths: [String],
            rescan: Bool,
            request: DaemonRequest?,
            in group: inout DiscardingTaskGroup
        ) -> (any Error)? {
            guard var job else {
                return startRun(paths: Set(paths), rescan: rescan, waiters: request.map { [$0] } ?? [], in: &group)
            }
            switch daemon.watcher.onBusy {
            case .skip:
                context.count("orchestrate_runs_total", [("outcome", "skipped")])
                if let request {
                    context.note("a trigger during run \(job.number) skipped")
                    request.reply(.skipped)
                } else {
                    skippedBatches += 1
                    context.note("changes during run \(job.number) skipped (\(paths.count) paths)")
                    let count = String(skippedBatches)
                    context.report(.health("skipped_batches", count))
                }
            case .queue:
                pending.paths.formUnion(paths)
                pending.rescan = pending.rescan || rescan
                // Answered when the queued run ends, so that `trigger --wait` waits for the run it asked for.
                pending.waiters += request.map { [$0] } ?? []
                recordPending()
            case .restart:
                // The new run takes over what the interrupted one was handed and who waits for it.
                pending.paths.formUnion(paths)
                pending.paths.formUnion(job.paths)
                pending.rescan = pending.rescan || rescan || job.rescan
                pending.waiters += job.waiters + (request.map { [$0] } ?? [])
                job.waiters = []
                recordPending()
                if let control = job.control {
                    if !job.interrupted { context.note("run \(job.number) restarted: files changed") }
                    job.interrupted = true
                    self.job = job
                    control.stop()
                } else {
                    // Waiting for a retry: nothing to stop, the retry is dropped for the new run.
                    retryGeneration += 1
                    self.job = nil
                    return startPending(in: &group)
                }
            }
            return nil
        }

        /// Starts the pending run, if anything is pending.
        mutating func startPending(in group: inout DiscardingTaskGroup) -> (any Error)? {
            guard !pending.isEmpty else { return nil }
            let next = pending
            pending = Pending()
            recordPending()
            return startRun(paths: next.paths, rescan: next.rescan, waiters: next.waiters, in: &group)
        }

        /// Starts a new run handing over `paths`.
        mutating func startRun(
            paths: Set<String>,
            rescan: Bool,
            waiters: [DaemonRequest],
            in group: inout DiscardingTaskGroup
        ) -> (any Error)? {
            lastNumber += 1
            job = Job(number: lastNumber, paths: paths, rescan: rescan, waiters: waiters)
            return launch(in: &group)
        }

        /// Starts the current attempt of the current run.
        mutating func launch(in group: inout DiscardingTaskGroup) -> (any Error)? {
            guard var job else { return nil }
            let sorted = job.paths.sorted()
            do {
                try daemon.writeChangedFile(sorted)
            } catch {
                for request in job.waiters { request.reply(.refused("\(error)")) }
                self.job = nil
                return error
            }
            let control = RunControl()
            job.control = control
            self.job = job
            let environment = [
                CommandVariable.changedFile.name: daemon.changedFile,
                CommandVariable.changedCount.name: String(sorted.count),
                CommandVariable.rescan.name: job.rescan ? "1" : "0",
            ]
            let (number, attempt, executor, context, sink) = (job.number, job.attempt, executor, context, sink)
            group.addTask {
                // A run started now always has an outcome (only one due later can be cancelled before it starts).
                guard
                    let outcome = await executor.run(
                        number: number,
                        attempt: attempt,
                        environment: environment,
                        context: context,
                        control: control
                    )
                else { return }
                sink.yield(.finished(number: number, attempt: attempt, outcome: outcome))
            }
            return nil
        }

        /// Shows in the record's health how many changed paths wait for the current run to end.
        func recordPending() {
            let count = String(pending.paths.count)
            context.report(.health("pending_paths", count))
        }

        /// Posts `.retryDue` after `delay`.
        mutating func armRetry(after delay: Duration, in group: inout DiscardingTaskGroup) {
            retryGeneration += 1
            let (generation, sink) = (retryGeneration, sink)
            group.addTask {
                await CancellableSleep.fire(after: delay) { sink.yield(.retryDue(generation: generation)) }
            }
        }

        /// Answers the triggers still waiting, as the service stops.
        mutating func finish() {
            let waiters = (job?.waiters ?? []) + pending.waiters
            for request in waiters { request.reply(.refused("'\(context.name)' stopped")) }
            job = nil
            pending = Pending()
        }
    }
}
