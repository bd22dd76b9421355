import FoundationEssentials

/// What a periodic daemon does when its schedule or a trigger asks for a run while the last run is still
/// in progress (its retries included).
public enum OverlapPolicy: String, Hashable, Sendable, CaseIterable {
    /// Drop the request and count it as a skipped tick.
    case skip
    /// Start the request once the current run is over. At most one run waits: further requests merge into
    /// it (and count as skipped), the way systemd keeps one pending start job per unit.
    case queue
    /// Stop the current run and start a new one in its place.
    case replace
}

/// Decides when a periodic daemon runs: schedule, jitter, run on start, overlap and retries of failed runs.
///
/// A value with no clock of its own: the runner passes the current time into every event and performs the
/// returned actions, so tests drive time by hand. Every event ends its actions with `.sleep(until:)` when
/// something is due later; the runner sleeps until then (or until a run ends or a trigger comes) and calls
/// `tick(at:)`.
public struct PeriodicStateMachine: Sendable {
    /// How a periodic daemon is scheduled.
    public struct Configuration: Hashable, Sendable {
        /// When it runs.
        public var schedule: Schedule
        /// Up to this much random delay is added to each scheduled run; it should be shorter than the interval,
        /// or a late slot may merge with the next one.
        public var jitter: Duration
        /// Whether it runs once at start, before the first scheduled time.
        public var runOnStart: Bool
        /// What a run request does while a run is in progress.
        public var overlap: OverlapPolicy
        /// Retries of a failed run.
        public var retry: RetryPolicy
        /// The time zone a cron schedule's wall-clock times are read in.
        public var timeZone: TimeZone

        /// Makes a configuration; the defaults match the manifest's.
        public init(
            schedule: Schedule,
            jitter: Duration = .zero,
            runOnStart: Bool = false,
            overlap: OverlapPolicy = .skip,
            retry: RetryPolicy = RetryPolicy(),
            timeZone: TimeZone = .current
        ) {
            self.schedule = schedule
            self.jitter = jitter
            self.runOnStart = runOnStart
            self.overlap = overlap
            self.retry = retry
            self.timeZone = timeZone
        }
    }

    /// The current time, as both a monotonic instant and a wall-clock date.
    ///
    /// Intervals, retries and sleeps use the instant, which never jumps; cron needs the date because it
    /// names wall-clock times. The runner reads both clocks together.
    public struct Now: Hashable, Sendable {
        /// The monotonic time.
        public var instant: ContinuousClock.Instant
        /// The wall-clock time at `instant`.
        public var date: Date

        /// Makes a time from readings of both clocks.
        public init(instant: ContinuousClock.Instant, date: Date) {
            self.instant = instant
            self.date = date
        }

        /// This time moved by `duration` on both clocks.
        public func advanced(by duration: Duration) -> Now {
            Now(instant: instant + duration, date: date.addingTimeInterval(duration.timeInterval))
        }
    }

    /// What the runner does after an event, in order.
    public enum Action: Hashable, Sendable {
        /// Start attempt `attempt` (1 for the first) of run `number` (`ORCHESTRATE_RUN`).
        case startRun(number: Int, attempt: Int)
        /// Stop run `number`, which is being replaced; its end is not reported back as a finished run.
        case stopRun(number: Int)
        /// A run request was dropped because run `inProgress` is not over; report it.
        case skipped(inProgress: Int)
        /// A run request waits for run `behind` to end.
        case queued(behind: Int)
        /// Nothing more is due before this instant: call `tick(at:)` then.
        case sleep(until: ContinuousClock.Instant)
    }

    /// Where the daemon is between `start(at:)` and the next event.
    public enum State: Hashable, Sendable {
        /// `start(at:)` has not been called.
        case notStarted
        /// No run in progress; waiting for the schedule or a trigger.
        case idle
        /// Attempt `attempt` of run `number` is in progress.
        case running(number: Int, attempt: Int)
        /// Run `number` failed and attempt `attempt` starts at `until`; the run counts as in progress.
        case retryBackoff(number: Int, attempt: Int, until: ContinuousClock.Instant)
    }

    /// The configuration the machine was made with.
    public let configuration: Configuration
    /// Where the daemon is.
    public private(set) var state: State = .notStarted
    /// Attempts started, retries included.
    public private(set) var runsStarted = 0
    /// Attempts that failed, retried or not.
    public private(set) var failures = 0
    /// Run requests (ticks and triggers) dropped because a run was in progress.
    public private(set) var skippedTicks = 0
    /// The number of the latest run; 0 before the first.
    public private(set) var lastRunNumber = 0
    /// Whether a run waits for the current one to end (`overlap: queue`).
    public private(set) var hasQueuedRun = false
    /// When the schedule next asks for a run, jitter included; `nil` before start and for a cron expression
    /// that never matches again.
    public private(set) var nextScheduled: ContinuousClock.Instant?
    /// The latest run the schedule started as soon as its time came, with that time (jitter included): what
    /// the runner measures the run's lateness against. Runs started on start, by a trigger, after a queue or
    /// as a retry are not in it.
    public private(set) var lastScheduledRun: (number: Int, due: ContinuousClock.Instant)?

    /// Where the interval schedule is anchored: slot `k` is due at `anchor + k * interval`.
    private var anchor: ContinuousClock.Instant?
    /// The index of the interval slot `nextScheduled` belongs to.
    private var slot = 0
    /// The latest cron time scheduled, so a wall clock stepped back cannot fire the same time twice.
    private var lastCronDate: Date?
    /// The wall-clock date of `nextScheduled` for a cron schedule: the time the expression named, jitter included.
    private var nextScheduledDate: Date?
    /// The source of jitter; stored as a value so that a seeded generator makes runs reproducible.
    private var random: any RandomNumberGenerator & Sendable

    /// Makes a machine that has not started; `random` draws the jitter.
    public init(
        configuration: Configuration,
        random: some RandomNumberGenerator & Sendable = SystemRandomNumberGenerator()
    ) {
        if case .interval(let interval) = configuration.schedule {
            // The manifest rejects non-positive intervals; a zero one would spin.
            precondition(interval > .zero, "a periodic interval must be positive")
        }
        self.configuration = configuration
        self.random = random
    }

    /// The next instant something is due, a retry or the schedule: `status`' next run, and when the runner
    /// calls `tick(at:)`. `nil` when nothing is due unless triggered.
    public var nextDue: ContinuousClock.Instant? {
        guard case .retryBackoff(_, _, let until) = state else { return nextScheduled }
        return nextScheduled.map { min($0, until) } ?? until
    }

    /// The number of the run the schedule starts at ``nextDue`` if no other event comes first: `tick(at:)` at
    /// that instant then returns `.startRun(number:attempt: 1)` with it. Nil when something else is due then (a
    /// retry) or a run is in progress (the overlap policy decides at the tick), so that a runner can prepare the
    /// run ahead and start it exactly on time.
    public var scheduledRunNumber: Int? {
        guard state == .idle, let nextScheduled, nextDue == nextScheduled else { return nil }
        return lastRunNumber + 1
    }

    /// The wall-clock date of ``nextDue``, for `status`' next run; `nil` when ``nextDue`` is.
    ///
    /// A cron time is the date the expression named (jitter added), exactly: the instant it was turned into
    /// gives it back only to within the time between two readings of the clocks, which can fall just before
    /// the whole second and so show the second before. An interval slot or a retry is an instant, read against
    /// `now`'s clocks and rounded to the millisecond for the same reason.
    public func nextDueDate(at now: Now) -> Date? {
        guard let due = nextDue else { return nil }
        if due == nextScheduled, let nextScheduledDate { return nextScheduledDate }
        let date = now.advanced(by: due - now.instant).date
        return Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1_000).rounded() / 1_000)
    }

    /// Starts the schedule at `now`: a run right away when `runOnStart`, and the first scheduled time.
    public mutating func start(at now: Now) -> [Action] {
        guard state == .notStarted else { return wake() }
        state = .idle
        anchor = now.instant
        scheduleNext(after: now)
        var actions: [Action] = []
        if configuration.runOnStart {
            // Slot 0 of an interval schedule is the start itself.
            lastRunNumber += 1
            actions.append(begin(number: lastRunNumber, attempt: 1))
        }
        return actions + wake()
    }

    /// Handles the time reaching `nextDue` (an early or repeated call does nothing but sleep again).
    ///
    /// A due retry starts first; a due scheduled time then asks for a run under the overlap policy. However
    /// late the tick, it asks for one run only, and the schedule continues at its next future slot.
    public mutating func tick(at now: Now) -> [Action] {
        guard state != .notStarted else { return [] }
        var actions: [Action] = []
        if case .retryBackoff(let number, let attempt, let until) = state, until <= now.instant {
            actions.append(begin(number: number, attempt: attempt))
        }
        if let due = nextScheduled, due <= now.instant {
            scheduleNext(after: now)
            let requested = requestRun()
            for case .startRun(let number, _) in requested { lastScheduledRun = (number, due) }
            actions += requested
        }
        return actions + wake()
    }

    /// Handles the end of the current attempt of run `number`: a retry after the backoff when it failed and
    /// attempts remain, otherwise the run is over and a queued run starts.
    ///
    /// The end of a run that is no longer current (one that was replaced) changes nothing and returns no
    /// actions.
    public mutating func runFinished(number: Int, at now: Now, success: Bool) -> [Action] {
        guard case .running(let current, let attempt) = state, current == number else { return [] }
        if !success {
            failures += 1
            // `attempts` counts retries, so attempt numbers run from 1 to `attempts + 1`.
            if attempt <= configuration.retry.attempts {
                state = .retryBackoff(
                    number: number,
                    attempt: attempt + 1,
                    until: now.instant + configuration.retry.backoff
                )
                return wake()
            }
        }
        state = .idle
        var actions: [Action] = []
        if hasQueuedRun {
            hasQueuedRun = false
            lastRunNumber += 1
            actions.append(begin(number: lastRunNumber, attempt: 1))
        }
        return actions + wake()
    }

    /// Handles a manual trigger: a run now under the overlap policy, leaving the schedule where it is.
    public mutating func trigger(at now: Now) -> [Action] {
        guard state != .notStarted else { return [] }
        return requestRun() + wake()
    }

    /// A run request from the schedule or a trigger, decided by the overlap policy.
    private mutating func requestRun() -> [Action] {
        let inProgress: Int
        switch state {
        case .notStarted, .idle:
            lastRunNumber += 1
            return [begin(number: lastRunNumber, attempt: 1)]
        case .running(let number, _), .retryBackoff(let number, _, _):
            inProgress = number
        }
        switch configuration.overlap {
        case .skip:
            skippedTicks += 1
            return [.skipped(inProgress: inProgress)]
        case .queue:
            if hasQueuedRun {
                skippedTicks += 1
                return [.skipped(inProgress: inProgress)]
            }
            hasQueuedRun = true
            return [.queued(behind: inProgress)]
        case .replace:
            var actions: [Action] = []
            // A run waiting for a retry has no process to stop; its retry is simply dropped.
            if case .running = state { actions.append(.stopRun(number: inProgress)) }
            lastRunNumber += 1
            actions.append(begin(number: lastRunNumber, attempt: 1))
            return actions
        }
    }

    private mutating func begin(number: Int, attempt: Int) -> Action {
        state = .running(number: number, attempt: attempt)
        runsStarted += 1
        return .startRun(number: number, attempt: attempt)
    }

    private func wake() -> [Action] {
        nextDue.map { [.sleep(until: $0)] } ?? []
    }

    /// Moves `nextScheduled` to the first scheduled time after `now`, skipping the times already passed.
    private mutating func scheduleNext(after now: Now) {
        switch configuration.schedule {
        case .interval(let interval):
            guard let anchor else { return }
            // The first slot whose unjittered time is strictly after now, computed from the anchor so that
            // late ticks never shift later slots; exact integer arithmetic keeps every slot on its grid.
            let elapsed = now.instant - anchor
            let passed = elapsed > .zero ? Int(elapsed.attoseconds / interval.attoseconds) : 0
            slot = max(slot + 1, passed + 1)
            nextScheduled = anchor + interval * slot + drawJitter()
        case .cron(let cron):
            let after = max(now.date, lastCronDate ?? now.date)
            guard let date = cron.next(after: after, in: configuration.timeZone) else {
                nextScheduled = nil
                nextScheduledDate = nil
                return
            }
            lastCronDate = date
            let jitter = drawJitter()
            nextScheduled = now.instant + .seconds(date.timeIntervalSince(now.date)) + jitter
            nextScheduledDate = date.addingTimeInterval(jitter.timeInterval)
        }
    }

    /// A delay in `0...jitter`, at nanosecond resolution (plenty for a delay, and within 64 random bits).
    private mutating func drawJitter() -> Duration {
        let bound = configuration.jitter.attoseconds / 1_000_000_000
        guard bound > 0 else { return .zero }
        // `bound` is below 2^63 (a Duration's seconds are an Int64), so `bound + 1` cannot overflow.
        return .nanoseconds(random.next(upperBound: UInt64(bound) + 1))
    }
}

extension Duration {
    /// The duration in seconds, as `Date` arithmetic takes it.
    fileprivate var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) * 1e-18
    }
}
