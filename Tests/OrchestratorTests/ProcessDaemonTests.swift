import DaemonKit
import Foundation
import Manifest
import OrchestrateTesting
import Orchestrator
import Testing

/// The process kind with real programs: python3 servers that bind late, shell commands, real probes on loopback.
@Suite("Process daemon", .serialized)
struct ProcessDaemonTests {
    private func harness(_ yaml: String) throws -> KindHarness {
        let harness = try KindHarness("proc", yaml)
        try harness.directory.write("server.py", TestPrograms.lateServer)
        return harness
    }

    private func daemon(_ harness: KindHarness) throws -> ProcessDaemon {
        guard let process = harness.spec.settings(as: ProcessSpec.self) else { throw POSIXError(.EINVAL) }
        return ProcessDaemon(spec: harness.spec, process: process)
    }

    /// The failure a life ended with, or nil when it returned.
    private func failure(of task: Task<Void, any Error>) async -> String? {
        do {
            try await task.value
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func withoutAProbeItRunsOnceSpawnedAndAStopEndsIt() async throws {
        let harness = try harness("kind: process\ncommand: [sleep, '300']")
        let task = harness.start(try daemon(harness))
        #expect(await waitUntil { harness.record.state == .running && harness.record.pids.count == 1 })
        let pid = try #require(harness.record.pids.first)
        #expect(processExists(pid))
        #expect(harness.record.runs == 1)
        task.cancel()
        #expect(await failure(of: task) == nil, "a stop is not a failure")
        #expect(!processExists(pid))
        let record = harness.record
        #expect(record.pids.isEmpty)
        #expect(record.lastRun?.signal == 15)
        #expect(record.failures == 0)
        #expect(harness.logText.contains("[orchestrate] started (pid \(pid))"))
    }

    @Test func aTCPProbeKeepsItStartingUntilThePortAccepts() async throws {
        let port = try #require(freeLoopbackPort())
        let harness = try harness(
            "kind: process\ncommand: [python3, server.py, tcp, '\(port)', '0.6']\nready: {tcp: '127.0.0.1:\(port)', period: 50ms}"
        )
        let task = harness.start(try daemon(harness))
        #expect(await waitUntil { !harness.record.pids.isEmpty })
        #expect(harness.record.state == .starting)
        #expect(harness.record.health["ready"] == "waiting")
        #expect(await waitUntil { harness.record.state == .running })
        #expect(harness.record.health["ready"]?.hasPrefix("127.0.0.1:\(port) accepted a connection after ") == true)
        // The child's output reaches the log through the output thread, maybe after the probe got in.
        #expect(await waitUntil { harness.logText.contains("listening") })
        // The note is written just after the state is reported, so it too is waited for.
        #expect(
            await waitUntil { harness.logText.contains("[orchestrate] ready: 127.0.0.1:\(port) accepted a connection") }
        )
        task.cancel()
        #expect(await failure(of: task) == nil)
    }

    @Test func anHTTPProbeNeedsA2xxAnswer() async throws {
        let port = try #require(freeLoopbackPort())
        let ready = try harness(
            "kind: process\ncommand: [python3, server.py, http, '\(port)', '0.3']\nready: {http: 'http://127.0.0.1:\(port)/', period: 50ms}"
        )
        let task = ready.start(try daemon(ready))
        #expect(await waitUntil { ready.record.state == .running })
        task.cancel()
        #expect(await failure(of: task) == nil)

        // 3 s: time for Python to start and answer on a loaded machine, so the last probe has its answer.
        let missing = try harness(
            "kind: process\ncommand: [python3, server.py, http, '\(port)', '0']\nready: {http: 'http://127.0.0.1:\(port)/nope', period: 50ms, timeout: 3s}"
        )
        let failing = missing.start(try daemon(missing))
        let reason = await failure(of: failing)
        #expect(reason == "not ready within 3s: http://127.0.0.1:\(port)/nope answered 404")
        #expect(missing.record.pids.isEmpty)
        #expect(missing.record.failures == 1)
        #expect(missing.logText.contains("[orchestrate] not ready within 3s: "))
    }

    @Test func anExecProbeRunsInTheDaemonsFolder() async throws {
        let harness = try harness(
            """
            kind: process
            command: 'sleep 0.3; touch ready.flag; exec sleep 300'
            ready: {exec: [test, -f, ready.flag], period: 50ms}
            """
        )
        let task = harness.start(try daemon(harness))
        #expect(await waitUntil { !harness.record.pids.isEmpty })
        #expect(harness.record.state == .starting)
        #expect(await waitUntil { harness.record.state == .running })
        #expect(FileManager.default.fileExists(atPath: harness.directory.url("ready.flag")))
        task.cancel()
        #expect(await failure(of: task) == nil)
    }

    @Test func aLogLineProbeWatchesTheOutput() async throws {
        let harness = try harness(
            """
            kind: process
            command: 'echo booting; sleep 0.3; echo "ready to serve"; exec sleep 300'
            ready: {log_line: '^ready to \\w+$'}
            """
        )
        let task = harness.start(try daemon(harness))
        #expect(await waitUntil { harness.record.state == .running })
        #expect(harness.record.health["ready"]?.hasPrefix("log line 'ready to serve' after ") == true)
        #expect(harness.logText.contains("booting"))
        task.cancel()
        #expect(await failure(of: task) == nil)
    }

    @Test func notReadyWithinItsTimeoutStopsTheCommandAndFails() async throws {
        let refusing = try LoopbackListener(listening: false)  // bound, not listening: refuses, and stays ours
        defer { refusing.stop() }
        let port = refusing.port
        let harness = try harness(
            "kind: process\ncommand: [sleep, '300']\nready: {tcp: '127.0.0.1:\(port)', period: 50ms, timeout: 300ms}"
        )
        let task = harness.start(try daemon(harness))
        #expect(await waitUntil { harness.record.pids.count == 1 })
        let pid = try #require(harness.record.pids.first)
        let reason = try #require(await failure(of: task))
        #expect(reason.hasPrefix("not ready within 300ms: "))
        #expect(reason.contains("refused"))
        #expect(!processExists(pid))
        #expect(harness.record.failures == 1)
    }

    @Test func aCleanExitReturnsAndAFailedOneThrows() async throws {
        let clean = try harness("kind: process\ncommand: 'echo done'")
        #expect(await failure(of: clean.start(try daemon(clean))) == nil)
        #expect(clean.record.lastRun?.exitCode == 0)
        #expect(clean.record.failures == 0)

        let crash = try harness("kind: process\ncommand: 'echo boom; exit 3'")
        #expect(await failure(of: crash.start(try daemon(crash))) == "it exited with status 3")
        #expect(crash.record.lastRun?.exitCode == 3)
        #expect(crash.record.failures == 1)
        #expect(crash.logText.contains("boom"))

        let missing = try harness("kind: process\ncommand: [no-such-program-here]")
        let reason = try #require(await failure(of: missing.start(try daemon(missing))))
        #expect(reason.contains("no-such-program-here"))
    }

    @Test func failedLivenessChecksInARowEndTheLife() async throws {
        let harness = try harness(
            """
            kind: process
            command: 'touch alive; echo up; exec sleep 300'
            ready: {log_line: up}
            liveness: {exec: [test, -f, alive], period: 100ms, timeout: 1s, failures: 2}
            """
        )
        let task = harness.start(try daemon(harness))
        #expect(await waitUntil { harness.record.health["liveness"] == "ok" })
        let pid = try #require(harness.record.pids.first)
        try FileManager.default.removeItem(atPath: harness.directory.url("alive"))
        let reason = await failure(of: task)
        #expect(reason == "liveness failed 2 times in a row: 'test -f alive' exited with status 1")
        #expect(!processExists(pid))
        #expect(harness.logText.contains("[orchestrate] liveness check failed (1 of 2)"))
    }

    @Test func triggersAreRefused() async throws {
        let harness = try harness("kind: process\ncommand: [sleep, '300']")
        let task = harness.start(try daemon(harness))
        #expect(await waitUntil { harness.record.state == .running })
        let outcome = await harness.trigger()
        #expect(outcome == .refused("'proc' is a process daemon: use `orchestrate restart` instead"))
        task.cancel()
        #expect(await failure(of: task) == nil)
    }
}
