import DaemonKit
import Foundation
import Logging
import Manifest
import OrchestrateTesting
import Synchronization
import Testing

@testable import Orchestrator

@Suite("Hooks")
struct HooksTests {
    /// A daemon's jobs wait in a queue of ``Hooks/queueLimit``; those on top are dropped, counted and noted, and
    /// supervision never waits for them.
    @Test func jobsOverTheQueuesLimitAreDroppedCountedAndNoted() throws {
        let directory = try TemporaryDirectory(prefix: "hooks")
        defer { directory.remove() }
        let file = try directory.write(
            "daemons.yaml",
            "daemons:\n  job:\n    kind: periodic\n    interval: 1h\n    command: [\"false\"]\n"
                + "    notify: {on: [run_failed], command: [\"true\"]}\n"
        )
        let manifest = try ManifestLoader(file: file, kinds: .builtIn, environment: [:]).load().manifest
        let registry = DaemonRegistry()
        registry.register(DaemonRecord(name: "job", kind: PeriodicSpec.name))
        let notes = Mutex<[String]>([])
        let watching = registry.observe { event in
            if case .note(_, let text) = event.kind { notes.withLock { $0.append(text) } }
        }
        defer { watching.cancel() }
        let metrics = SupervisorMetrics(startedAt: Date())
        let hooks = Hooks(
            stateFolder: manifest.stateFolder,
            registry: registry,
            metrics: metrics,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
            log: { _ in nil },
            spec: { manifest[daemon: $0] }
        )
        // Nothing serves the queue (no `run()`): the first `queueLimit` failures wait, the rest are dropped at once.
        let failed = DaemonRecord.Run(startedAt: Date(), durationMilliseconds: 1, exitCode: 1)
        for _ in 0..<(Hooks.queueLimit + 4) {
            hooks.observe(
                SupervisorEvent(id: 1, time: Date(), kind: .runFinished(RunReport(name: "job", run: failed, pid: 9)))
            )
        }
        let text = String(decoding: metrics.exposition(records: []), as: UTF8.self)
        #expect(text.contains(#"orchestrate_hooks_dropped_total{daemon="job"} 4"#))
        #expect(notes.withLock { $0 }.filter { $0.hasPrefix("hook for run_failed dropped") }.count == 4)
        hooks.finish()
    }

    /// What a webhook gets: the facts, a sentence for Slack-style endpoints, and nothing of the environment.
    @Test func theWebhookBodyHasTheFactsAndNoEnvironment() throws {
        let job = Hooks.Job(
            event: .runFailed,
            daemon: "sync",
            kind: PeriodicSpec.name,
            exitStatus: 2,
            message: "a run exited with status 2",
            time: Date(timeIntervalSince1970: 1_800_000_000)
        )
        let body =
            try JSONSerialization.jsonObject(with: Data(Hooks.webhookBody(job, log: ["a", "b"]))) as? [String: Any]
        #expect(
            Set(body?.keys ?? [:].keys) == [
                "text", "event", "daemon", "kind", "exit_status", "message", "time", "host", "log",
            ]
        )
        #expect(
            body?["text"] as? String
                == "orchestrate: sync run_failed: a run exited with status 2 (on \(ProcessInfo.processInfo.hostName))"
        )
        #expect(body?["time"] as? String == "2027-01-15T08:00:00.000Z")
        #expect(body?["log"] as? [String] == ["a", "b"])
    }
}
