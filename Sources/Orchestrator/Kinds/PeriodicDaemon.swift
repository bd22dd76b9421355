import DaemonKit
import FoundationEssentials
import Manifest
import Synchronization

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
///
/// A scheduled run is prepared ahead: within ``Loop/lead`` of its due time, when the machine says that the
/// schedule starts it then, its task makes its pipes and environment and hands the spawn to a spawn thread
/// (``ScheduledStart``), which spawns it the moment it is due and then posts the tick that tells the machine. Any
/// other event first calls the prepared run off (or, when its spawn has begun, tells the machine of it first), so
/// the machine decides exactly as it would have at a timer's tick.
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
        /// What the armed timer (or prepared run) is for.
        var armed: ContinuousClock.Instant?
        /// When the armed timer goes off: ``lead`` before ``armed`` when it is to prepare a run.
        var armedWake: ContinuousClock.Instant?
        /// The runs in progress, by number.
        var runs: [Int: RunControl] = [:]
        /// Trigger requests waiting for their run to end, by run number.
        var waiters: [Int: [DaemonRequest]] = [:]
        /// Trigger requests answered by the queued run (`overlap: queue`), which has no number until it starts.
        var queuedWaiters: [DaemonRequest] = []
        /// The scheduled run prepared ahead of its due time, if any.
        var prepared: Prepared?

        /// How long before its due time a scheduled run is prepared: its pipes are open meanwhile.
        static let lead = Duration.milliseconds(250)

        /// A scheduled run waiting on a spawn thread for its due time.
        struct Prepared {
            let number: Int
            let start: ScheduledStart
            let control: RunControl
        }

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
                settlePrepared(in: &group)
                runs[number] = nil
                let actions = machine.runFinished(number: number, at: now, success: !outcome.failed)
                if !isInProgress(number) {
                    for request in waiters.removeValue(forKey: number) ?? [] {
                        request.reply(.finished(outcome.result))
                    }
                }
                perform(actions, for: nil, in: &group)
            case .request(let request):
                settlePrepared(in: &group)
                switch request.kind {
                case .trigger:
                    perform(machine.trigger(at: now), for: request, in: &group)
                }
            }
            // A prepared run called off leaves nothing armed when the event did not ask for a sleep.
            if armed == nil { arm(machine.nextDue, in: &group) }
        }

        /// Before an event other than its tick changes the machine: the prepared run is called off if its spawn has
        /// not begun (and prepared again afterwards if the schedule still starts it), or else the machine is told
        /// of its start first, as its tick would have.
        mutating func settlePrepared(in group: inout DiscardingTaskGroup) {
            guard let prepared else { return }
            // Either way, the tick its spawn thread posts (or would have posted) is stale from here on.
            generation += 1
            armed = nil
            if prepared.start.cancel() {
                self.prepared = nil
            } else {
                // Begun: its due time has passed, so the tick starts it, adopting the prepared run.
                perform(machine.tick(at: now), for: nil, in: &group)
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
                    if attempt == 1, let prepared, prepared.number == number {
                        // The schedule's run, already spawned (or spawning) by its spawn thread.
                        runs[number] = prepared.control
                        self.prepared = nil
                    } else {
                        startRun(number: number, attempt: attempt, in: &group)
                    }
                case .stopRun(let number):
                    runs[number]?.stop()
                case .skipped:
                    context.count("orchestrate_runs_total", [("outcome", "skipped")])
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
                // A run started now always has an outcome (only a prepared one can be called off before it starts).
                guard
                    let outcome = await executor.run(
                        number: number,
                        attempt: attempt,
                        environment: [:],
                        context: context,
                        control: control,
                        scheduled: scheduled
                    )
                else { return }
                sink.yield(.finished(number: number, attempt: attempt, outcome: outcome))
            }
        }

        /// Arms a timer for `instant`, unless the armed one already goes off then. When the schedule starts a run
        /// then, the run is prepared instead (``prepare(number:due:in:)``), or, when `instant` is further away
        /// than ``lead``, the timer goes off that much earlier: its tick finds nothing due yet and arms again.
        mutating func arm(_ instant: ContinuousClock.Instant?, in group: inout DiscardingTaskGroup) {
            guard let instant else { return }
            var wake = instant
            if prepared == nil, let number = machine.scheduledRunNumber, machine.nextDue == instant {
                if clock.now.duration(to: instant) > Self.lead {
                    wake = instant - Self.lead
                } else if PreparedRuns.reserve() {
                    generation += 1
                    (armed, armedWake) = (instant, instant)
                    prepare(number: number, due: instant, in: &group)
                    return
                }
            }
            guard instant != armed || wake != armedWake else { return }
            generation += 1
            (armed, armedWake) = (instant, wake)
            let (tickGeneration, sink) = (generation, sink)
            group.addTask {
                await CancellableSleep.fire(after: ContinuousClock.now.duration(to: wake)) {
                    sink.yield(.tick(generation: tickGeneration))
                }
            }
        }

        /// Prepares scheduled run `number`, due at `due`: its task makes everything but the child now, and a spawn
        /// thread spawns it at `due`, then posts this generation's tick.
        mutating func prepare(number: Int, due: ContinuousClock.Instant, in group: inout DiscardingTaskGroup) {
            let control = RunControl()
            let (executor, context, sink, tickGeneration) = (executor, context, sink, generation)
            let start = ScheduledStart(due: due) { sink.yield(.tick(generation: tickGeneration)) }
            prepared = Prepared(number: number, start: start, control: control)
            group.addTask {
                defer { PreparedRuns.release() }
                guard
                    let outcome = await executor.run(
                        number: number,
                        attempt: 1,
                        environment: [:],
                        context: context,
                        control: control,
                        scheduled: due,
                        at: start
                    )
                else { return }
                sink.yield(.finished(number: number, attempt: 1, outcome: outcome))
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

/// How many scheduled runs may be prepared ahead at once, across daemons: each holds three or four descriptors
/// (its pipes) from its preparation to its end, so their number is bounded by this process's descriptor limit
/// (an eighth of the soft limit; 120 under the usual 1,024). A run beyond it waits for its time on a timer.
enum PreparedRuns {
    private static let available = Atomic<Int>(limit)

    private static var limit: Int {
        var limits = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limits) == 0 else { return 64 }
        let soft = Int(min(limits.rlim_cur, 1 << 20))  // RLIM_INFINITY is the largest value
        return max(16, soft / 8)
    }

    /// Takes a place; false when every place is taken.
    static func reserve() -> Bool {
        var current = available.load(ordering: .relaxed)
        while current > 0 {
            let (exchanged, original) = available.compareExchange(
                expected: current,
                desired: current - 1,
                ordering: .acquiringAndReleasing
            )
            if exchanged { return true }
            current = original
        }
        return false
    }

    /// Gives a place back, once the run it was taken for has ended or was called off.
    static func release() {
        available.add(1, ordering: .relaxed)
    }
}
