import DaemonKit
import Foundation
import Manifest
import OrchestrateTesting
import Orchestrator
import Synchronization
import Testing

@Suite("Periodic daemon")
struct PeriodicDaemonTests {
    @Test func runsOnItsIntervalWithItsEnvironment() async throws {
        let harness = try KindHarness(
            "sync",
            """
            kind: periodic
            interval: 200ms
            env: {GREETING: hello}
            command: 'echo "$$ORCHESTRATE_DAEMON $$ORCHESTRATE_RUN $$ORCHESTRATE_ATTEMPT $$GREETING $$(pwd)" >> runs.txt'
            """
        )
        let task = harness.start(PeriodicDaemon(spec: harness.spec))
        // Between two runs, with the file and the record read as one: the lines first, then a record that is idle
        // and counts as many runs (a run that starts in between writes a line the record does not count yet).
        let snapshot = Mutex<(record: DaemonRecord, lines: [String])?>(nil)
        #expect(
            await waitUntil {
                let lines = harness.lines("runs.txt")
                let record = harness.record
                guard record.runs >= 3, record.state == .idle, record.runs == lines.count else { return false }
                snapshot.withLock { $0 = (record, lines) }
                return true
            }
        )
        let (record, lines) = try #require(snapshot.withLock { $0 })
        task.cancel()
        try await task.value
        let folder = try #require(harness.directory.path.components(separatedBy: "/").last)
        for (index, line) in lines.enumerated() {
            #expect(line.hasPrefix("sync \(index + 1) 1 hello /"))
            #expect(line.hasSuffix(folder))
        }
        #expect(record.runs == lines.count)
        #expect(record.failures == 0)
        #expect(record.lastRun?.exitCode == 0)
        // A scheduled run records how late it was spawned (how late is for `make bench`), kept once it has ended.
        let late = try #require(record.lastRun?.lateMilliseconds)
        #expect(late >= 0)
        #expect(record.pids.isEmpty)
        let log = harness.logText
        #expect(log.contains("[orchestrate] run 1 started"))
        #expect(log.contains("[orchestrate] run 1 exited with status 0 after "))
    }

    @Test func runOnStartRunsAtOnceAndSchedulesTheNextRun() async throws {
        let harness = try KindHarness(
            "sync",
            """
            kind: periodic
            interval: 1h
            run_on_start: true
            command: 'echo "$$ORCHESTRATE_RUN" >> runs.txt'
            """
        )
        let task = harness.start(PeriodicDaemon(spec: harness.spec))
        #expect(await waitUntil { harness.record.lastRun?.durationMilliseconds != nil })
        #expect(harness.lines("runs.txt") == ["1"])
        let record = harness.record
        #expect(record.state == .idle)
        #expect(record.runs == 1)
        let nextRun = try #require(record.nextRun)
        #expect(abs(nextRun.timeIntervalSinceNow - 3_600) < 60)
        task.cancel()
        try await task.value
        #expect(harness.record.nextRun == nil)
    }

    @Test(arguments: ["@hourly", "*/5 * * * *", "* * * * *"])
    func aCronNextRunIsTheWholeMinuteItIsDueAt(cron: String) async throws {
        let harness = try KindHarness("sync", "kind: periodic\ncron: \"\(cron)\"\ncommand: 'true'")
        let started = Date()
        let task = harness.start(PeriodicDaemon(spec: harness.spec))
        #expect(await waitUntil { harness.record.nextRun != nil })
        let nextRun = try #require(harness.record.nextRun)
        task.cancel()
        try await task.value
        // Exactly on the boundary, as the cron schedule names it (read in the daemon's time zone, the current
        // one): not a clock conversion a few microseconds before it, which `status` would show as the second
        // before.
        let parts = Calendar.current.dateComponents([.minute, .second, .nanosecond], from: nextRun)
        #expect(parts.second == 0 && parts.nanosecond == 0, "\(nextRun.timeIntervalSince1970)")
        #expect(nextRun.timeIntervalSince1970.truncatingRemainder(dividingBy: 1) == 0)
        if cron == "@hourly" { #expect(parts.minute == 0) }
        if cron == "*/5 * * * *" { #expect((parts.minute ?? 1) % 5 == 0) }
        // After the daemon started, within the hour ("* * * * *" may be due by the time this line runs).
        #expect(nextRun > started && nextRun.timeIntervalSince(started) <= 3_600)
    }

    @Test func aFailingRunIsRetriedCountedAndTheScheduleGoesOn() async throws {
        let harness = try KindHarness(
            "sync",
            """
            kind: periodic
            interval: 300ms
            retry: {attempts: 2, backoff: 20ms}
            command: 'echo "$$ORCHESTRATE_RUN $$ORCHESTRATE_ATTEMPT" >> runs.txt; exit 3'
            """
        )
        let task = harness.start(PeriodicDaemon(spec: harness.spec))
        #expect(await waitUntil { harness.record.failures >= 4 && harness.record.state == .idle })
        task.cancel()
        try await task.value
        let lines = harness.lines("runs.txt")
        #expect(Array(lines.prefix(4)) == ["1 1", "1 2", "1 3", "2 1"])
        let record = harness.record
        // Every run failed, but the one the cancellation may have stopped, which is not a failure.
        #expect(record.failures >= 4)
        #expect(record.runs - record.failures <= 1)
        #expect(record.lastRun?.exitCode == 3)
        #expect(record.lastError?.contains("exited with status 3") == true)
        #expect(harness.logText.contains("run 1 (attempt 3) exited with status 3"))
    }

    @Test func overlapSkipNeverRunsTwoAtOnce() async throws {
        let harness = try KindHarness(
            "sync",
            """
            kind: periodic
            interval: 50ms
            overlap: skip
            command: 'mkdir busy 2>/dev/null || echo overlap >> runs.txt; echo "$$ORCHESTRATE_RUN" >> runs.txt; while [ -e hold ]; do sleep 0.01; done; sleep 0.2; rmdir busy'
            """
        )
        // The first run holds until the trigger has been answered, so a loaded machine cannot end it first.
        _ = try harness.directory.write("hold", "")
        let task = harness.start(PeriodicDaemon(spec: harness.spec))
        #expect(await waitUntil { harness.record.state == .running })
        #expect(await harness.trigger() == .skipped)
        unlink(harness.directory.url("hold"))
        #expect(await waitUntil { harness.lines("runs.txt").count >= 3 })
        task.cancel()
        try await task.value
        let lines = harness.lines("runs.txt")
        #expect(!lines.contains("overlap"))
        // Skipped ticks take no run numbers.
        #expect(lines == (0..<lines.count).map { String($0 + 1) })
    }

    @Test func aProgramThatIsNotFoundFailsOncePerScheduledTimeNotInALoop() async throws {
        // A run is prepared ahead; one that cannot even be made ready must fail at its due time, like any other.
        let harness = try KindHarness(
            "sync",
            """
            kind: periodic
            interval: 200ms
            command: [no-such-program-for-orchestrate]
            """
        )
        let task = harness.start(PeriodicDaemon(spec: harness.spec))
        #expect(await waitUntil { harness.record.failures >= 2 })
        try await Task.sleep(for: .milliseconds(600))
        task.cancel()
        try await task.value
        let record = harness.record
        // About one a 200 ms slot over some 1 s; a loop would have failed thousands of times.
        #expect(record.failures <= 10, "\(record.failures) failures")
        #expect(record.runs == record.failures)
        #expect(record.lastRun?.exitCode == 127)
    }

    @Test func triggersRacingPreparedRunsNeverOverlapThemOrSkipANumber() async throws {
        // Runs are prepared 250 ms ahead of their due times; triggers land before, at and after those times.
        let harness = try KindHarness(
            "sync",
            """
            kind: periodic
            interval: 120ms
            overlap: skip
            command: 'mkdir busy 2>/dev/null || echo overlap >> runs.txt; echo "$$ORCHESTRATE_RUN" >> runs.txt; sleep 0.02; rmdir busy'
            """
        )
        let task = harness.start(PeriodicDaemon(spec: harness.spec))
        #expect(await waitUntil { harness.record.state == .idle })
        var answers: [TriggerOutcome] = []
        for index in 0..<40 {
            try await Task.sleep(for: .milliseconds(17 + index % 5 * 9))
            if let outcome = await harness.trigger() { answers.append(outcome) }
        }
        #expect(answers.count == 40)
        try await Task.sleep(for: .milliseconds(400))
        task.cancel()
        try await task.value
        let lines = harness.lines("runs.txt")
        #expect(!lines.contains("overlap"))
        #expect(lines == (0..<lines.count).map { String($0 + 1) })
        let record = harness.record
        // The last run may have been stopped as it started, before its shell wrote its number.
        #expect(record.runs - lines.count <= 1)
        // Triggers answered as finished runs came on top of the schedule's (every 120 ms over about 2 s).
        let finished = answers.filter { $0.outcome == .finished }.count
        #expect(lines.count > finished, "the schedule's runs went on between the triggers: \(lines.count) runs")
    }

    @Test func aTriggerWhileIdleRunsNowAndRepliesWithTheResult() async throws {
        let harness = try KindHarness(
            "sync",
            """
            kind: periodic
            interval: 1h
            command: 'echo "$$ORCHESTRATE_RUN" >> runs.txt; exit 7'
            """
        )
        let task = harness.start(PeriodicDaemon(spec: harness.spec))
        #expect(await waitUntil { harness.record.state == .idle })
        let outcome = await harness.trigger()
        guard let result = outcome, result.outcome == .finished else {
            Issue.record("expected a finished run, got \(String(describing: outcome))")
            return
        }
        #expect(result.exitCode == 7)
        #expect(harness.lines("runs.txt") == ["1"])
        #expect(harness.record.failures == 1)
        // A triggered run was not due at any time: it has no lateness.
        #expect(harness.record.lastRun?.lateMilliseconds == nil)
        task.cancel()
        try await task.value
    }

    @Test func aRunLongerThanItsTimeoutIsStopped() async throws {
        let harness = try KindHarness(
            "sync",
            """
            kind: periodic
            interval: 1h
            run_on_start: true
            timeout: 200ms
            stop_timeout: 2s
            command: 'sleep 30'
            """
        )
        let task = harness.start(PeriodicDaemon(spec: harness.spec))
        #expect(await waitUntil { harness.record.lastRun?.timedOut == true })
        let record = harness.record
        #expect(record.failures == 1)
        #expect(record.state == .idle)
        #expect(record.pids.isEmpty)
        #expect((record.lastRun?.durationMilliseconds ?? .max) < 5_000)
        #expect(record.lastError?.contains("timed out") == true)
        task.cancel()
        try await task.value
    }

    @Test func cancellingTheServiceStopsTheRunningCommand() async throws {
        let harness = try KindHarness(
            "sync",
            """
            kind: periodic
            interval: 1h
            run_on_start: true
            stop_timeout: 2s
            command: 'sleep 30'
            """
        )
        let task = harness.start(PeriodicDaemon(spec: harness.spec))
        #expect(await waitUntil { !harness.record.pids.isEmpty })
        let pid = try #require(harness.record.pids.first)
        #expect(harness.record.state == .running)
        #expect(processExists(pid))
        task.cancel()
        try await task.value
        #expect(!processExists(pid))
        #expect(harness.record.pids.isEmpty)
        // Stopped on purpose: not a failed run.
        #expect(harness.record.failures == 0)
    }
}
