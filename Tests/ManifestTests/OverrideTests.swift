import DaemonKit
import Orchestrator
import Testing

@testable import Manifest

@Suite("Environment and --set overrides")
struct OverrideTests {
    private let manifest = """
        daemons:
          issues-sync:
            kind: periodic
            interval: 30s
            command: sync
          code-atlas:
            kind: watcher
            patterns: ["*.py"]
            command: scan
          core:
            kind: rpc
            listen: 127.0.0.1:8420
            methods:
              skills.list: {command: [agent, skills]}
        """

    @Test func environmentVariablesSetFieldsCaseInsensitivelyWithDashesAsUnderscores() throws {
        let loaded = try load(
            manifest,
            environment: [
                "ORCHESTRATE__DAEMONS__ISSUES_SYNC__INTERVAL": "5s",
                "ORCHESTRATE__DAEMONS__CODE_ATLAS__ENABLED": "false",
                "orchestrate__not_an_override": "ignored: the prefix is upper-case",
                "ORCHESTRATE_FILE": "not an override either",
            ]
        )
        guard let sync = loaded.manifest[daemon: "issues-sync"]?.settings(as: PeriodicSpec.self) else {
            Issue.record("expected periodic")
            return
        }
        #expect(sync.schedule == .interval(.seconds(5)))
        #expect(loaded.manifest[daemon: "code-atlas"]?.enabled == false)
    }

    @Test func valuesAreReadAsYAML() throws {
        let loaded = try load(
            manifest,
            environment: [
                "ORCHESTRATE__DAEMONS__CODE_ATLAS__PATTERNS": #"["*.py","*.pyi"]"#,
                "ORCHESTRATE__DAEMONS__CORE__CACHE": "{max_entries: 5}",
                "ORCHESTRATE__ENV__EMPTY": "",
            ]
        )
        guard let watcher = loaded.manifest[daemon: "code-atlas"]?.settings(as: WatcherSpec.self),
            let rpc = loaded.manifest[daemon: "core"]?.settings(as: RPCSpec.self)
        else {
            Issue.record("expected kinds")
            return
        }
        #expect(watcher.files.patterns.map(\.pattern) == ["*.py", "*.pyi"])
        #expect(rpc.cacheMaxEntries == 5)
        #expect(loaded.manifest.environment == ["EMPTY": ""])
    }

    @Test func nestedFieldsDefaultsAndNewEnvironmentEntries() throws {
        let loaded = try load(
            manifest,
            environment: [
                "ORCHESTRATE__DEFAULTS__STOP_TIMEOUT": "2s",
                "ORCHESTRATE__DAEMONS__ISSUES-SYNC__RESTART__BACKOFF__MAX": "5m",
                "ORCHESTRATE__DAEMONS__ISSUES_SYNC__ENV__API_TOKEN": "secret",
                "ORCHESTRATE__RELOAD": "manual",
                "ORCHESTRATE__DAEMONS__CORE__METHODS__SKILLS_LIST__TIMEOUT": "3s",
            ]
        )
        let sync = try #require(loaded.manifest[daemon: "issues-sync"])
        #expect(sync.stopTimeout == .seconds(2))
        #expect(loaded.manifest[daemon: "core"]?.stopTimeout == .seconds(2))
        #expect(sync.restart.maxBackoff == .seconds(300))
        #expect(sync.environment["API_TOKEN"] == "secret")
        #expect(loaded.manifest.reload == .manual)
        guard let rpc = loaded.manifest[daemon: "core"]?.settings(as: RPCSpec.self) else { return }
        #expect(rpc.methods.first?.timeout == .seconds(3))
    }

    @Test func setArgumentsUseDotsAndWinOverTheEnvironment() throws {
        let loaded = try load(
            manifest,
            environment: ["ORCHESTRATE__DAEMONS__ISSUES_SYNC__INTERVAL": "5s"],
            set: [
                "daemons.issues-sync.interval=7s", "daemons.core.methods.skills.list.timeout=4s",
                "daemons.core.listen=unix:x.sock",
            ]
        )
        guard let sync = loaded.manifest[daemon: "issues-sync"]?.settings(as: PeriodicSpec.self),
            let rpc = loaded.manifest[daemon: "core"]?.settings(as: RPCSpec.self)
        else {
            Issue.record("expected kinds")
            return
        }
        #expect(sync.schedule == .interval(.seconds(7)))
        #expect(rpc.methods.first?.timeout == .seconds(4))
        #expect(rpc.listen == .unix(path: "/project/x.sock"))
    }

    @Test func mistypedOverridesAreErrorsWithSuggestions() throws {
        let found = errors(
            manifest,
            environment: [
                "ORCHESTRATE__DAEMONS__ISSUES_SYNC__INTERVALL": "5s",
                "ORCHESTRATE__DAEMONS__ISSUE_SYNC__INTERVAL": "5s",
                "ORCHESTRATE__DAEMONS__CODE_ATLAS__INTERVAL": "5s",
                "ORCHESTRATE__DEAMONS__X": "1",
            ]
        )
        #expect(found.count == 4)
        let byVariable = Dictionary(uniqueKeysWithValues: found.map { ($0.origin?.label ?? "", $0) })
        let typo = try #require(byVariable["ORCHESTRATE__DAEMONS__ISSUES_SYNC__INTERVALL"])
        #expect(typo.code == .override)
        #expect(typo.message == "no field 'intervall' in a periodic daemon")
        #expect(typo.suggestion == "did you mean 'interval'?")
        let daemon = try #require(byVariable["ORCHESTRATE__DAEMONS__ISSUE_SYNC__INTERVAL"])
        #expect(daemon.message == "no daemon named 'ISSUE_SYNC' in 'daemons'")
        #expect(daemon.suggestion == "did you mean 'issues-sync'?")
        let kind = try #require(byVariable["ORCHESTRATE__DAEMONS__CODE_ATLAS__INTERVAL"])
        #expect(kind.suggestion == "'interval' belongs to periodic daemons")
        let top = try #require(byVariable["ORCHESTRATE__DEAMONS__X"])
        #expect(top.suggestion == "did you mean 'daemons'?")
    }

    @Test func overridesThatCannotApply() {
        let found = errors(
            manifest,
            set: [
                "daemons.code-atlas.patterns.0=*.rs", "daemons.core.listen.port=1", "novalue", "daemons..x=1",
                "daemons.core.methods.nope.timeout=1s",
            ]
        )
        #expect(found.count == 5)
        let messages = found.map(\.message)
        #expect(messages.contains("'daemons.code-atlas.patterns' is a list; set the whole list, such as '[a, b]'"))
        #expect(messages.contains { $0.hasPrefix("'daemons.core.listen' has no fields") })
        #expect(messages.contains("expected --set PATH=VALUE, such as --set daemons.web.enabled=false"))
        #expect(messages.contains("the path has an empty segment"))
        #expect(messages.contains("no entry named 'nope' in 'daemons.core.methods'"))
    }

    @Test func textThatIsNotYAMLIsTakenAsAString() throws {
        let loaded = try load(
            manifest,
            set: [
                "daemons.code-atlas.patterns=[\"*.rs\"]", "daemons.issues-sync.cron=@daily",
                "daemons.issues-sync.interval=null",
            ]
        )
        guard let sync = loaded.manifest[daemon: "issues-sync"]?.settings(as: PeriodicSpec.self) else {
            Issue.record("expected periodic")
            return
        }
        #expect(sync.schedule == .cron(try CronSchedule(parsing: "@daily")))
        let star = try load(manifest, set: ["daemons.core.methods.skills.list.description=*bold*"])
        guard let rpc = star.manifest[daemon: "core"]?.settings(as: RPCSpec.self) else { return }
        #expect(rpc.methods.first?.description == "*bold*")
    }

    @Test func overriddenValuesAreValidatedWithTheirOrigin() throws {
        let found = errors(manifest, environment: ["ORCHESTRATE__DAEMONS__ISSUES_SYNC__INTERVAL": "soon"])
        let error = try #require(found.first)
        #expect(found.count == 1)
        #expect(error.origin == .environment(variable: "ORCHESTRATE__DAEMONS__ISSUES_SYNC__INTERVAL"))
        #expect(
            error.description
                == "ORCHESTRATE__DAEMONS__ISSUES_SYNC__INTERVAL: daemons.issues-sync.interval: expected a duration like 250ms, 30s, 5m or 1h30m, found 'soon'"
        )
        let malformed = errors(manifest, set: ["daemons.core.cache={max_entries: [1"])
        #expect(malformed.first?.message.hasPrefix("the value is not a YAML scalar or flow collection") == true)
    }

    @Test func configShowsWhereOverriddenValuesCameFrom() throws {
        let loaded = try load(
            manifest,
            environment: ["ORCHESTRATE__DAEMONS__ISSUES_SYNC__INTERVAL": "90s"],
            set: ["daemons.code-atlas.enabled=false"]
        )
        let renderer = ConfigRenderer(loaded)
        #expect(
            renderer.provenance.contains(
                .init(
                    path: "daemons.issues-sync.interval",
                    origin: .environment(variable: "ORCHESTRATE__DAEMONS__ISSUES_SYNC__INTERVAL")
                )
            )
        )
        let yaml = renderer.renderYAML()
        #expect(yaml.contains("    interval: 1m30s  # from ORCHESTRATE__DAEMONS__ISSUES_SYNC__INTERVAL\n"))
        #expect(yaml.contains("    enabled: false  # from --set daemons.code-atlas.enabled=false\n"))
    }
}
