import Foundation
import OrchestrateTesting
import Testing

extension SupervisorBinaryTests {
    /// `notify` hooks with the built binary: a command with the event's variables and the log's tail, a webhook
    /// that is tried again after a 500, the process events (exited, restarted, failed), recovery, a hook that hangs
    /// and is killed, and no secret in a webhook's body.
    @Suite("Hooks, end to end", .serialized)
    struct HooksEndToEndTests {
        typealias Supervisor = SupervisorEndToEndTests

        static func manifest(port: Int) -> String {
            """
            reload: manual
            daemons:
              flaky:
                kind: periodic
                interval: 1h
                env: {API_TOKEN: s3cr3t-value}
                command: ["sh", "-c", "echo line from flaky; test -f ok"]
                notify:
                  on: [run_failed, recovered]
                  command: ["sh", "-c", "cp $$ORCHESTRATE_LOG_FILE tail-$$ORCHESTRATE_EVENT.txt; echo $$ORCHESTRATE_EVENT $$ORCHESTRATE_DAEMON $$ORCHESTRATE_KIND $$ORCHESTRATE_EXIT_STATUS >> hooks.txt"]
                  webhook: http://127.0.0.1:\(port)/flaky
              crash:
                kind: process
                command: ["sh", "-c", "exit 3"]
                # Never ready: `up --wait` cannot take a life between two exits for ready.
                ready: {exec: "false", timeout: 10s}
                restart: {policy: on-failure, backoff: {initial: 50ms, max: 50ms}, limit: {burst: 2, window: 1m}}
                notify: {on: [exited, restarted, failed], webhook: "http://127.0.0.1:\(port)/crash"}
              hangs:
                kind: periodic
                interval: 1h
                command: ["false"]
                notify: {on: [run_failed], command: ["sleep", "30"], timeout: 300ms}
            """
        }

        @Test func commandsAndWebhooksTellFailuresRestartsAndRecoveries() async throws {
            // The first post is answered 500: the webhook tries again.
            let receiver = try WebhookReceiver(failures: ["/flaky": 1])
            defer { receiver.stop() }
            try await Supervisor.withSupervisor(Self.manifest(port: receiver.port), notReady: ["crash"]) { directory in
                let path = directory.path
                #expect(try await E2E.run(["trigger", "flaky", "--wait"], in: path).status == 1)
                #expect(await waitUntil(timeout: .seconds(20)) { Self.lines(directory, "hooks.txt").count == 1 })
                #expect(Self.lines(directory, "hooks.txt") == ["run_failed flaky periodic 1"])
                #expect(Self.lines(directory, "tail-run_failed.txt").contains { $0.hasSuffix(" line from flaky") })

                try directory.write("ok", "")
                #expect(try await E2E.run(["trigger", "flaky", "--wait"], in: path).status == 0)
                #expect(await waitUntil(timeout: .seconds(20)) { Self.lines(directory, "hooks.txt").count == 2 })
                #expect(Self.lines(directory, "hooks.txt").last == "recovered flaky periodic 0")

                // The webhook: the failure (tried twice), then the recovery, as JSON.
                #expect(
                    await waitUntil(timeout: .seconds(20)) {
                        receiver.received.filter { $0.path == "/flaky" }.count == 3
                    }
                )
                let flaky = receiver.received.filter { $0.path == "/flaky" }
                #expect(flaky.allSatisfy { $0.method == "POST" && $0.headers["content-type"] == "application/json" })
                let bodies = try flaky.map { try E2E.jsonObject($0.body) }
                #expect(bodies.map { $0["event"] as? String } == ["run_failed", "run_failed", "recovered"])
                let failure = bodies[0]
                #expect(failure["daemon"] as? String == "flaky" && failure["kind"] as? String == "periodic")
                #expect(failure["exit_status"] as? Int == 1)
                #expect((failure["text"] as? String)?.hasPrefix("orchestrate: flaky run_failed") == true)
                #expect((failure["log"] as? [String])?.contains { $0.hasSuffix(" line from flaky") } == true)
                #expect(flaky.allSatisfy { !$0.body.contains("s3cr3t") })

                // A process that keeps exiting: each exit, the restart, then parked as failed.
                #expect(
                    await waitUntil(timeout: .seconds(20)) {
                        receiver.received.contains { $0.path == "/crash" && $0.body.contains(#""event":"failed""#) }
                    }
                )
                let crash = try receiver.received.filter { $0.path == "/crash" }.map {
                    try E2E.jsonObject($0.body)["event"] as? String
                }
                // burst: 2 — the second failure in the window parks it: two exits, one restart between them.
                #expect(crash == ["exited", "restarted", "exited", "failed"], "\(crash)")

                // A hook that outlives its timeout is killed, and said so in the daemon's log.
                #expect(try await E2E.run(["trigger", "hangs", "--wait"], in: path).status == 1)
                #expect(
                    await waitUntil(timeout: .seconds(20)) {
                        Self.lines(directory, ".orchestrate/logs/hangs.log").contains {
                            $0.contains(
                                "[orchestrate] hook for run_failed: the hook command was killed after its timeout"
                            )
                        }
                    }
                )
                let hooksFolder = try FileManager.default.contentsOfDirectory(
                    atPath: directory.url(".orchestrate/hooks")
                )
                #expect(hooksFolder.isEmpty, "each hook's log file is removed after it: \(hooksFolder)")
            }
        }

        static func lines(_ directory: TemporaryDirectory, _ file: String) -> [String] {
            Supervisor.lines(directory, file)
        }
    }
}
