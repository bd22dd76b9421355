import Foundation
import OrchestrateTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension SupervisorBinaryTests {
    /// Hot reload with the built binary: saves of the manifest applied by themselves, only
    /// what changed restarted, bad saves refused while everything keeps running, `reload`, SIGHUP, `reload: manual`.
    @Suite("Hot reload, end to end", .serialized)
    struct ReloadEndToEndTests {
        typealias Supervisor = SupervisorEndToEndTests

        /// A periodic daemon whose run on start lasts (its command's PID is in `status` while the run goes on).
        static func long(_ name: String, interval: String = "1h", extra: String = "") -> String {
            """
              \(name):
                kind: periodic
                interval: \(interval)
                run_on_start: true
                command: ["sleep", "300"]
            \(extra)
            """
        }

        /// A periodic daemon that appends a line to NAME.txt every 100 ms.
        static func ticking(_ name: String) -> String {
            """
              \(name):
                kind: periodic
                interval: 100ms
                command: ["sh", "-c", "echo $$ORCHESTRATE_RUN >> \(name).txt"]

            """
        }

        /// Saves `text` as the manifest the way most editors do: a temporary file, then a rename over it.
        static func saveByRename(_ directory: TemporaryDirectory, _ text: String) throws {
            let temporary = try directory.write(".daemons.yaml.swp", text)
            #expect(rename(temporary, directory.url("daemons.yaml")) == 0)
        }

        /// The PIDs `status` shows for `name`.
        static func pids(_ directory: TemporaryDirectory, _ name: String) async -> [Int] {
            ((try? await Supervisor.status(directory)[name]?["pids"] as? [Int]) ?? nil) ?? []
        }

        /// Whether each of `names` has one live command.
        static func allRunning(_ directory: TemporaryDirectory, _ names: [String]) async -> Bool {
            for name in names where await pids(directory, name).count != 1 { return false }
            return true
        }

        /// Whether `name` has one live command, another than `old`.
        static func restarted(_ directory: TemporaryDirectory, _ name: String, from old: [Int]) async -> Bool {
            let now = await pids(directory, name)
            return now.count == 1 && now != old
        }

        static func lastReload(_ directory: TemporaryDirectory) async throws -> [String: Any]? {
            let result = try await E2E.run(["status", "--json"], in: directory.path)
            return try E2E.jsonObject(result.stdout)["last_reload"] as? [String: Any]
        }

        @Test func aDaemonAddedBySavingRunsWhetherTheSaveRenamesOrWritesInPlace() async throws {
            try await Supervisor.withSupervisor("daemons:\n" + Self.ticking("first")) { directory in
                #expect(await waitUntil { Supervisor.lines(directory, "first.txt").count >= 2 })
                try Self.saveByRename(directory, "daemons:\n" + Self.ticking("first") + Self.ticking("second"))
                #expect(await waitUntil { Supervisor.lines(directory, "second.txt").count >= 2 }, "added by a rename")
                let firstRuns = try #require(try await Supervisor.status(directory)["first"]?["runs"] as? Int)

                try directory.write(
                    "daemons.yaml",
                    "daemons:\n" + Self.ticking("first") + Self.ticking("second") + Self.ticking("third")
                )
                #expect(
                    await waitUntil { Supervisor.lines(directory, "third.txt").count >= 2 },
                    "added by a write in place"
                )
                // The unchanged daemon kept its record: its run counter went on instead of starting again.
                let first = try #require(try await Supervisor.status(directory)["first"])
                #expect((first["runs"] as? Int ?? 0) >= firstRuns)
                let reload = try #require(try await Self.lastReload(directory))
                #expect(reload["ok"] as? Bool == true)
                #expect(reload["trigger"] as? String == "file")
                let plan = try #require(reload["plan"] as? [String: Any])
                #expect(plan["added"] as? [String] == ["third"])
                #expect(plan["unchanged"] as? [String] == ["first", "second"])
            }
        }

        @Test func onlyTheChangedDaemonRestartsAndARemovedOneIsGone() async throws {
            let before = "daemons:\n" + Self.long("steady") + Self.long("moving") + Self.long("leaving")
            try await Supervisor.withSupervisor(before) { directory in
                #expect(
                    await waitUntil { await Self.allRunning(directory, ["steady", "moving", "leaving"]) }
                )
                let steady = await Self.pids(directory, "steady")
                let moving = try #require(await Self.pids(directory, "moving").first)
                let leaving = try #require(await Self.pids(directory, "leaving").first)

                try Self.saveByRename(
                    directory,
                    "daemons:\n" + Self.long("steady") + Self.long("moving", interval: "2h")
                )
                #expect(await waitUntil { (try? await Self.lastReload(directory)?["ok"] as? Bool) == true })
                #expect(
                    await waitUntil {
                        await Self.restarted(directory, "moving", from: [moving])
                    }
                )
                #expect(!Supervisor.isAlive(Int32(moving)), "the changed daemon's old command is gone")
                #expect(await waitUntil { !Supervisor.isAlive(Int32(leaving)) }, "the removed daemon's command is gone")
                #expect(await Self.pids(directory, "steady") == steady, "the unchanged daemon was not touched")
                let status = try await Supervisor.status(directory)
                #expect(status["leaving"] == nil)
                #expect(status["steady"]?["runs"] as? Int == 1)
                let plan = try #require(try await Self.lastReload(directory)?["plan"] as? [String: Any])
                #expect(plan["changed"] as? [String] == ["moving"])
                #expect(plan["removed"] as? [String] == ["leaving"])
                #expect(plan["unchanged"] as? [String] == ["steady"])
            }
        }

        @Test func aBrokenSaveChangesNothingAndTheNextGoodSaveApplies() async throws {
            let good = "daemons:\n" + Self.long("keeper")
            try await Supervisor.withSupervisor(good) { directory in
                #expect(await waitUntil { await Self.pids(directory, "keeper").count == 1 })
                let keeper = await Self.pids(directory, "keeper")
                try directory.write(
                    "daemons.yaml",
                    "daemons:\n  keeper:\n    kind: periodic\n    intervall: 1h\n    command: [\"sleep\", \"300\"]\n"
                )
                #expect(await waitUntil { (try? await Self.lastReload(directory)?["ok"] as? Bool) == false })
                let errors = try #require(try await Self.lastReload(directory)?["errors"] as? [String])
                #expect(errors.count == 1)
                #expect(errors.first?.contains("daemons.yaml:4:5:") == true, "\(errors)")
                #expect(errors.first?.contains("did you mean 'interval'?") == true)
                #expect(await Self.pids(directory, "keeper") == keeper, "the daemon runs on, untouched")

                // The table says it too, with the error's line: the supervisor is found by its record, whatever the
                // file on disk holds, and the manifest is not loaded again to say so a second time.
                let table = try await E2E.run(["status"], in: directory.path)
                #expect(table.status == 0, "\(table.stderr)")
                #expect(table.stdout.contains("not applied"))
                #expect(table.stdout.contains("daemons.yaml:4:5:"))
                #expect(table.stderr.isEmpty, "\(table.stderr)")
                // With --set the manifest is loaded, and its supervisor still reached, with a warning.
                let overridden = try await E2E.run(
                    ["--set", "daemons.keeper.enabled=true", "status"],
                    in: directory.path
                )
                #expect(overridden.status == 0, "\(overridden.stderr)")
                #expect(overridden.stderr.contains("is not valid now"))
                let reload = try await E2E.run(["reload"], in: directory.path)
                #expect(reload.status == 2)
                #expect(reload.stderr.contains("intervall"))
                let log = try String(
                    contentsOfFile: directory.url(".orchestrate/logs/orchestrate.log"),
                    encoding: .utf8
                )
                #expect(log.contains("daemons.yaml:4:5:"))

                try directory.write("daemons.yaml", good + Self.ticking("fixed"))
                #expect(
                    await waitUntil { Supervisor.lines(directory, "fixed.txt").count >= 1 },
                    "the fixed save is applied"
                )
                #expect(await Self.pids(directory, "keeper") == keeper)
            }
        }

        @Test func aChangeUnderEnvRestartsExactlyTheDaemonsItReaches() async throws {
            // `plain` takes REGION from the top-level env; `own` and `port` set their own REGION, so the change does not
            // reach them; `port` takes its argument from the env_file.
            func manifest(region: String) -> String {
                """
                env_file: settings.env
                env: {REGION: \(region)}
                daemons:
                \(Self.long("plain"))\(Self.long("own", extra: "    env: {REGION: fixed}"))
                  port:
                    kind: periodic
                    interval: 1h
                    run_on_start: true
                    command: ["sleep", "${PORT}"]
                    env: {REGION: fixed}

                """
            }
            let directory = try TemporaryDirectory(prefix: "e2e-env")
            defer { directory.remove() }
            try directory.write("settings.env", "PORT=300\n")
            try directory.write("daemons.yaml", manifest(region: "eu"))
            let up = try await E2E.run(["up", "-d", "--wait"], in: directory.path)
            #expect(up.status == 0, "\(up.stderr)")
            defer {
                _ = try? E2E.run(["down"], in: directory.path)
                if let pid = Supervisor.lockHolder(directory) { kill(pid, SIGKILL) }
            }
            #expect(await waitUntil { await Self.allRunning(directory, ["plain", "own", "port"]) })
            let (plain, own, port) = (
                await Self.pids(directory, "plain"), await Self.pids(directory, "own"),
                await Self.pids(directory, "port")
            )

            try Self.saveByRename(directory, manifest(region: "us"))
            #expect(await waitUntil { await Self.restarted(directory, "plain", from: plain) })
            #expect(await Self.pids(directory, "own") == own)
            #expect(await Self.pids(directory, "port") == port)

            // A save of the env_file is a change of the manifest: the daemon that reads PORT restarts, alone.
            try directory.write("settings.env", "PORT=301\n")
            #expect(await waitUntil { await Self.restarted(directory, "port", from: port) })
            let plan = try #require(try await Self.lastReload(directory)?["plan"] as? [String: Any])
            #expect(plan["changed"] as? [String] == ["port"])
            #expect(await Self.pids(directory, "own") == own)
        }

        @Test func manualModeWaitsForReloadOrSIGHUPAndDryRunAppliesNothing() async throws {
            let before = "reload: manual\ndaemons:\n" + Self.long("base")
            try await Supervisor.withSupervisor(before) { directory in
                let supervisor = try #require(Supervisor.lockHolder(directory))
                try Self.saveByRename(directory, before + Self.long("extra"))
                // Nothing watches the file in manual mode. A negative can only be observed over a window: ten times
                // the debounce, after which an automatic reload would long have been recorded. Poll for one over it
                // (without blocking a cooperative thread), expecting none.
                let reloaded = await waitUntil(timeout: .milliseconds(500)) {
                    (try? await Self.lastReload(directory)) != nil
                }
                #expect(!reloaded, "a reload was recorded in manual mode")
                #expect(try await Self.lastReload(directory) == nil)

                let dryRun = try await E2E.run(["reload", "--dry-run"], in: directory.path)
                #expect(dryRun.status == 0, "\(dryRun.stderr)")
                #expect(dryRun.stdout.contains("+ extra\n"))
                #expect(dryRun.stdout.contains("= base\n"))
                #expect(dryRun.stdout.contains("dry run, nothing applied"))
                #expect(try await Supervisor.status(directory)["extra"] == nil)

                let reload = try await E2E.run(["reload"], in: directory.path)
                #expect(reload.status == 0, "\(reload.stderr)")
                #expect(reload.stdout.contains("+ extra\n"))
                #expect(reload.stdout.contains("applied: 1 added, 0 changed, 0 removed, 1 unchanged"))
                #expect(try await Supervisor.status(directory)["extra"] != nil, "applied when `reload` returns")

                try Self.saveByRename(directory, before + Self.long("extra") + Self.long("signalled"))
                kill(supervisor, SIGHUP)
                #expect(await waitUntil { (try? await Supervisor.status(directory)["signalled"]) != nil })
                #expect(try await Self.lastReload(directory)?["trigger"] as? String == "signal")
            }
        }

        @Test func theEventStreamAndTheLogRecordEachReloadWithItsPlan() async throws {
            try await Supervisor.withSupervisor("reload: manual\ndaemons:\n" + Self.long("one")) { directory in
                // A streaming client on the control socket, ended (by its PID) below.
                let stream = try APIClient.openStream(
                    "/v1/events",
                    on: .controlSocket(directory.url(".orchestrate/orchestrate.sock"))
                )
                defer { stream.close() }
                #expect(await waitUntil { stream.lines.contains("event: daemon") })
                try directory.write("daemons.yaml", "reload: manual\ndaemons:\n" + Self.long("one") + Self.long("two"))
                let reload = try await E2E.run(["reload"], in: directory.path)
                #expect(reload.status == 0, "\(reload.stderr)")
                #expect(await waitUntil { stream.lines.contains("event: reload") }, "\(stream.lines)")
                let lines = stream.lines
                let data = try #require(lines.drop { $0 != "event: reload" }.dropFirst().first)
                let event = try E2E.jsonObject(String(data.dropFirst("data: ".count)))
                #expect(event["ok"] as? Bool == true)
                #expect(event["trigger"] as? String == "api")
                #expect((event["plan"] as? [String: Any])?["added"] as? [String] == ["two"])
                let log = try String(
                    contentsOfFile: directory.url(".orchestrate/logs/orchestrate.log"),
                    encoding: .utf8
                )
                #expect(log.contains("manifest reloaded added=[\"two\"]"))
            }
        }

        @Test func aSaveDuringAReloadIsAppliedAfterItNeverInterleaved() async throws {
            // `slow` ignores SIGTERM, so changing it takes its stop_timeout (1 s) to apply: the second save arrives
            // while the first reload is still being applied.
            let slow = """
                  slow:
                    kind: periodic
                    interval: INTERVAL
                    run_on_start: true
                    stop_timeout: 1s
                    command: ["sh", "-c", "trap '' TERM; sleep 300 & wait"]

                """
            try await Supervisor.withSupervisor("daemons:\n" + slow.replacingOccurrences(of: "INTERVAL", with: "1h")) {
                directory in
                #expect(await waitUntil { await Self.pids(directory, "slow").count == 1 })
                try Self.saveByRename(directory, "daemons:\n" + slow.replacingOccurrences(of: "INTERVAL", with: "2h"))
                #expect(
                    await waitUntil {
                        (try? await Supervisor.status(directory)["slow"]?["state"] as? String) == "stopping"
                    }
                )
                try Self.saveByRename(
                    directory,
                    "daemons:\n" + slow.replacingOccurrences(of: "INTERVAL", with: "2h") + Self.ticking("extra")
                )
                #expect(await waitUntil { Supervisor.lines(directory, "extra.txt").count >= 1 })
                let log = try String(
                    contentsOfFile: directory.url(".orchestrate/logs/orchestrate.log"),
                    encoding: .utf8
                )
                let reloads = log.split(separator: "\n").filter { $0.contains("manifest reloaded") }
                #expect(reloads.count == 2, "\(reloads)")
                #expect(reloads.first?.contains("changed=[\"slow\"]") == true, "the first plan, applied first")
                #expect(reloads.last?.contains("added=[\"extra\"]") == true, "then the second")
                #expect(reloads.last?.contains("changed=[]") == true, "the second plan starts from the first's result")
            }
        }

        @Test func dryRunWithoutASupervisorListsEveryDaemon() async throws {
            try await E2E.withManifest("daemons:\n" + Self.long("one") + Self.long("two")) { directory in
                let result = try await E2E.run(["reload", "--dry-run"], in: directory.path)
                #expect(result.status == 0, "\(result.stderr)")
                #expect(result.stdout.hasPrefix("+ one\n+ two\n"))
                let live = try await E2E.run(["reload"], in: directory.path)
                #expect(live.status == 3)
                #expect(live.stderr.contains("no supervisor runs for"))
            }
        }

        @Test func reloadWithEnvRetunesTheRunningSupervisor() async throws {
            try await Supervisor.withSupervisor("daemons:\n" + Self.long("tuned")) { directory in
                #expect(await waitUntil { await Self.pids(directory, "tuned").count == 1 })
                let override = ["ORCHESTRATE__DAEMONS__TUNED__INTERVAL": "2h"]
                let plain = try await E2E.run(["reload"], in: directory.path, environment: override)
                #expect(plain.stdout.contains("= tuned"), "without --env, the supervisor's environment is used")
                let tuned = try await E2E.run(["reload", "--env"], in: directory.path, environment: override)
                #expect(tuned.status == 0, "\(tuned.stderr)")
                #expect(tuned.stdout.contains("~ tuned"))
                // Kept for later reloads: a save applies on top of it.
                try directory.write("daemons.yaml", "daemons:\n" + Self.long("tuned") + Self.ticking("later"))
                #expect(await waitUntil { Supervisor.lines(directory, "later.txt").count >= 1 })
                let plan = try #require(try await Self.lastReload(directory)?["plan"] as? [String: Any])
                #expect(plan["unchanged"] as? [String] == ["tuned"])
            }
        }
    }
}
