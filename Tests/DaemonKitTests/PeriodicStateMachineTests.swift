import DaemonKit
import Foundation
import Testing

/// A seeded generator (SplitMix64), so that jitter and lateness are random yet reproducible.
private struct SeededGenerator: RandomNumberGenerator, Sendable {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}

@Suite struct PeriodicStateMachineTests {
    typealias Machine = PeriodicStateMachine
    typealias Now = PeriodicStateMachine.Now

    /// One reading of the real clocks; every other time in a test is an offset from it.
    let base = Now(instant: ContinuousClock.now, date: Date(timeIntervalSince1970: 1_700_000_000))

    func at(_ seconds: Double) -> Now { base.advanced(by: .seconds(seconds)) }

    func machine(
        every interval: Duration = .seconds(10),
        jitter: Duration = .zero,
        runOnStart: Bool = false,
        overlap: OverlapPolicy = .skip,
        retry: RetryPolicy = RetryPolicy(),
        seed: UInt64 = 1
    ) -> Machine {
        Machine(
            configuration: .init(
                schedule: .interval(interval),
                jitter: jitter,
                runOnStart: runOnStart,
                overlap: overlap,
                retry: retry
            ),
            random: SeededGenerator(state: seed)
        )
    }

    @Test func theScheduledRunNumberIsTheOneTheNextTickStartsAndOnlyWhenIdle() throws {
        var machine = machine(every: .seconds(10), retry: RetryPolicy(attempts: 1, backoff: .seconds(1)))
        #expect(machine.scheduledRunNumber == nil, "not started")
        _ = machine.start(at: base)
        #expect(machine.scheduledRunNumber == 1)
        // However late the tick, the predicted run is the one it starts.
        #expect(machine.tick(at: at(10.5)).first == .startRun(number: 1, attempt: 1))
        #expect(machine.scheduledRunNumber == nil, "a run in progress: the overlap policy decides at the tick")
        _ = machine.runFinished(number: 1, at: at(11), success: false)
        #expect(machine.scheduledRunNumber == nil, "a retry is due first")
        _ = machine.tick(at: at(12))
        _ = machine.runFinished(number: 1, at: at(12.5), success: true)
        #expect(machine.scheduledRunNumber == 2)
        // A trigger takes the number; the schedule's run is then the next one.
        #expect(machine.trigger(at: at(13)).first == .startRun(number: 2, attempt: 1))
        _ = machine.runFinished(number: 2, at: at(14), success: true)
        #expect(machine.scheduledRunNumber == 3)
        #expect(machine.tick(at: at(20)).first == .startRun(number: 3, attempt: 1))
    }

    @Test func intervalSlotsStayAnchoredThroughAThousandLateTicks() throws {
        var machine = machine()
        var lateness = SeededGenerator(state: 42)
        #expect(machine.start(at: base) == [.sleep(until: base.instant + .seconds(10))])
        for k in 1...1_000 {
            let due = try #require(machine.nextDue)
            #expect(due == base.instant + .seconds(10) * k)
            // Up to 5 s late, then a run of 1 s: always done before the next slot.
            let late = Duration.milliseconds(lateness.next(upperBound: UInt64(5_000)))
            let tickTime = base.advanced(by: due - base.instant + late)
            #expect(
                machine.tick(at: tickTime) == [.startRun(number: k, attempt: 1), .sleep(until: due + .seconds(10))]
            )
            #expect(
                machine.runFinished(number: k, at: tickTime.advanced(by: .seconds(1)), success: true)
                    == [.sleep(until: due + .seconds(10))]
            )
        }
        #expect(machine.runsStarted == 1_000)
        #expect(machine.skippedTicks == 0)
    }

    @Test func jitterStaysWithinBoundsAndIsReproducible() throws {
        var first = machine(every: .seconds(60), jitter: .seconds(10), seed: 7)
        var second = machine(every: .seconds(60), jitter: .seconds(10), seed: 7)
        _ = first.start(at: base)
        _ = second.start(at: base)
        var offsets: Set<Duration> = []
        for k in 1...500 {
            let due = try #require(first.nextDue)
            #expect(second.nextDue == due)
            let offset = due - (base.instant + .seconds(60) * k)
            #expect(offset >= .zero && offset <= .seconds(10))
            offsets.insert(offset)
            let now = base.advanced(by: due - base.instant)
            _ = first.tick(at: now)
            _ = second.tick(at: now)
            _ = first.runFinished(number: k, at: now, success: true)
            _ = second.runFinished(number: k, at: now, success: true)
        }
        // The draws really vary: a constant offset would pass the bounds check too.
        #expect(offsets.count > 400)
    }

    @Test func runOnStartRunsAtOnceAndKeepsTheFirstSlot() {
        var eager = machine(runOnStart: true)
        #expect(
            eager.start(at: base) == [.startRun(number: 1, attempt: 1), .sleep(until: base.instant + .seconds(10))]
        )
        #expect(eager.state == .running(number: 1, attempt: 1))
        #expect(eager.runsStarted == 1)

        var lazy = machine(runOnStart: false)
        #expect(lazy.start(at: base) == [.sleep(until: base.instant + .seconds(10))])
        #expect(lazy.state == .idle)
        #expect(lazy.runsStarted == 0)
        #expect(lazy.lastRunNumber == 0)
    }

    @Test func earlyTickOnlySleepsAgain() {
        var machine = machine()
        _ = machine.start(at: base)
        #expect(machine.tick(at: at(9.5)) == [.sleep(until: base.instant + .seconds(10))])
        #expect(machine.runsStarted == 0)
        #expect(
            machine.tick(at: at(10)) == [.startRun(number: 1, attempt: 1), .sleep(until: base.instant + .seconds(20))]
        )
    }

    @Test func aScheduledRunIsRememberedWithItsDueTimeOthersAreNot() {
        var machine = machine(runOnStart: true, overlap: .queue)
        _ = machine.start(at: base)
        // The run on start is not the schedule's.
        #expect(machine.lastScheduledRun == nil)
        _ = machine.runFinished(number: 1, at: at(1), success: true)
        // A late tick: run 2 belongs to the slot due at 10 s.
        #expect(machine.tick(at: at(10.25)).first == .startRun(number: 2, attempt: 1))
        #expect(machine.lastScheduledRun?.number == 2)
        #expect(machine.lastScheduledRun?.due == base.instant + .seconds(10))
        // A trigger and a queued run leave it alone.
        #expect(machine.trigger(at: at(11)).first == .queued(behind: 2))
        #expect(machine.runFinished(number: 2, at: at(12), success: true).first == .startRun(number: 3, attempt: 1))
        #expect(machine.lastScheduledRun?.number == 2)
    }

    @Test func skipDropsTicksWhileALongRunRuns() {
        var machine = machine(overlap: .skip)
        _ = machine.start(at: base)
        #expect(machine.tick(at: at(10)).first == .startRun(number: 1, attempt: 1))
        for second in [20.0, 30, 40] {
            #expect(
                machine.tick(at: at(second))
                    == [.skipped(inProgress: 1), .sleep(until: base.instant + .seconds(second + 10))]
            )
        }
        #expect(machine.skippedTicks == 3)
        #expect(
            machine.runFinished(number: 1, at: at(45), success: true) == [.sleep(until: base.instant + .seconds(50))]
        )
        #expect(machine.state == .idle)
        #expect(machine.tick(at: at(50)).first == .startRun(number: 2, attempt: 1))
    }

    @Test func queueKeepsOnePendingRunAndStartsItWhenTheRunEnds() {
        var machine = machine(overlap: .queue)
        _ = machine.start(at: base)
        _ = machine.tick(at: at(10))
        #expect(machine.tick(at: at(20)) == [.queued(behind: 1), .sleep(until: base.instant + .seconds(30))])
        #expect(machine.hasQueuedRun)
        // Further ticks merge into the pending run instead of piling up.
        #expect(machine.tick(at: at(30)).first == .skipped(inProgress: 1))
        #expect(machine.tick(at: at(40)).first == .skipped(inProgress: 1))
        #expect(machine.skippedTicks == 2)
        #expect(
            machine.runFinished(number: 1, at: at(45), success: true)
                == [.startRun(number: 2, attempt: 1), .sleep(until: base.instant + .seconds(50))]
        )
        #expect(!machine.hasQueuedRun)
        #expect(
            machine.runFinished(number: 2, at: at(46), success: true) == [.sleep(until: base.instant + .seconds(50))]
        )
        #expect(machine.runsStarted == 2)
    }

    @Test func replaceStopsTheRunningRunAndIgnoresItsEnd() {
        var machine = machine(overlap: .replace)
        _ = machine.start(at: base)
        _ = machine.tick(at: at(10))
        #expect(
            machine.tick(at: at(20))
                == [.stopRun(number: 1), .startRun(number: 2, attempt: 1), .sleep(until: base.instant + .seconds(30))]
        )
        // The replaced run's end arrives late and must not end run 2 or count as a failure.
        #expect(machine.runFinished(number: 1, at: at(21), success: false) == [])
        #expect(machine.state == .running(number: 2, attempt: 1))
        #expect(machine.failures == 0)
        #expect(
            machine.runFinished(number: 2, at: at(22), success: true) == [.sleep(until: base.instant + .seconds(30))]
        )
        #expect(machine.state == .idle)
    }

    @Test func failedRunIsRetriedWithBackoffThenTheScheduleGoesOn() {
        var machine = machine(
            every: .seconds(60),
            runOnStart: true,
            retry: RetryPolicy(attempts: 2, backoff: .seconds(5))
        )
        _ = machine.start(at: base)
        #expect(
            machine.runFinished(number: 1, at: at(1), success: false) == [.sleep(until: base.instant + .seconds(6))]
        )
        #expect(machine.state == .retryBackoff(number: 1, attempt: 2, until: base.instant + .seconds(6)))
        #expect(machine.nextDue == base.instant + .seconds(6))
        #expect(
            machine.tick(at: at(6)) == [.startRun(number: 1, attempt: 2), .sleep(until: base.instant + .seconds(60))]
        )
        #expect(
            machine.runFinished(number: 1, at: at(7), success: false) == [.sleep(until: base.instant + .seconds(12))]
        )
        #expect(machine.tick(at: at(12)).first == .startRun(number: 1, attempt: 3))
        // The last allowed attempt fails too: no more retries, the next slot is unchanged.
        #expect(
            machine.runFinished(number: 1, at: at(13), success: false) == [.sleep(until: base.instant + .seconds(60))]
        )
        #expect(machine.state == .idle)
        #expect(machine.failures == 3)
        #expect(machine.runsStarted == 3)

        #expect(machine.tick(at: at(60)).first == .startRun(number: 2, attempt: 1))
        _ = machine.runFinished(number: 2, at: at(61), success: false)
        #expect(machine.tick(at: at(66)).first == .startRun(number: 2, attempt: 2))
        #expect(
            machine.runFinished(number: 2, at: at(67), success: true) == [.sleep(until: base.instant + .seconds(120))]
        )
        #expect(machine.failures == 4)
    }

    @Test func scheduledTickDuringARetryBackoffFollowsTheOverlapPolicy() {
        var machine = machine(
            every: .seconds(10),
            runOnStart: true,
            overlap: .replace,
            retry: RetryPolicy(attempts: 1, backoff: .seconds(30))
        )
        _ = machine.start(at: base)
        _ = machine.runFinished(number: 1, at: at(1), success: false)
        // Nothing runs while waiting for the retry, so replacing drops the retry without a stop.
        #expect(
            machine.tick(at: at(10)) == [.startRun(number: 2, attempt: 1), .sleep(until: base.instant + .seconds(20))]
        )
        #expect(
            machine.runFinished(number: 2, at: at(11), success: true) == [.sleep(until: base.instant + .seconds(20))]
        )
    }

    @Test func queuedRunWaitsForTheRetriesOfTheRunInProgress() {
        var machine = machine(
            every: .seconds(10),
            runOnStart: true,
            overlap: .queue,
            retry: RetryPolicy(attempts: 1, backoff: .seconds(15))
        )
        _ = machine.start(at: base)
        _ = machine.runFinished(number: 1, at: at(1), success: false)
        #expect(machine.tick(at: at(10)) == [.queued(behind: 1), .sleep(until: base.instant + .seconds(16))])
        #expect(
            machine.tick(at: at(16)) == [.startRun(number: 1, attempt: 2), .sleep(until: base.instant + .seconds(20))]
        )
        #expect(
            machine.runFinished(number: 1, at: at(17), success: true)
                == [.startRun(number: 2, attempt: 1), .sleep(until: base.instant + .seconds(20))]
        )
    }

    @Test func triggerWhileIdleRunsNowWithoutShiftingTheSchedule() {
        var machine = machine(every: .seconds(60))
        _ = machine.start(at: base)
        #expect(
            machine.trigger(at: at(25)) == [
                .startRun(number: 1, attempt: 1), .sleep(until: base.instant + .seconds(60)),
            ]
        )
        _ = machine.runFinished(number: 1, at: at(26), success: true)
        #expect(machine.nextDue == base.instant + .seconds(60))
        #expect(
            machine.tick(at: at(60)) == [.startRun(number: 2, attempt: 1), .sleep(until: base.instant + .seconds(120))]
        )
    }

    @Test(arguments: OverlapPolicy.allCases)
    func triggerWhileRunningFollowsTheOverlapPolicy(overlap: OverlapPolicy) {
        var machine = machine(every: .seconds(60), runOnStart: true, overlap: overlap)
        _ = machine.start(at: base)
        let actions = machine.trigger(at: at(5))
        let sleep = PeriodicStateMachine.Action.sleep(until: base.instant + .seconds(60))
        switch overlap {
        case .skip:
            #expect(actions == [.skipped(inProgress: 1), sleep])
            #expect(machine.skippedTicks == 1)
        case .queue:
            #expect(actions == [.queued(behind: 1), sleep])
            #expect(machine.runFinished(number: 1, at: at(6), success: true).first == .startRun(number: 2, attempt: 1))
        case .replace:
            #expect(actions == [.stopRun(number: 1), .startRun(number: 2, attempt: 1), sleep])
        }
        #expect(machine.nextDue == base.instant + .seconds(60))
    }

    @Test func suspensionPastSeveralSlotsRunsOnceAndContinuesAtTheNextSlot() {
        var machine = machine()
        _ = machine.start(at: base)
        // Slots at 10, 20, 30 and 40 s all passed while the machine was suspended.
        #expect(
            machine.tick(at: at(47)) == [.startRun(number: 1, attempt: 1), .sleep(until: base.instant + .seconds(50))]
        )
        #expect(
            machine.runFinished(number: 1, at: at(48), success: true) == [.sleep(until: base.instant + .seconds(50))]
        )
        #expect(machine.tick(at: at(48)) == [.sleep(until: base.instant + .seconds(50))])
        #expect(machine.tick(at: at(50)).first == .startRun(number: 2, attempt: 1))
        #expect(machine.runsStarted == 2)
        #expect(machine.skippedTicks == 0)
    }

    @Test func cronNextDueCrossesTheHourBoundary() throws {
        let utc = try #require(TimeZone(identifier: "UTC"))
        // 2024-05-01 10:45:30 UTC.
        let start = Now(instant: base.instant, date: Date(timeIntervalSince1970: 1_714_560_330))
        var machine = Machine(
            configuration: .init(schedule: .cron(try CronSchedule(parsing: "0 * * * *")), timeZone: utc)
        )
        let first = start.instant + .seconds(14 * 60 + 30)
        #expect(machine.start(at: start) == [.sleep(until: first)])
        #expect(machine.nextDue == first)
        let eleven = start.advanced(by: .seconds(14 * 60 + 30))
        #expect(machine.tick(at: eleven) == [.startRun(number: 1, attempt: 1), .sleep(until: first + .seconds(3_600))])
        _ = machine.runFinished(number: 1, at: eleven.advanced(by: .seconds(2)), success: true)
        #expect(machine.nextDue == first + .seconds(3_600))
    }

    @Test func cronDoesNotFireATimeTwiceWhenTheWallClockStepsBack() throws {
        let utc = try #require(TimeZone(identifier: "UTC"))
        // 2024-05-01 10:45:30 UTC.
        let start = Now(instant: base.instant, date: Date(timeIntervalSince1970: 1_714_560_330))
        var machine = Machine(
            configuration: .init(schedule: .cron(try CronSchedule(parsing: "0 * * * *")), timeZone: utc)
        )
        _ = machine.start(at: start)
        let due = try #require(machine.nextDue)
        // The 11:00 run is due on the monotonic clock, but the wall clock was stepped back to 10:50.
        let stepped = Now(instant: due, date: start.date.addingTimeInterval(270))
        #expect(machine.tick(at: stepped) == [.startRun(number: 1, attempt: 1), .sleep(until: due + .seconds(4_200))])
    }

    @Test func cronIsReadInTheConfiguredTimeZone() throws {
        let plusOne = try #require(TimeZone(secondsFromGMT: 3_600))
        // 2024-05-01 10:30:00 UTC is 11:30 at +01:00, so local noon is 30 minutes away.
        let start = Now(instant: base.instant, date: Date(timeIntervalSince1970: 1_714_559_400))
        var machine = Machine(
            configuration: .init(schedule: .cron(try CronSchedule(parsing: "0 12 * * *")), timeZone: plusOne)
        )
        #expect(machine.start(at: start) == [.sleep(until: start.instant + .seconds(30 * 60))])
    }

    @Test func cronSuspendedPastSeveralTimesRunsOnce() throws {
        let utc = try #require(TimeZone(identifier: "UTC"))
        let start = Now(instant: base.instant, date: Date(timeIntervalSince1970: 1_714_560_330))
        var machine = Machine(
            configuration: .init(schedule: .cron(try CronSchedule(parsing: "*/5 * * * *")), timeZone: utc)
        )
        _ = machine.start(at: start)
        // Woken at 11:02:00, long after 10:50, 10:55 and 11:00.
        let late = start.advanced(by: .seconds(16 * 60 + 30))
        #expect(
            machine.tick(at: late) == [.startRun(number: 1, attempt: 1), .sleep(until: late.instant + .seconds(180))]
        )
    }

    /// `status` shows the date a cron run is due at, not the instant read back through the clocks: read against
    /// clocks a few microseconds apart, that came out just before the whole second (10:59:59.999997), which
    /// `status` printed as 10:59:59.
    @Test(arguments: [("@hourly", 3_600), ("*/5 * * * *", 300), ("* * * * *", 60)])
    func cronNextDueDateIsExactlyTheTimeTheExpressionNames(expression: String, period: Int) throws {
        let utc = try #require(TimeZone(identifier: "UTC"))
        var machine = Machine(
            configuration: .init(schedule: .cron(try CronSchedule(parsing: expression)), timeZone: utc)
        )
        // 2024-05-01 10:45:30.123456 UTC: real readings of the wall clock have a fraction of a second.
        let start = Now(instant: base.instant, date: Date(timeIntervalSince1970: 1_714_560_330.123_456))
        _ = machine.start(at: start)
        let boundary = { (after: Int) in Date(timeIntervalSince1970: TimeInterval((after / period + 1) * period)) }
        let first = boundary(1_714_560_330)
        #expect(machine.nextDueDate(at: start) == first)
        let read = start.advanced(by: .seconds(7))
        let skewed = Now(instant: read.instant + .microseconds(3), date: read.date)
        #expect(machine.nextDueDate(at: skewed) == first)

        // The next one, once the run is over, is on its boundary too.
        let due = try #require(machine.nextDue)
        let ran = Now(instant: due, date: first.addingTimeInterval(0.004))
        #expect(machine.tick(at: ran).first == .startRun(number: 1, attempt: 1))
        _ = machine.runFinished(number: 1, at: ran.advanced(by: .milliseconds(20)), success: true)
        let second = boundary(Int(first.timeIntervalSince1970))
        #expect(machine.nextDueDate(at: skewed.advanced(by: .seconds(Int64(period)))) == second)
    }

    @Test func cronNextDueDateIncludesTheJitter() throws {
        let utc = try #require(TimeZone(identifier: "UTC"))
        var machine = Machine(
            configuration: .init(
                schedule: .cron(try CronSchedule(parsing: "@hourly")),
                jitter: .seconds(30),
                timeZone: utc
            ),
            random: SeededGenerator(state: 7)
        )
        let start = Now(instant: base.instant, date: Date(timeIntervalSince1970: 1_714_560_330))
        _ = machine.start(at: start)
        let jitter = try #require(machine.nextDue) - (start.instant + .seconds(14 * 60 + 30))
        #expect(jitter > .zero && jitter <= .seconds(30))
        let date = try #require(machine.nextDueDate(at: start))
        let expected = Date(timeIntervalSince1970: 1_714_561_200).addingTimeInterval(jitter / .seconds(1))
        #expect(abs(date.timeIntervalSince(expected)) < 1e-6)
    }

    @Test func anIntervalOrRetryNextDueDateIsRoundedToTheMillisecond() {
        var machine = machine(every: .seconds(10), retry: RetryPolicy(attempts: 1, backoff: .seconds(3)))
        _ = machine.start(at: base)
        // Clocks read microseconds apart would put the slot at 1_700_000_009.999997.
        let skewed = Now(instant: at(2).instant + .microseconds(3), date: at(2).date)
        #expect(machine.nextDueDate(at: skewed) == Date(timeIntervalSince1970: 1_700_000_010))
        _ = machine.tick(at: at(10))
        _ = machine.runFinished(number: 1, at: at(11), success: false)
        // The retry, at 14 s, comes before the slot at 20 s.
        let later = Now(instant: at(12).instant - .microseconds(3), date: at(12).date)
        #expect(machine.nextDueDate(at: later) == Date(timeIntervalSince1970: 1_700_000_014))
    }

    @Test func cronThatNeverMatchesHasNoNextDue() throws {
        var machine = Machine(configuration: .init(schedule: .cron(try CronSchedule(parsing: "0 0 30 2 *"))))
        #expect(machine.start(at: base) == [])
        #expect(machine.nextDue == nil)
        #expect(machine.nextDueDate(at: base) == nil)
        #expect(machine.trigger(at: at(1)) == [.startRun(number: 1, attempt: 1)])
    }

    @Test func eventsBeforeStartDoNothing() {
        var machine = machine()
        #expect(machine.tick(at: at(100)) == [])
        #expect(machine.trigger(at: at(100)) == [])
        #expect(machine.nextDue == nil)
        #expect(machine.state == .notStarted)
    }
}
