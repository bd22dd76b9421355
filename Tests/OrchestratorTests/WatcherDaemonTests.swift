import DaemonKit
import Foundation
import Manifest
import OrchestrateTesting
import Orchestrator
import Testing

/// Real inotify watches: one test at a time, so that watcher tests do not compete for the debounce windows.
@Suite("Watcher daemon", .serialized)
struct WatcherDaemonTests {
    /// A command that appends, per run, its number, count and rescan flag, then the changed paths.
    static let report =
        #"'{ echo "run=$$ORCHESTRATE_RUN count=$$ORCHESTRATE_CHANGED_COUNT rescan=$$ORCHESTRATE_RESCAN"; cat "$$ORCHESTRATE_CHANGED_FILE"; } >> seen.txt'"#

    private func daemon(_ harness: KindHarness) -> WatcherDaemon {
        WatcherDaemon(spec: harness.spec, stateFolder: harness.manifest.stateFolder)
    }

    /// Writes by rename, one event per file, so that the batches these tests count cannot split.
    private func write(_ harness: KindHarness, _ relative: String) throws {
        try writeByRename(harness.directory.url(relative), UUID().uuidString)
    }

    @Test func aMatchingChangeRunsTheCommandWithItsPathAndIgnoredFilesDoNot() async throws {
        let harness = try KindHarness(
            "atlas",
            """
            kind: watcher
            paths: [src]
            patterns: ["**/*.txt"]
            ignore: ["skip/**"]
            debounce: 20ms
            command: \(Self.report)
            """
        )
        try FileManager.default.createDirectory(
            atPath: harness.directory.url("src/skip"),
            withIntermediateDirectories: true
        )
        let task = harness.start(daemon(harness))
        #expect(await waitUntil { harness.record.state == .idle })
        #expect(harness.record.health["watching"] == "1")
        #expect(harness.record.health["mode"] == "events")
        // The ignored and non-matching files go first: had they counted, they would be in this run or one before.
        try write(harness, "src/notes.md")
        try write(harness, "src/skip/x.txt")
        try write(harness, "src/a.txt")
        #expect(await waitUntil { harness.record.lastRun?.durationMilliseconds != nil })
        #expect(harness.lines("seen.txt") == ["run=1 count=1 rescan=0", harness.directory.url("src/a.txt")])
        try write(harness, "src/other.md")
        try write(harness, "src/b.txt")
        // A run is recorded once its child is spawned, which may be after the child wrote its report.
        #expect(await waitUntil { harness.record.runs == 2 && harness.record.lastRun?.durationMilliseconds != nil })
        #expect(harness.lines("seen.txt").suffix(2) == ["run=2 count=1 rescan=0", harness.directory.url("src/b.txt")])
        #expect(harness.record.runs == 2)
        let changed = harness.manifest.stateDirectory + "/run/atlas.changed"
        #expect(try String(contentsOfFile: changed, encoding: .utf8) == harness.directory.url("src/b.txt") + "\n")
        task.cancel()
        try await task.value
    }

    @Test func changesDuringARunAreQueuedIntoOneFollowUpRun() async throws {
        let harness = try KindHarness(
            "atlas",
            """
            kind: watcher
            paths: [src]
            debounce: 20ms
            on_busy: queue
            command: 'touch started-$$ORCHESTRATE_RUN; while [ ! -e release ]; do sleep 0.01; done; \(Self.report.dropFirst().dropLast())'
            """
        )
        try FileManager.default.createDirectory(atPath: harness.directory.url("src"), withIntermediateDirectories: true)
        let task = harness.start(daemon(harness))
        #expect(await waitUntil { harness.record.state == .idle })
        try write(harness, "src/a.txt")
        #expect(await waitUntil { FileManager.default.fileExists(atPath: harness.directory.url("started-1")) })
        try write(harness, "src/b.txt")
        try write(harness, "src/c.txt")
        #expect(await waitUntil { harness.record.health["pending_paths"] == "2" })
        try write(harness, "release")
        #expect(await waitUntil { harness.record.runs == 2 && harness.record.lastRun?.durationMilliseconds != nil })
        #expect(
            harness.lines("seen.txt") == [
                "run=1 count=1 rescan=0", harness.directory.url("src/a.txt"),
                "run=2 count=2 rescan=0", harness.directory.url("src/b.txt"), harness.directory.url("src/c.txt"),
            ]
        )
        #expect(harness.record.runs == 2)
        #expect(harness.record.health["pending_paths"] == "0")
        task.cancel()
        try await task.value
    }

    @Test func onBusySkipDropsChangesDuringARun() async throws {
        let harness = try KindHarness(
            "atlas",
            """
            kind: watcher
            paths: [src]
            debounce: 20ms
            on_busy: skip
            command: 'touch started-$$ORCHESTRATE_RUN; while [ ! -e release ]; do sleep 0.01; done; \(Self.report.dropFirst().dropLast())'
            """
        )
        try FileManager.default.createDirectory(
            atPath: harness.directory.url("src"),
            withIntermediateDirectories: true
        )
        let task = harness.start(daemon(harness))
        #expect(await waitUntil { harness.record.state == .idle })
        try write(harness, "src/a.txt")
        #expect(await waitUntil { FileManager.default.fileExists(atPath: harness.directory.url("started-1")) })
        try write(harness, "src/b.txt")
        #expect(await waitUntil { harness.record.health["skipped_batches"] == "1" })
        #expect(await harness.trigger() == .skipped)
        try write(harness, "release")
        #expect(await waitUntil { harness.record.lastRun?.durationMilliseconds != nil })
        #expect(harness.lines("seen.txt") == ["run=1 count=1 rescan=0", harness.directory.url("src/a.txt")])
        #expect(harness.record.runs == 1)
        task.cancel()
        try await task.value
    }

    @Test func onBusyRestartStopsTheRunAndRunsAgainWithTheMergedPaths() async throws {
        let harness = try KindHarness(
            "atlas",
            """
            kind: watcher
            paths: [src]
            debounce: 20ms
            on_busy: restart
            stop_timeout: 2s
            command: '\(Self.report.dropFirst().dropLast()); touch started-$$ORCHESTRATE_RUN; [ "$$ORCHESTRATE_RUN" = 1 ] && exec sleep 30; true'
            """
        )
        try FileManager.default.createDirectory(atPath: harness.directory.url("src"), withIntermediateDirectories: true)
        let task = harness.start(daemon(harness))
        #expect(await waitUntil { harness.record.state == .idle })
        try write(harness, "src/a.txt")
        #expect(await waitUntil { FileManager.default.fileExists(atPath: harness.directory.url("started-1")) })
        try write(harness, "src/b.txt")
        let (a, b) = (harness.directory.url("src/a.txt"), harness.directory.url("src/b.txt"))
        #expect(
            await waitUntil {
                harness.lines("seen.txt").contains(b) && harness.record.lastRun?.durationMilliseconds != nil
            }
        )
        // The run handed b.txt was handed a.txt too, from the run it interrupted. It is run 2, or a later one when
        // the write reached the watcher as two batches (a loaded machine can part them by more than the debounce);
        // each interrupted run passes its paths on.
        let lines = harness.lines("seen.txt")
        let header = try #require(lines.lastIndex { $0.hasPrefix("run=") })
        #expect(lines[header].hasSuffix("count=2 rescan=0"))
        #expect(lines[header] != "run=1 count=2 rescan=0")
        #expect(Array(lines[(header + 1)...]) == [a, b])
        // The interrupted run is not a failure.
        #expect(harness.record.failures == 0)
        task.cancel()
        try await task.value
    }

    @Test func runOnStartAndTriggersAskForARescanAndFailedRunsAreRetried() async throws {
        let harness = try KindHarness(
            "atlas",
            """
            kind: watcher
            paths: [src]
            debounce: 20ms
            run_on_start: true
            retry: {attempts: 1, backoff: 10ms}
            command: '\(Self.report.dropFirst().dropLast()); exit 4'
            """
        )
        try FileManager.default.createDirectory(atPath: harness.directory.url("src"), withIntermediateDirectories: true)
        let task = harness.start(daemon(harness))
        #expect(await waitUntil { harness.record.failures == 2 && harness.record.state == .idle })
        #expect(harness.lines("seen.txt") == ["run=1 count=0 rescan=1", "run=1 count=0 rescan=1"])
        let outcome = await harness.trigger()
        guard let result = outcome, result.outcome == .finished else {
            Issue.record("expected a finished run, got \(String(describing: outcome))")
            return
        }
        #expect(result.exitCode == 4)
        #expect(harness.lines("seen.txt").suffix(2) == ["run=2 count=0 rescan=1", "run=2 count=0 rescan=1"])
        let record = harness.record
        #expect(record.runs == 4)
        #expect(record.failures == 4)
        #expect(record.lastError?.contains("exited with status 4") == true)
        task.cancel()
        try await task.value
    }

    @Test func pollModeRunsOnChangesToo() async throws {
        let harness = try KindHarness(
            "atlas",
            """
            kind: watcher
            paths: [src]
            mode: poll
            poll_interval: 20ms
            debounce: 10ms
            command: \(Self.report)
            """
        )
        try FileManager.default.createDirectory(atPath: harness.directory.url("src"), withIntermediateDirectories: true)
        let task = harness.start(daemon(harness))
        #expect(await waitUntil { harness.record.state == .idle })
        #expect(harness.record.health["mode"] == "poll")
        try write(harness, "src/a.txt")
        #expect(await waitUntil { harness.lines("seen.txt").count >= 2 })
        #expect(harness.lines("seen.txt") == ["run=1 count=1 rescan=0", harness.directory.url("src/a.txt")])
        task.cancel()
        try await task.value
    }

    @Test func aMissingWatchPathIsAServiceFailure() async throws {
        let harness = try KindHarness(
            "atlas",
            """
            kind: watcher
            paths: [missing]
            command: 'true'
            """
        )
        await #expect(throws: DaemonKitError.self) { try await daemon(harness).run(harness.context) }
        #expect(harness.record.runs == 0)
    }

    @Test func removingTheWatchedFolderIsAServiceFailure() async throws {
        let harness = try KindHarness(
            "atlas",
            """
            kind: watcher
            paths: [src]
            debounce: 10ms
            command: 'true'
            """
        )
        try FileManager.default.createDirectory(atPath: harness.directory.url("src"), withIntermediateDirectories: true)
        let task = harness.start(daemon(harness))
        #expect(await waitUntil { harness.record.state == .idle })
        try FileManager.default.removeItem(atPath: harness.directory.url("src"))
        #expect(await waitUntil { harness.hasEnded })
        if !harness.hasEnded { task.cancel() }
        let error = await #expect(throws: DaemonKitError.self) { try await task.value }
        #expect(error?.code == .watchPathRemoved)
    }
}
