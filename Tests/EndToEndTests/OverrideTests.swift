import Foundation
import OrchestrateTesting
import Testing

@Suite("overrides: ORCHESTRATE__… and --set")
struct OverrideTests {
    static let manifest = """
        daemons:
          issues-sync:
            kind: periodic
            interval: 30s
            command: [echo]
          code-atlas:
            kind: watcher
            patterns: ["*.py"]
            command: [echo]

        """

    /// Runs `arguments` on ``manifest``.
    private func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> CommandResult {
        try await E2E.withManifest(Self.manifest) { directory in
            try await E2E.run(arguments, in: directory.path, environment: environment)
        }
    }

    /// The field `field` of daemon `name` in `config --json` output.
    private func field(_ result: CommandResult, _ name: String, _ field: String) async throws -> Any? {
        try #require(result.status == 0, "stderr: \(result.stderr)")
        return try E2E.daemon(name, in: E2E.jsonObject(result.stdout))[field]
    }

    @Test func environmentOverrideShowsInJSON() async throws {
        let result = try await run(
            ["config", "--json"],
            environment: ["ORCHESTRATE__DAEMONS__ISSUES_SYNC__INTERVAL": "5s"]
        )
        #expect(try await field(result, "issues-sync", "interval") as? String == "5s")
    }

    @Test func environmentOverrideIsMarkedInYAML() async throws {
        let result = try await run(["config"], environment: ["ORCHESTRATE__DAEMONS__ISSUES_SYNC__INTERVAL": "5s"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("    interval: 5s  # from ORCHESTRATE__DAEMONS__ISSUES_SYNC__INTERVAL\n"))
        #expect(!result.stdout.contains("interval: 30s"))
    }

    @Test func setDisablesADaemon() async throws {
        let result = try await run(["--set", "daemons.code-atlas.enabled=false", "config", "--json"])
        #expect(try await field(result, "code-atlas", "enabled") as? Bool == false)
        #expect(try await field(result, "issues-sync", "enabled") as? Bool == true)
        let yaml = try await run(["--set", "daemons.code-atlas.enabled=false", "config"])
        #expect(yaml.stdout.contains("enabled: false  # from --set daemons.code-atlas.enabled=false\n"))
    }

    @Test func listValue() async throws {
        let environment = ["ORCHESTRATE__DAEMONS__CODE_ATLAS__PATTERNS": #"["*.py","*.pyi"]"#]
        let result = try await run(["config", "--json"], environment: environment)
        #expect(try await field(result, "code-atlas", "patterns") as? [String] == ["*.py", "*.pyi"])
        let set = try await run(["--set", #"daemons.code-atlas.patterns=["*.py","*.pyi"]"#, "config", "--json"])
        #expect(try await field(set, "code-atlas", "patterns") as? [String] == ["*.py", "*.pyi"])
    }

    @Test func mistypedFieldIsAnErrorWithASuggestion() async throws {
        let result = try await run(["validate"], environment: ["ORCHESTRATE__DAEMONS__ISSUES_SYNC__INTERVALL": "5s"])
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(
            result.stderr.contains(
                "ORCHESTRATE__DAEMONS__ISSUES_SYNC__INTERVALL: daemons.issues-sync: no field 'intervall' in a "
                    + "periodic daemon; did you mean 'interval'?"
            )
        )
    }

    @Test func missingDaemonIsAnError() async throws {
        let result = try await run(["validate"], environment: ["ORCHESTRATE__DAEMONS__ISSUES_SINK__INTERVAL": "5s"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("no daemon named 'ISSUES_SINK' in 'daemons'; did you mean 'issues-sync'?"))
        let set = try await run(["--set", "daemons.nope.enabled=false", "validate"])
        #expect(set.status == 2)
        #expect(set.stderr.contains("--set daemons.nope.enabled=false: daemons: no daemon named 'nope'"))
    }

    @Test func overriddenValueIsValidated() async throws {
        let result = try await run(["--set", "daemons.issues-sync.interval=fast", "validate"])
        #expect(result.status == 2)
        #expect(
            result.stderr.contains(
                "--set daemons.issues-sync.interval=fast: daemons.issues-sync.interval: expected a duration"
            )
        )
    }

    @Test func malformedSetIsAnError() async throws {
        let result = try await run(["--set", "nonsense", "validate"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("expected --set PATH=VALUE"))
    }

    @Test(
        "segments are case-insensitive with - and _ equal",
        arguments: [
            "ORCHESTRATE__daemons__Issues-Sync__Interval",
            "ORCHESTRATE__DAEMONS__issues_sync__interval",
            "ORCHESTRATE__Daemons__ISSUES-SYNC__INTERVAL",
        ]
    )
    func environmentSegmentsAreForgiving(_ variable: String) async throws {
        let result = try await run(["config", "--json"], environment: [variable: "7s"])
        #expect(try await field(result, "issues-sync", "interval") as? String == "7s")
    }

    @Test(
        "--set paths are case-insensitive with -, _ and . equal",
        arguments: [
            "DAEMONS.ISSUES_SYNC.INTERVAL=8s", "daemons.issues-sync.Interval=8s", "Daemons.Issues-Sync.INTERVAL=8s",
        ]
    )
    func setSegmentsAreForgiving(_ argument: String) async throws {
        let result = try await run(["--set", argument, "config", "--json"])
        #expect(try await field(result, "issues-sync", "interval") as? String == "8s")
    }

    @Test(
        "-f and --set work before and after the subcommand",
        arguments: [
            ["-f", "daemons.yaml", "--set", "daemons.issues-sync.interval=10s", "config", "--json"],
            ["config", "--json", "-f", "daemons.yaml", "--set", "daemons.issues-sync.interval=10s"],
            ["-f", "daemons.yaml", "config", "--set", "daemons.issues-sync.interval=10s", "--json"],
            ["--file=daemons.yaml", "--set=daemons.issues-sync.interval=10s", "config", "--json"],
            ["config", "--file", "daemons.yaml", "--json", "--set=daemons.issues-sync.interval=10s"],
        ]
    )
    func optionPlacement(_ arguments: [String]) async throws {
        // The manifest lives in a subfolder, so only an -f that is honoured finds it.
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try directory.write("sub/daemons.yaml", Self.manifest)
        let adjusted = arguments.map {
            $0 == "daemons.yaml"
                ? "sub/daemons.yaml" : $0.replacingOccurrences(of: "=daemons.yaml", with: "=sub/daemons.yaml")
        }
        let result = try await E2E.run(adjusted, in: directory.path)
        #expect(try await field(result, "issues-sync", "interval") as? String == "10s")
    }

    @Test func setWinsOverTheEnvironment() async throws {
        let result = try await run(
            ["--set", "daemons.issues-sync.interval=9s", "config"],
            environment: ["ORCHESTRATE__DAEMONS__ISSUES_SYNC__INTERVAL": "5s"]
        )
        #expect(result.status == 0)
        #expect(result.stdout.contains("    interval: 9s  # from --set daemons.issues-sync.interval=9s\n"))
    }

    @Test func laterSetWinsOverEarlierSet() async throws {
        let result = try await run([
            "--set", "daemons.issues-sync.interval=1s", "--set", "daemons.issues-sync.interval=2s", "config", "--json",
        ])
        #expect(try await field(result, "issues-sync", "interval") as? String == "2s")
    }

    @Test func aNameWithDotsIsFound() async throws {
        let root = E2E.repositoryRoot()
        let result = try await E2E.run(
            [
                "-f", "examples/daemons.yaml", "--set", "daemons.core.methods.skills.list.timeout=1s", "config",
                "--json",
            ],
            in: root
        )
        let methods = try await #require(try field(result, "core", "methods") as? [String: Any])
        let method = try #require(methods["skills.list"] as? [String: Any])
        #expect(method["timeout"] as? String == "1s")
    }

    @Test func environmentOverrideAddsAnEnvEntry() async throws {
        let result = try await run(["config", "--json"], environment: ["ORCHESTRATE__ENV__NEW_VAR": "1"])
        #expect(result.status == 0)
        let env = try E2E.jsonObject(result.stdout)["env"] as? [String: Any]
        #expect(env?["NEW_VAR"] as? String == "1")
    }
}
