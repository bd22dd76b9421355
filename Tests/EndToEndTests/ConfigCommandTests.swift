import Foundation
import OrchestrateTesting
import Testing

@Suite("config")
struct ConfigCommandTests {
    @Test func jsonOfTheExampleHasTheExpectedStructure() async throws {
        let result = try await E2E.run(["-f", "examples/daemons.yaml", "config", "--json"], in: E2E.repositoryRoot())
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let document = try E2E.jsonObject(result.stdout)
        #expect(Set(document.keys) == ["version", "state_dir", "env", "reload", "auto_start", "daemons"])
        #expect(document["version"] as? Int == 1)
        #expect(document["state_dir"] as? String == ".orchestrate")
        #expect(document["reload"] as? String == "auto")
        #expect(document["auto_start"] as? Bool == false)
        #expect((document["env"] as? [String: String]) == ["LOG_LEVEL": "info"])
        let daemons = try #require(document["daemons"] as? [String: Any])
        #expect(Set(daemons.keys) == ["core", "issues-sync", "code-atlas", "docs"])

        let sync = try E2E.daemon("issues-sync", in: document)
        #expect(sync["kind"] as? String == "periodic")
        #expect(sync["interval"] as? String == "30s")
        #expect(sync["jitter"] as? String == "2s")
        #expect(sync["run_on_start"] as? Bool == true)
        #expect(sync["command"] as? [String] == ["sh", "scripts/issues-sync.sh"])
        #expect((sync["env"] as? [String: String])?["ISSUES_REPO"] == ".orchestrate/issues-repo")
        let restart = try #require(sync["restart"] as? [String: Any])
        #expect(restart["policy"] as? String == "on-failure")
        #expect((restart["backoff"] as? [String: String]) == ["initial": "1s", "max": "1m"])

        let atlas = try E2E.daemon("code-atlas", in: document)
        #expect(atlas["kind"] as? String == "watcher")
        #expect(atlas["debounce"] as? String == "300ms")
        #expect(atlas["paths"] as? [String] == ["src"])
        #expect(atlas["gitignore"] as? Bool == false)

        let core = try E2E.daemon("core", in: document)
        #expect(core["listen"] as? String == "127.0.0.1:8420")
        #expect((core["auth"] as? [String: Any])?["api_key_env"] as? String == "CORE_API_KEY")
        #expect((core["cache"] as? [String: Any])?["max_entries"] as? Int == 10_000)
        #expect(core["stop_timeout"] as? String == "10s")
    }

    @Test func interpolatedExampleValueFollowsTheEnvironment() async throws {
        let result = try await E2E.run(
            ["-f", "examples/daemons.yaml", "config", "--json"],
            in: E2E.repositoryRoot(),
            environment: ["ISSUES_REPO": "/srv/issues"]
        )
        let sync = try E2E.daemon("issues-sync", in: E2E.jsonObject(result.stdout))
        #expect((sync["env"] as? [String: String])?["ISSUES_REPO"] == "/srv/issues")
    }

    @Test(
        "durations are printed in their canonical form",
        arguments: [("90s", "1m30s"), ("30s", "30s"), ("5400s", "1h30m"), ("250ms", "250ms"), ("2m", "2m")]
    )
    func durations(_ written: String, _ printed: String) async throws {
        let manifest = "daemons:\n  a: {kind: periodic, interval: \(written), command: x}\n"
        try await E2E.withManifest(manifest) { directory in
            let json = try await E2E.run(["config", "--json"], in: directory.path)
            #expect(json.status == 0, "stderr: \(json.stderr)")
            #expect(try E2E.daemon("a", in: E2E.jsonObject(json.stdout))["interval"] as? String == printed)
            let yaml = try await E2E.run(["config"], in: directory.path)
            #expect(yaml.stdout.contains("    interval: \(printed)\n"))
        }
    }

    @Test func defaultsAreMergedUnderEveryDaemon() async throws {
        let manifest = """
            defaults:
              stop_timeout: 3s
              restart: {policy: always, backoff: {initial: 2s}}
            daemons:
              a:
                kind: process
                command: x
              b:
                kind: periodic
                interval: 1s
                command: x
                stop_timeout: 7s
                restart: {backoff: {max: 5m}}

            """
        try await E2E.withManifest(manifest) { directory in
            let result = try await E2E.run(["config", "--json"], in: directory.path)
            #expect(result.status == 0, "stderr: \(result.stderr)")
            let document = try E2E.jsonObject(result.stdout)
            let a = try E2E.daemon("a", in: document)
            let b = try E2E.daemon("b", in: document)
            #expect(a["stop_timeout"] as? String == "3s")
            #expect(b["stop_timeout"] as? String == "7s")
            let aRestart = try #require(a["restart"] as? [String: Any])
            let bRestart = try #require(b["restart"] as? [String: Any])
            #expect(aRestart["policy"] as? String == "always")
            #expect((aRestart["backoff"] as? [String: String]) == ["initial": "2s", "max": "1m"])
            // Mappings merge key by key: b keeps the default policy and initial, and its own max.
            #expect(bRestart["policy"] as? String == "always")
            #expect((bRestart["backoff"] as? [String: String]) == ["initial": "2s", "max": "5m"])
        }
    }

    @Test func yamlOutputIsItselfAValidManifest() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let first = try await E2E.run(
            ["-f", "examples/daemons.yaml", "config"],
            in: E2E.repositoryRoot(),
            environment: ["ORCHESTRATE__DAEMONS__ISSUES_SYNC__INTERVAL": "5s"]
        )
        #expect(first.status == 0)
        try directory.write("daemons.yaml", first.stdout)
        let again = try await E2E.run(["config"], in: directory.path)
        #expect(again.status == 0, "stderr: \(again.stderr)")
        #expect(again.stdout.contains("    interval: 5s\n"))
        let validate = try await E2E.run(["validate"], in: directory.path)
        #expect(validate.stdout == "4 daemons: 1 periodic, 1 watcher, 1 rpc, 1 process\n")
    }

    @Test func xKeysAreIgnoredAndAnchorsWork() async throws {
        let manifest = """
            x-common: &common
              kind: process
              stop_timeout: 4s
            daemons:
              a:
                <<: *common
                command: x
                x-note: anything goes here

            """
        try await E2E.withManifest(manifest) { directory in
            let result = try await E2E.run(["config", "--json"], in: directory.path)
            #expect(result.status == 0, "stderr: \(result.stderr)")
            let document = try E2E.jsonObject(result.stdout)
            #expect(document["x-common"] == nil)
            let a = try E2E.daemon("a", in: document)
            #expect(a["kind"] as? String == "process")
            #expect(a["stop_timeout"] as? String == "4s")
        }
    }

    @Test func invalidManifestGivesNoOutput() async throws {
        try await E2E.withManifest("daemons:\n  a: {kind: process}\n") { directory in
            let result = try await E2E.run(["config", "--json"], in: directory.path)
            #expect(result.status == 2)
            #expect(result.stdout.isEmpty)
            #expect(result.stderr.contains("daemons.yaml:2:6: daemons.a"))
            #expect(result.stderr.contains("command"))
        }
    }
}
