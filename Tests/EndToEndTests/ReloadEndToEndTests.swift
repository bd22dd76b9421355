import Foundation
import OrchestrateTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension SupervisorBinaryTests {
    /// Hot reload with the built binary (DESIGN.md §3, §5, §6): saves of the manifest applied by themselves, only
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
        static func pids(_ directory: TemporaryDirectory, _ name: String) -> [Int] {
            ((try? Supervisor.status(directory)[name]?["pids"] as? [Int]) ?? nil) ?? []
        }

        static func lastReload(_ directory: TemporaryDirectory) throws -> [String: Any]? {
            let result = try E2E.run(["status", "--json"], in: directory.path)
            return try E2E.jsonObject(result.stdout)["last_reload"] as? [String: Any]
        }

        @Test func aDaemonAddedBySavingRunsWhetherTheSaveRenamesOrWritesInPlace() throws {
            try Supervisor.withSupervisor("daemons:\n" + Self.ticking("first")) { directory in
                #expect(eventually { Supervisor.lines(directory, "first.txt").count >= 2 })
                try Self.saveByRename(directory, "daemons:\n" + Self.ticking("first") + Self.ticking("second"))
                #expect(eventually { Supervisor.lines(directory, "second.txt").count >= 2 }, "added by a rename")
                let firstRuns = try #require(try Supervisor.status(directory)["first"]?["runs"] as? Int)

                try directory.write(
                    "daemons.yaml",
                    "daemons:\n" + Self.ticking("first") + Self.ticking("second") + Self.ticking("third")
                )
                #expect(eventually { Supervisor.lines(directory, "third.txt").count >= 2 }, "added by a write in place")
                // The unchanged daemon kept its record: its run counter went on instead of starting again.
                let first = try #require(try Supervisor.status(directory)["first"])
                #expect((first["runs"] as? Int ?? 0) >= firstRuns)
                let reload = try #require(try Self.lastReload(directory))
                #expect(reload["ok"] as? Bool == true)
                #expect(reload["trigger"] as? String == "file")
                let plan = try #require(reload["plan"] as? [String: Any])
                #expect(plan["added"] as? [String] == ["third"])
                #expect(plan["unchanged"] as? [String] == ["first", "second"])
            }
        }

        @Test func onlyTheChangedDaemonRestartsAndARemovedOneIsGone() throws {
            let before = "daemons:\n" + Self.long("steady") + Self.long("moving") + Self.long("leaving")
            try Supervisor.withSupervisor(before) { directory in
                #expect(
                    eventually { ["steady", "moving", "leaving"].allSatisfy { Self.pids(directory, $0).count == 1 } }
                )
                let steady = Self.pids(directory, "steady")
                let moving = try #require(Self.pids(directory, "moving").first)
                let leaving = try #require(Self.pids(directory, "leaving").first)

                try Self.saveByRename(
                    directory,
                    "daemons:\n" + Self.long("steady") + Self.long("moving", interval: "2h")
                )
                #expect(eventually { (try? Self.lastReload(directory)?["ok"] as? Bool) == true })
                #expect(
                    eventually {
                        Self.pids(directory, "moving").count == 1 && Self.pids(directory, "moving") != [moving]
                    }
                )
                #expect(!Supervisor.isAlive(Int32(moving)), "the changed daemon's old command is gone")
                #expect(eventually { !Supervisor.isAlive(Int32(leaving)) }, "the removed daemon's command is gone")
                #expect(Self.pids(directory, "steady") == steady, "the unchanged daemon was not touched")
                let status = try Supervisor.status(directory)
                #expect(status["leaving"] == nil)
                #expect(status["steady"]?["runs"] as? Int == 1)
                let plan = try #require(try Self.lastReload(directory)?["plan"] as? [String: Any])
                #expect(plan["changed"] as? [String] == ["moving"])
                #expect(plan["removed"] as? [String] == ["leaving"])
                #expect(plan["unchanged"] as? [String] == ["steady"])
            }
        }

        @Test func aBrokenSaveChangesNothingAndTheNextGoodSaveApplies() throws {
            let good = "daemons:\n" + Self.long("keeper")
            try Supervisor.withSupervisor(good) { directory in
                #expect(eventually { Self.pids(directory, "keeper").count == 1 })
                let keeper = Self.pids(directory, "keeper")
                try directory.write(
                    "daemons.yaml",
                    "daemons:\n  keeper:\n    kind: periodic\n    intervall: 1h\n    command: [\"sleep\", \"300\"]\n"
                )
                #expect(eventually { (try? Self.lastReload(directory)?["ok"] as? Bool) == false })
                let errors = try #require(try Self.lastReload(directory)?["errors"] as? [String])
                #expect(errors.count == 1)
                #expect(errors.first?.contains("daemons.yaml:4:5:") == true, "\(errors)")
                #expect(errors.first?.contains("did you mean 'interval'?") == true)
                #expect(Self.pids(directory, "keeper") == keeper, "the daemon runs on, untouched")

                // The table says it too, with the error's line, although the manifest on disk is not valid.
                let table = try E2E.run(["status"], in: directory.path)
                #expect(table.status == 0, "\(table.stderr)")
                #expect(table.stdout.contains("not applied"))
                #expect(table.stdout.contains("daemons.yaml:4:5:"))
                #expect(table.stderr.contains("is not valid now"))
                let reload = try E2E.run(["reload"], in: directory.path)
                #expect(reload.status == 2)
                #expect(reload.stderr.contains("intervall"))
                let log = try String(
                    contentsOfFile: directory.url(".orchestrate/logs/orchestrate.log"),
                    encoding: .utf8
                )
                #expect(log.contains("daemons.yaml:4:5:"))

                try directory.write("daemons.yaml", good + Self.ticking("fixed"))
                #expect(eventually { Supervisor.lines(directory, "fixed.txt").count >= 1 }, "the fixed save is applied")
                #expect(Self.pids(directory, "keeper") == keeper)
            }
        }

        @Test func aChangeUnderEnvRestartsExactlyTheDaemonsItReaches() throws {
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
            let up = try E2E.run(["up", "-d", "--wait"], in: directory.path)
            #expect(up.status == 0, "\(up.stderr)")
            defer {
                _ = try? E2E.run(["down"], in: directory.path)
                if let pid = Supervisor.lockHolder(directory) { kill(pid, SIGKILL) }
            }
            #expect(eventually { ["plain", "own", "port"].allSatisfy { Self.pids(directory, $0).count == 1 } })
            let (plain, own, port) = (
                Self.pids(directory, "plain"), Self.pids(directory, "own"), Self.pids(directory, "port")
            )

            try Self.saveByRename(directory, manifest(region: "us"))
            #expect(eventually { Self.pids(directory, "plain").count == 1 && Self.pids(directory, "plain") != plain })
            #expect(Self.pids(directory, "own") == own)
            #expect(Self.pids(directory, "port") == port)

            // A save of the env_file is a change of the manifest: the daemon that reads PORT restarts, alone.
            try directory.write("settings.env", "PORT=301\n")
            #expect(eventually { Self.pids(directory, "port").count == 1 && Self.pids(directory, "port") != port })
            let plan = try #require(try Self.lastReload(directory)?["plan"] as? [String: Any])
            #expect(plan["changed"] as? [String] == ["port"])
            #expect(Self.pids(directory, "own") == own)
        }

        @Test func manualModeWaitsForReloadOrSIGHUPAndDryRunAppliesNothing() throws {
            let before = "reload: manual\ndaemons:\n" + Self.long("base")
            try Supervisor.withSupervisor(before) { directory in
                let supervisor = try #require(Supervisor.lockHolder(directory))
                try Self.saveByRename(directory, before + Self.long("extra"))
                // Nothing watches the file in manual mode. A negative can only be observed over a window: ten times
                // the debounce, after which an automatic reload would long have been recorded.
                usleep(500_000)
                #expect(try Self.lastReload(directory) == nil)

                let dryRun = try E2E.run(["reload", "--dry-run"], in: directory.path)
                #expect(dryRun.status == 0, "\(dryRun.stderr)")
                #expect(dryRun.stdout.contains("+ extra\n"))
                #expect(dryRun.stdout.contains("= base\n"))
                #expect(dryRun.stdout.contains("dry run, nothing applied"))
                #expect(try Supervisor.status(directory)["extra"] == nil)

                let reload = try E2E.run(["reload"], in: directory.path)
                #expect(reload.status == 0, "\(reload.stderr)")
                #expect(reload.stdout.contains("+ extra\n"))
                #expect(reload.stdout.contains("applied: 1 added, 0 changed, 0 removed, 1 unchanged"))
                #expect(try Supervisor.status(directory)["extra"] != nil, "applied when `reload` returns")

                try Self.saveByRename(directory, before + Self.long("extra") + Self.long("signalled"))
                kill(supervisor, SIGHUP)
                #expect(eventually { (try? Supervisor.status(directory)["signalled"]) != nil })
                #expect(try Self.lastReload(directory)?["trigger"] as? String == "signal")
            }
        }

        @Test func theEventStreamAndTheLogRecordEachReloadWithItsPlan() throws {
            try Supervisor.withSupervisor("reload: manual\ndaemons:\n" + Self.long("one")) { directory in
                // A streaming client on the control socket, ended by PID below.
                let output = try directory.write("events.txt", "")
                let curl = Process()
                curl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                curl.arguments = [
                    "curl", "-sN", "--max-time", "60", "--unix-socket", directory.url(".orchestrate/orchestrate.sock"),
                    "http://localhost/v1/events",
                ]
                curl.standardOutput = FileHandle(forWritingAtPath: output)
                try curl.run()
                defer {
                    kill(curl.processIdentifier, SIGKILL)
                    curl.waitUntilExit()
                }
                #expect(eventually { Supervisor.lines(directory, "events.txt").contains("event: daemon") })
                try directory.write("daemons.yaml", "reload: manual\ndaemons:\n" + Self.long("one") + Self.long("two"))
                let reload = try E2E.run(["reload"], in: directory.path)
                #expect(reload.status == 0, "\(reload.stderr)")
                #expect(
                    eventually { Supervisor.lines(directory, "events.txt").contains("event: reload") },
                    "\(Supervisor.lines(directory, "events.txt"))"
                )
                let lines = Supervisor.lines(directory, "events.txt")
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

        @Test func dryRunWithoutASupervisorListsEveryDaemon() throws {
            try E2E.withManifest("daemons:\n" + Self.long("one") + Self.long("two")) { directory in
                let result = try E2E.run(["reload", "--dry-run"], in: directory.path)
                #expect(result.status == 0, "\(result.stderr)")
                #expect(result.stdout.hasPrefix("+ one\n+ two\n"))
                let live = try E2E.run(["reload"], in: directory.path)
                #expect(live.status == 3)
                #expect(live.stderr.contains("not running"))
            }
        }

        @Test func reloadWithEnvRetunesTheRunningSupervisor() throws {
            try Supervisor.withSupervisor("daemons:\n" + Self.long("tuned")) { directory in
                #expect(eventually { Self.pids(directory, "tuned").count == 1 })
                let override = ["ORCHESTRATE__DAEMONS__TUNED__INTERVAL": "2h"]
                let plain = try E2E.run(["reload"], in: directory.path, environment: override)
                #expect(plain.stdout.contains("= tuned"), "without --env, the supervisor's environment is used")
                let tuned = try E2E.run(["reload", "--env"], in: directory.path, environment: override)
                #expect(tuned.status == 0, "\(tuned.stderr)")
                #expect(tuned.stdout.contains("~ tuned"))
                // Kept for later reloads: a save applies on top of it.
                try directory.write("daemons.yaml", "daemons:\n" + Self.long("tuned") + Self.ticking("later"))
                #expect(eventually { Supervisor.lines(directory, "later.txt").count >= 1 })
                let plan = try #require(try Self.lastReload(directory)?["plan"] as? [String: Any])
                #expect(plan["unchanged"] as? [String] == ["tuned"])
            }
        }
    }
}
