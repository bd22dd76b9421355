import DaemonKit
import FoundationEssentials
import Manifest

#if canImport(Glibc)
import Glibc
#endif

/// A `periodic` daemon: runs its command on an interval or cron schedule, with jitter, a run on
/// start, a timeout, an overlap policy, retries of failed runs, and `orchestrate trigger`.
///
/// The decisions are the ``PeriodicStateMachine``'s; this service is its runner. One event loop in a task
/// group owns the machine: a timer task sleeps until the machine's next wake-up and posts a tick (a timer
/// made stale by a later wake-up is recognised by its generation and ignored), each run is a task that posts
/// its result, and trigger requests arrive from the context. A failed run is counted, never thrown: only
/// cancellation ends the service, which stops a running command (its process group) before returning.
public struct PeriodicDaemon: DaemonService {
    /// The daemon's name.
    public let name: String
    /// `periodic`.
    public var kind: String { PeriodicSpec.name }
    /// The daemon as the manifest resolved it.
    public let spec: DaemonSpec
    /// Its periodic fields.
    public let periodic: PeriodicSpec

    /// Makes the daemon for `spec`, whose kind must be ``PeriodicSpec``.
    public init(spec: DaemonSpec) {
        guard let periodic = spec.settings(as: PeriodicSpec.self) else {
            preconditionFailure("PeriodicDaemon made from \(spec.kindName) daemon '\(spec.name)'")
        }
        self.name = spec.name
        self.spec = spec
        self.periodic = periodic
    }

    /// The state machine's configuration for this daemon.
    public var configuration: PeriodicStateMachine.Configuration {
        PeriodicStateMachine.Configuration(
            schedule: periodic.schedule,
            jitter: periodic.jitter,
            runOnStart: periodic.runOnStart,
            overlap: periodic.overlap,
            retry: periodic.retry
        )
    }

    /// Runs the schedule until the task is cancelled.
    public func run(_ context: DaemonContext) async throws {
        let executor = RunExecutor(spec: spec, command: periodic.command, timeout: periodic.timeout)
        let (events, sink) = AsyncStream.makeStream(of: Event.self)
        var loop = Loop(
            machine: PeriodicStateMachine(configuration: configuration),
            executor: executor,
            context: context,
            sink: sink
        )
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await request in context.requests { sink.yield(.request(request)) }
            }
            loop.start(in: &group)
            // Iteration ends when the task is cancelled; leaving the group then cancels the runs, which stops
            // their commands, and waits for them.
            for await event in events {
                loop.handle(event, in: &group)
            }
            group.cancelAll()
        }
        sink.finish()
        loop.finish()
    }

    /// What the event loop reacts to.
    enum Event: Sendable {
        /// The timer of generation `generation` went off.
        case tick(generation: Int)
        /// Attempt `attempt` of run `number` ended.
        case finished(number: Int, attempt: Int, outcome: RunExecutor.Outcome)
        /// A request from the control API.
        case request(DaemonRequest)
    }

    /// The event loop's state: the machine, the armed timer, the runs in progress and the triggers waiting for
    /// their runs to end.
    struct Loop {
        var machine: PeriodicStateMachine
        let executor: RunExecutor
        let context: DaemonContext
        let sink: AsyncStream<Event>.Continuation
        let clock = ContinuousClock()
        /// The generation of the armed timer; a tick of another generation is stale.
        var generation = 0
        /// When the armed timer goes off.
        var armed: ContinuousClock.Instant?
        /// The runs in progress, by number.
        var runs: [Int: RunControl] = [:]
        /// Trigger requests waiting for their run to end, by run number.
        var waiters: [Int: [DaemonRequest]] = [:]
        /// Trigger requests answered by the queued run (`overlap: queue`), which has no number until it starts.
        var queuedWaiters: [DaemonRequest] = []

        init(
            machine: PeriodicStateMachine,
            executor: RunExecutor,
            context: DaemonContext,
            sink: AsyncStream<Event>.Continuation
        ) {
            self.machine = machine
            self.executor = executor
            self.context = context
            self.sink = sink
        }

        var now: PeriodicStateMachine.Now {
            PeriodicStateMachine.Now(instant: clock.now, date: Date())
        }

        mutating func start(in group: inout DiscardingTaskGroup) {
            let actions = machine.start(at: now)
            context.started(state: .idle)
            perform(actions, for: nil, in: &group)
        }

        mutating func handle(_ event: Event, in group: inout DiscardingTaskGroup) {
            switch event {
            case .tick(let tickGeneration):
                guard tickGeneration == generation else { return }
                armed = nil
                perform(machine.tick(at: now), for: nil, in: &group)
            case .finished(let number, _, let outcome):
                runs[number] = nil
                let actions = machine.runFinished(number: number, at: now, success: !outcome.failed)
                if !isInProgress(number) {
                    for request in waiters.removeValue(forKey: number) ?? [] {
                        request.reply(.finished(outcome.result))
                    }
                }
                perform(actions, for: nil, in: &group)
            case .request(let request):
                switch request.kind {
                case .trigger:
                    perform(machine.trigger(at: now), for: request, in: &group)
                }
            }
        }

        /// Whether run `number` is still the machine's current run (running or waiting for a retry).
        func isInProgress(_ number: Int) -> Bool {
            switch machine.state {
            case .running(let current, _), .retryBackoff(let current, _, _): current == number
            case .notStarted, .idle: false
            }
        }

        /// Carries out the machine's actions; `request` is the trigger they answer, if any.
        mutating func perform(
            _ actions: [PeriodicStateMachine.Action],
            for request: DaemonRequest?,
            in group: inout DiscardingTaskGroup
        ) {
            var sleepUntil: ContinuousClock.Instant?
            for action in actions {
                switch action {
                case .startRun(let number, let attempt):
                    if let request { waiters[number, default: []].append(request) }
                    if attempt == 1, !queuedWaiters.isEmpty {
                        waiters[number, default: []] += queuedWaiters
                        queuedWaiters = []
                    }
                    startRun(number: number, attempt: attempt, in: &group)
                case .stopRun(let number):
                    runs[number]?.stop()
                case .skipped:
                    request?.reply(.skipped)
                case .queued:
                    // Answered when the queued run ends, so that `trigger --wait` waits for the run it asked for.
                    if let request { queuedWaiters.append(request) }
                case .sleep(let until):
                    sleepUntil = until
                }
            }
            arm(sleepUntil, in: &group)
            context.report(.nextRun(machine.nextDueDate(at: now)))
        }

        mutating func startRun(number: Int, attempt: Int, in group: inout DiscardingTaskGroup) {
            let control = RunControl()
            runs[number] = control
            let (executor, context, sink) = (executor, context, sink)
            let scheduled = machine.lastScheduledRun.flatMap { $0.number == number && attempt == 1 ? $0.due : nil }
            group.addTask {
                let outcome = await executor.run(
                    number: number,
                    attempt: attempt,
                    environment: [:],
                    context: context,
                    control: control,
                    scheduled: scheduled
                )
                sink.yield(.finished(number: number, attempt: attempt, outcome: outcome))
            }
        }

        /// Arms a timer for `instant`, unless the armed one already goes off then.
        mutating func arm(_ instant: ContinuousClock.Instant?, in group: inout DiscardingTaskGroup) {
            guard let instant, instant != armed else { return }
            generation += 1
            armed = instant
            let (tickGeneration, sink) = (generation, sink)
            group.addTask {
                await CancellableSleep.fire(after: ContinuousClock.now.duration(to: instant)) {
                    sink.yield(.tick(generation: tickGeneration))
                }
            }
        }

        /// Answers the triggers still waiting and clears the next run, as the service stops.
        mutating func finish() {
            for request in waiters.values.joined() + queuedWaiters {
                request.reply(.refused("'\(context.name)' stopped"))
            }
            waiters = [:]
            queuedWaiters = []
            context.report(.nextRun(nil))
        }
    }
}
