import Foundation
import OrchestrateTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension SupervisorBinaryTests {
    /// `up --only`, `--except` and `--no-deps`, kept by hot reload; `status NAME --ready`.
    @Suite("A supervisor for some of the daemons, end to end", .serialized)
    struct SelectionEndToEndTests {
        typealias Supervisor = SupervisorEndToEndTests

        static func manifest(webCommand: String = "sleep 300", extra: String = "") -> String {
            """
            daemons:
              db:
                kind: process
                command: sleep 300
              web:
                kind: process
                command: \(webCommand)
                depends_on: [db]
              other:
                kind: process
                command: sleep 300
              never:
                kind: process
                command: sleep 300
                ready: {exec: "false", timeout: 300ms}
                restart: {policy: never}
            \(extra)
            """
        }

        static func names(_ directory: TemporaryDirectory) async throws -> Set<String> {
            Set(try await Supervisor.status(directory).keys)
        }

        @Test func onlyRunsTheNamedDaemonsAndTheirDependenciesAndReloadKeepsTheSelection() async throws {
            try await Supervisor.withSupervisor(Self.manifest(), upArguments: ["--only", "web"]) { directory in
                let names = try await Self.names(directory)
                #expect(names == ["db", "web"])
                let web = try #require(try await Supervisor.status(directory)["web"]?["pids"] as? [Int])

                // A daemon added to the file is not selected; a change to a selected one applies.
                try ReloadEndToEndTests.saveByRename(
                    directory,
                    Self.manifest(
                        webCommand: "sleep 301",
                        extra: "  added:\n    kind: process\n    command: sleep 300\n"
                    )
                )
                #expect(await waitUntil { await ReloadEndToEndTests.restarted(directory, "web", from: web) })
                let namesNow = try await Self.names(directory)
                #expect(namesNow == ["db", "web"])
                let reload = try await E2E.run(["reload"], in: directory.path)
                #expect(reload.status == 0, "\(reload.stderr)")
                let namesLater = try await Self.names(directory)
                #expect(namesLater == ["db", "web"])
            }
        }

        @Test func noDepsLeavesTheDependenciesOutAndSaysSo() async throws {
            let arguments = ["--only", "web", "--no-deps"]
            try await Supervisor.withSupervisor(Self.manifest(), upArguments: arguments) { directory in
                let names = try await Self.names(directory)
                #expect(names == ["web"])
                #expect(await waitUntil { await ReloadEndToEndTests.pids(directory, "web").count == 1 })
            }
            try await E2E.withManifest(Self.manifest()) { directory in
                let result = try await E2E.run(["--only", "web", "--no-deps", "config"], in: directory.path)
                #expect(result.status == 2, "--only belongs to up")
            }
        }

        @Test func exceptLeavesOutTheNamedDaemons() async throws {
            try await Supervisor.withSupervisor(
                Self.manifest(),
                notReady: ["never"],
                upArguments: ["--except", "db", "other"]
            ) { directory in
                let names = try await Self.names(directory)
                #expect(names == ["web", "never"])
                // web depends on db, left out: it starts without waiting.
                #expect(await waitUntil { await ReloadEndToEndTests.pids(directory, "web").count == 1 })

                let ready = try await E2E.run(["status", "web", "--ready"], in: directory.path)
                #expect(ready.status == 0)
                #expect(ready.stdout.isEmpty)
                let notReady = try await E2E.run(["status", "never", "--ready"], in: directory.path)
                #expect(notReady.status == 1)
                #expect(notReady.stderr.contains("never is not ready: it is failed"), "\(notReady.stderr)")
                let unknown = try await E2E.run(["status", "db", "--ready"], in: directory.path)
                #expect(unknown.status == 2)
            }
        }

        /// As the units of `export systemd` run them: one supervisor per daemon, each in a state folder of its own set
        /// from outside; each command with that setting reaches its own supervisor.
        @Test func supervisorsOfOneDaemonEachInTheirOwnStateFolder() async throws {
            try await E2E.withManifest(Self.manifest()) { directory in
                let folders = ["web": directory.url("units/web"), "other": directory.url("units/other")]
                var pids: [Int32] = []
                defer {
                    for pid in pids where Supervisor.isAlive(pid) { kill(pid, SIGKILL) }
                }
                for (name, folder) in folders.sorted(by: { $0.key < $1.key }) {
                    let up = try await E2E.run(
                        ["up", "-d", "--only", name, "--no-deps"],
                        in: directory.path,
                        environment: ["ORCHESTRATE__STATE_DIR": folder]
                    )
                    #expect(up.status == 0, "\(up.stderr)")
                    pids += Supervisor.startedPID(up.stdout).map { [$0] } ?? []
                }
                for (name, folder) in folders {
                    let environment = ["ORCHESTRATE__STATE_DIR": folder]
                    let status = try await E2E.run(["status", "--json"], in: directory.path, environment: environment)
                    let document = try E2E.jsonObject(status.stdout)
                    let names = (document["daemons"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
                    #expect(names == [name])
                    let down = try await E2E.run(["down"], in: directory.path, environment: environment)
                    #expect(down.status == 0, "\(down.stderr)")
                }
            }
        }

        @Test func aNameTheManifestLacksIsAUsageError() async throws {
            try await E2E.withManifest(Self.manifest()) { directory in
                let result = try await E2E.run(["up", "--only", "wbe"], in: directory.path)
                #expect(result.status == 2)
                #expect(
                    result.stderr
                        == "orchestrate: --only wbe: daemons.yaml has no daemon named 'wbe'; did you mean 'web'?\n"
                )
                let warned = try await E2E.run(["up", "-d", "--only", "web", "--no-deps"], in: directory.path)
                defer { _ = try? E2E.run(["down"], in: directory.path) }
                #expect(warned.status == 0)
                #expect(
                    warned.stderr.contains(
                        "web depends on 'db', which this supervisor does not run: it starts without waiting"
                    )
                )
            }
        }
    }
}
