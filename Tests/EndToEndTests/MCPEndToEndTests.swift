import Foundation
import OrchestrateTesting
import Testing

extension SupervisorBinaryTests {
    /// `orchestrate mcp` with a real MCP client, the official Python SDK (Tests/mcp/check_mcp.py): the tools listed,
    /// and status, trigger and logs called against a running supervisor; auto_start starting one.
    @Suite("The MCP server, end to end", .serialized)
    struct MCPEndToEndTests {
        typealias Supervisor = SupervisorEndToEndTests

        static func manifest(autoStart: Bool) -> String {
            """
            auto_start: \(autoStart)
            daemons:
              tick:
                kind: periodic
                interval: 1h
                command: ["sh", "-c", "echo hello from tick"]
            """
        }

        /// What the client saw, as check_mcp.py prints it.
        static func client(_ directory: TemporaryDirectory) async throws -> [String: Any] {
            let script = E2E.repositoryRoot() + "/Tests/mcp/check_mcp.py"
            let python = try E2E.python()
            let binary = TestProcess.orchestrateBinary
            let manifest = directory.url("daemons.yaml")
            let result = try await offPool {
                try TestProcess.run(
                    [python, script, binary, manifest, "tick"],
                    in: directory.path,
                    environment: E2E.environment()
                )
            }
            #expect(result.status == 0, "\(result.stderr)")
            return try E2E.jsonObject(result.stdout)
        }

        static func text(_ seen: [String: Any], _ tool: String) -> (text: String, isError: Bool?) {
            let result = seen[tool] as? [String: Any]
            return (result?["text"] as? String ?? "", result?["is_error"] as? Bool)
        }

        @Test func aRealClientListsTheToolsAndCallsStatusTriggerAndLogs() async throws {
            try await Supervisor.withSupervisor(Self.manifest(autoStart: false)) { directory in
                let seen = try await Self.client(directory)
                #expect(seen["server"] as? String == "orchestrate")
                #expect(
                    seen["tools"] as? [String]
                        == [
                            "config", "logs", "reload", "restart", "scale", "start", "status", "stop", "trigger",
                            "validate",
                        ]
                )
                let schemas = try #require(seen["schemas"] as? [String: [String: Any]])
                #expect(schemas["trigger"]?["required"] as? [String] == ["name"])
                #expect(schemas["scale"]?["required"] as? [String] == ["name", "replicas"])
                // A periodic daemon runs once: the refusal reaches the client as the tool's error.
                let scale = Self.text(seen, "scale")
                #expect(scale.isError == true)
                #expect(
                    scale.text.contains("'tick' is a periodic daemon, which runs once: it has no replicas"),
                    "\(scale.text)"
                )

                let status = Self.text(seen, "status")
                #expect(status.isError == false)
                let document = try E2E.jsonObject(status.text)
                #expect((document["daemons"] as? [[String: Any]])?.first?["name"] as? String == "tick")

                let trigger = Self.text(seen, "trigger")
                #expect(trigger.isError == false)
                #expect(try E2E.jsonObject(trigger.text)["exit_code"] as? Int == 0)

                let logs = Self.text(seen, "logs")
                #expect(logs.text.contains("tick | "))
                #expect(logs.text.contains(" hello from tick"))

                let unknown = Self.text(seen, "unknown")
                #expect(unknown.isError == true)
                #expect(unknown.text == "no daemon named 'no-such-daemon'")
            }
        }

        @Test func withoutASupervisorToolsSaySoAndAutoStartStartsOne() async throws {
            try await E2E.withManifest(Self.manifest(autoStart: false)) { directory in
                let seen = try await Self.client(directory)
                let status = Self.text(seen, "status")
                #expect(status.isError == true)
                #expect(status.text.hasPrefix("no supervisor runs for "), "\(status.text)")
                #expect(Self.text(seen, "logs").isError == false, "the logs need no supervisor")
            }
            try await E2E.withManifest(Self.manifest(autoStart: true)) { directory in
                defer { _ = try? E2E.run(["down"], in: directory.path) }
                let seen = try await Self.client(directory)
                #expect(Self.text(seen, "status").isError == false)
                #expect(Self.text(seen, "trigger").isError == false)
                #expect(Supervisor.lockHolder(directory) != nil, "auto_start left a supervisor running")
            }
        }
    }
}
