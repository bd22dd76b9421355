import Foundation
import OrchestrateTesting
import Testing

extension SupervisorBinaryTests {
    /// `include`: fragments whose daemons join the manifest's, with env and defaults of their own and paths read
    /// from their own folder; a fragment added while the supervisor runs starts its daemons.
    @Suite("Manifest fragments, end to end", .serialized)
    struct IncludeEndToEndTests {
        typealias Supervisor = SupervisorEndToEndTests

        static let manifest = """
            include: ["daemons.d/*.yaml"]
            env: {COLOR: grey, SIZE: small}
            daemons:
              core:
                kind: process
                command: 'echo "$$COLOR $$SIZE" > core.txt; exec sleep 300'
            """

        static let web = """
            env: {COLOR: blue}
            defaults: {stop_timeout: 3s}
            daemons:
              web:
                kind: process
                cwd: web
                command: 'echo "$$COLOR $$SIZE $$(basename "$$PWD")" > started.txt; exec sleep 300'
            """

        @Test func fragmentsJoinTheManifestAndANewOneStartsItsDaemons() async throws {
            let files = ["daemons.d/web.yaml": Self.web, "daemons.d/web/.keep": ""]
            try await Supervisor.withSupervisor(Self.manifest, files: files) { directory in
                #expect(
                    await waitUntil { Supervisor.lines(directory, "daemons.d/web/started.txt") == ["blue small web"] }
                )
                #expect(await waitUntil { Supervisor.lines(directory, "core.txt") == ["grey small"] })
                let config = try await E2E.run(["config"], in: directory.path)
                #expect(config.stdout.contains("  web:  # from daemons.d/web.yaml:4:3\n"), "\(config.stdout)")
                #expect(config.stdout.contains("    stop_timeout: 3s\n"))

                // A fragment saved into the folder the glob covers: its daemon starts, the others keep running.
                let before = try await Supervisor.status(directory)
                try directory.write(
                    "daemons.d/jobs.yaml",
                    "daemons:\n  jobs: {kind: periodic, interval: 1h, run_on_start: true, command: \"echo ran > ../jobs.txt\"}\n"
                )
                #expect(await waitUntil { Supervisor.lines(directory, "jobs.txt") == ["ran"] })
                let after = try await Supervisor.status(directory)
                #expect(after["web"]?["pids"] as? [Int] == before["web"]?["pids"] as? [Int])
            }
        }

        @Test func aDaemonDefinedTwiceNamesBothPlaces() async throws {
            let manifest = "include: [more.yaml]\ndaemons:\n  web: {kind: process, command: x}\n"
            try await E2E.withManifest(manifest) { directory in
                try directory.write(
                    "more.yaml",
                    "daemons:\n  web: {kind: process, command: y}\n  ok: {kind: process, command: z}\n"
                )
                let result = try await E2E.run(["validate"], in: directory.path)
                #expect(result.status == 2)
                #expect(
                    result.stderr.contains(
                        "more.yaml:2:3: daemons.web: daemon 'web' is defined twice: here and at daemons.yaml:3:3"
                    ),
                    "\(result.stderr)"
                )
                try directory.write("more.yaml", "daemons:\n  ok: {kind: process, command: z}\nstate_dir: x\n")
                let wrongKey = try await E2E.run(["validate"], in: directory.path)
                #expect(wrongKey.stderr.contains("a fragment holds daemons, env and defaults, not 'state_dir'"))
                try directory.write("daemons.yaml", "include: [nowhere.yaml, \"none.d/*.yaml\"]\ndaemons: {}\n")
                let missing = try await E2E.run(["validate"], in: directory.path)
                #expect(missing.status == 2)
                #expect(missing.stderr.contains("include 'nowhere.yaml': no such file"), "\(missing.stderr)")
                #expect(!missing.stderr.contains("none.d"), "a glob that matches nothing is no error")
            }
        }

        /// `--set include=…` and `ORCHESTRATE__INCLUDE` name the fragments that are read, not only the value shown.
        @Test func anOverrideOfIncludeReadsItsFragments() async throws {
            try await E2E.withManifest("daemons:\n  web: {kind: process, command: x}\n") { directory in
                try directory.write("extra.yaml", "daemons:\n  jobs: {kind: process, command: y}\n")
                let set = try await E2E.run(["validate", "--set", "include=[extra.yaml]"], in: directory.path)
                #expect(set.stdout == "2 daemons: 2 process\n", "\(set.stderr)")
                let environment = try await E2E.run(
                    ["config"],
                    in: directory.path,
                    environment: ["ORCHESTRATE__INCLUDE": "[extra.yaml]"]
                )
                #expect(environment.stdout.contains("  jobs:  # from extra.yaml:2:3\n"), "\(environment.stdout)")
                let missing = try await E2E.run(["validate", "--set", "include=[none.yaml]"], in: directory.path)
                #expect(missing.status == 2)
                #expect(missing.stderr.contains("include 'none.yaml': no such file"), "\(missing.stderr)")
            }
        }
    }
}
