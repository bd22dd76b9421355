import Foundation
import OrchestrateTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension SupervisorBinaryTests {
    /// `up -d`, the control commands and `down` on real daemons, with the built binary.
    @Suite("The supervisor, end to end", .serialized)
    struct SupervisorEndToEndTests {
        /// A manifest with a periodic daemon writing a line per run, a watcher of `src/*.txt`, and a periodic daemon
        /// that fails and is retried.
        static let manifest = """
            daemons:
              tick:
                kind: periodic
                interval: 200ms
                command: ["sh", "-c", "echo run $$ORCHESTRATE_RUN >> ticks.txt"]
              atlas:
                kind: watcher
                paths: [src]
                patterns: ["**/*.txt"]
                ignore: ["**/skip/**"]
                debounce: 50ms
                command: ["sh", "-c", "cat \\"$$ORCHESTRATE_CHANGED_FILE\\" >> changes.txt; echo count=$$ORCHESTRATE_CHANGED_COUNT >> changes.txt"]
              flaky:
                kind: periodic
                interval: 1h
                run_on_start: true
                retry: {attempts: 1, backoff: 10ms}
                command: ["sh", "-c", "echo attempt >> flaky.txt; exit 3"]
            """

        /// Runs `body` with a started supervisor, and always stops it (by PID if `down` does not).
        ///
        /// `up -d --wait` must succeed unless `notReady` names the daemons it must report as not ready. `files` are
        /// written into the folder first.
        static func withSupervisor(
            _ manifest: String = manifest,
            environment: [String: String] = [:],
            notReady: [String] = [],
            files: [String: String] = [:],
            upArguments: [String] = [],
            _ body: (TemporaryDirectory) async throws -> Void
        ) async throws {
            let directory = try TemporaryDirectory(prefix: "e2e-up")
            defer { directory.remove() }
            for (name, text) in files { try directory.write(name, text) }
            try directory.write("daemons.yaml", manifest)
            try FileManager.default.createDirectory(
                atPath: directory.url("src/skip"),
                withIntermediateDirectories: true
            )
            let up = try await E2E.run(
                ["up", "-d", "--wait"] + upArguments,
                in: directory.path,
                environment: environment
            )
            #expect(up.stdout.hasPrefix("orchestrate: started (pid "))
            if notReady.isEmpty {
                #expect(up.status == 0, "\(up.stderr)")
            } else {
                #expect(up.status == 1)
                // Warnings (of the manifest, of the selection) come first.
                let said = up.stderr.split(separator: "\n").drop { $0.hasPrefix("warning: ") }
                #expect(said.first == "orchestrate: these daemons are not ready (the supervisor keeps running):")
                let named = said.dropFirst().compactMap { line in
                    line.hasPrefix("  ") ? line.dropFirst(2).split(separator: ":").first.map(String.init) : nil
                }
                #expect(named == notReady, "\(up.stderr)")
            }
            var failure: (any Error)?
            do {
                try await body(directory)
            } catch {
                failure = error
            }
            _ = try? await E2E.run(["down", "--timeout", "20s"], in: directory.path)
            if let pid = Self.lockHolder(directory) { kill(pid, SIGKILL) }
            // The supervisor `up` started, by its PID, even when its state folder is gone (a test removed it).
            if let pid = Self.startedPID(up.stdout), Self.isAlive(pid) { kill(pid, SIGKILL) }
            if let failure { throw failure }
        }

        /// The PID in `up -d`'s "orchestrate: started (pid N), …".
        static func startedPID(_ stdout: String) -> Int32? {
            guard let range = stdout.range(of: "started (pid ") else { return nil }
            return Int32(stdout[range.upperBound...].prefix { $0.isNumber })
        }

        static func lockHolder(_ directory: TemporaryDirectory) -> Int32? {
            guard
                let text = try? String(contentsOfFile: directory.url(".orchestrate/orchestrate.pid"), encoding: .utf8),
                let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), isAlive(pid)
            else { return nil }
            return pid
        }

        /// The processes of group `group` that are alive (zombies do not count: this sandbox's init does not reap
        /// the orphans a detached supervisor leaves once it exits).
        static func liveMembers(ofGroup group: Int32) -> [Int32] {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
            return entries.compactMap(Int32.init).filter { pid in
                guard let fields = statFields(pid) else { return false }
                return fields.count > 2 && fields[0] != "Z" && Int32(fields[2]) == group
            }
        }

        /// Whether `pid` runs (a zombie does not).
        static func isAlive(_ pid: Int32) -> Bool {
            guard let fields = statFields(pid) else { return false }
            return fields.first != "Z"
        }

        /// The fields of `/proc/PID/stat` after the command name (state, ppid, pgrp, ...); nil once it is gone.
        static func statFields(_ pid: Int32) -> [Substring]? {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            return stat[stat.index(after: close)...].split(separator: " ")
        }

        static func lines(_ directory: TemporaryDirectory, _ file: String) -> [String] {
            ((try? String(contentsOfFile: directory.url(file), encoding: .utf8)) ?? "").split(separator: "\n").map(
                String.init
            )
        }

        static func status(_ directory: TemporaryDirectory) async throws -> [String: [String: Any]] {
            let result = try await E2E.run(["status", "--json"], in: directory.path)
            #expect(result.status == 0, "\(result.stderr)")
            let document = try E2E.jsonObject(result.stdout)
            let daemons = try #require(document["daemons"] as? [[String: Any]])
            return Dictionary(uniqueKeysWithValues: daemons.map { ($0["name"] as? String ?? "", $0) })
        }

        @Test func periodicAndWatcherDaemonsRunAndDownLeavesNothing() async throws {
            try await Self.withSupervisor { directory in
                // The periodic daemon runs on its schedule: counted from its own output.
                #expect(await waitUntil { Self.lines(directory, "ticks.txt").count >= 3 })
                #expect(Self.lines(directory, "ticks.txt").prefix(3) == ["run 1", "run 2", "run 3"])

                // A non-matching and an ignored file run nothing; a matching one runs the watcher once with its path.
                try directory.write("src/notes.md", "x")
                try directory.write("src/skip/ignored.txt", "x")
                try directory.write("src/a.txt", "hello")
                #expect(await waitUntil { Self.lines(directory, "changes.txt").count >= 2 })
                #expect(Self.lines(directory, "changes.txt") == [directory.url("src/a.txt"), "count=1"])

                // A failing run is counted and retried while its schedule goes on.
                #expect(await waitUntil { Self.lines(directory, "flaky.txt").count == 2 })
                let flaky = try #require(try await Self.status(directory)["flaky"])
                #expect(flaky["failures"] as? Int == 2)
                #expect(flaky["state"] as? String == "idle")
                #expect((flaky["last_run"] as? [String: Any])?["exit_code"] as? Int == 3)
                #expect(flaky["next_run"] is String)

                // trigger runs a daemon now; --wait returns its exit status.
                let trigger = try await E2E.run(["trigger", "flaky", "--wait"], in: directory.path)
                #expect(trigger.status == 3)
                #expect(trigger.stdout.hasPrefix("flaky: exited with status 3"))
                let ok = try await E2E.run(["trigger", "tick", "--wait"], in: directory.path)
                #expect(ok.status == 0, "\(ok.stderr)")

                let table = try await E2E.run(["status"], in: directory.path)
                #expect(table.status == 0)
                #expect(table.stdout.contains("tick"))
                #expect(table.stdout.contains("periodic"))
                let logs = try await E2E.run(["logs", "tick", "-n", "2"], in: directory.path)
                #expect(logs.stdout.split(separator: "\n").allSatisfy { $0.hasPrefix("tick | 20") })

                // A second supervisor for the same manifest is refused while the first runs.
                let second = try await E2E.run(["up", "-d"], in: directory.path)
                #expect(second.status == 1)
                #expect(second.stderr.contains("already running"))

                let supervisor = try #require(Self.lockHolder(directory))
                let down = try await E2E.run(["down"], in: directory.path)
                #expect(down.status == 0, "\(down.stderr)")
                #expect(
                    await waitUntil { Self.liveMembers(ofGroup: supervisor).isEmpty },
                    "nothing of its process group is left"
                )
                #expect(!FileManager.default.fileExists(atPath: directory.url(".orchestrate/orchestrate.sock")))
                let log = try String(
                    contentsOfFile: directory.url(".orchestrate/logs/orchestrate.log"),
                    encoding: .utf8
                )
                #expect(!log.contains("no longer watched"), "stopping is not a lost manifest watch")
                let after = try await E2E.run(["status"], in: directory.path)
                #expect(after.status == 3)
                #expect(after.stderr.contains("no supervisor runs for"))
            }
        }

        @Test func aWatcherThatCannotWatchIsRestartedThenParkedAsFailed() async throws {
            let manifest = """
                daemons:
                  blind:
                    kind: watcher
                    paths: [missing]
                    command: "true"
                    restart: {policy: on-failure, backoff: {initial: 10ms, max: 40ms}, limit: {burst: 3, window: 1m}}
                """
            // `up --wait` waits until it is parked, and says so.
            try await Self.withSupervisor(manifest, notReady: ["blind"]) { directory in
                #expect(
                    await waitUntil { (try? await Self.status(directory)["blind"]?["state"] as? String) == "failed" }
                )
                let blind = try #require(try await Self.status(directory)["blind"])
                #expect(blind["restarts"] as? Int == 2)
                #expect((blind["last_error"] as? String)?.contains("missing") == true)
                // `restart` revives a daemon parked as failed (it fails again: the folder is still missing).
                let restart = try await E2E.run(["restart", "blind"], in: directory.path)
                #expect(restart.status == 0, "\(restart.stderr)")
            }
        }

        @Test func childrenDieWithAKilledSupervisorAndTheNextUpIsClean() async throws {
            let manifest = """
                daemons:
                  long:
                    kind: periodic
                    interval: 1h
                    run_on_start: true
                    command: ["sh", "-c", "sleep 300 & echo $$! > grandchild.pid; wait"]
                """
            try await Self.withSupervisor(manifest) { directory in
                #expect(
                    await waitUntil {
                        ((try? await Self.status(directory)["long"]?["pids"] as? [Int]) ?? []).count == 1
                    }
                )
                let child = try #require((try await Self.status(directory)["long"]?["pids"] as? [Int])?.first)
                let supervisor = try #require(Self.lockHolder(directory))
                kill(supervisor, SIGKILL)
                #expect(await waitUntil { !Self.isAlive(Int32(child)) }, "the child dies with its supervisor")
                // The lock is free once the last of its threads has gone, which can be after the process shows as
                // a zombie: wait until the CLI itself sees no supervisor.
                #expect(await waitUntil { (try? await E2E.run(["status"], in: directory.path))?.status == 3 })
                // The grandchild shares the command's process group but not its parent-death signal: it outlives
                // the killed supervisor, and the next supervisor ends it from the recorded groups.
                let grandchild = try #require(Self.lines(directory, "grandchild.pid").first.flatMap { Int32($0) })
                #expect(Self.isAlive(grandchild))
                let again = try await E2E.run(["up", "-d", "--wait"], in: directory.path)
                #expect(again.status == 0, "\(again.stderr)")
                #expect(
                    await waitUntil { !Self.isAlive(grandchild) },
                    "the next up ends what the killed supervisor left"
                )
                #expect(
                    await waitUntil {
                        ((try? await Self.status(directory)["long"]?["pids"] as? [Int]) ?? []).count == 1
                    }
                )
            }
        }

        @Test func straysThatLeaveTheirGroupAreReapedWhileRunningAndEndedByDown() async throws {
            // Both strays call setsid (the command waits until they have), so the kill of the command's group after
            // its run misses them: the supervisor, a child subreaper, adopts them. The short one must be reaped when
            // it exits (no zombie); the one that ignores SIGTERM must be gone once `down` returns.
            let manifest = """
                daemons:
                  stray:
                    kind: periodic
                    interval: 1h
                    command: |
                      setsid sleep 0.5 &
                      echo $$! > short.pid
                      setsid sh -c 'trap "" TERM; sleep 300; true' &
                      echo $$! > long.pid
                      for pid in $$(cat short.pid long.pid); do
                        until [ "$$(cut -d' ' -f6 /proc/$$pid/stat)" = "$$pid" ]; do sleep 0.01; done
                      done
                """
            try await Self.withSupervisor(manifest) { directory in
                let supervisor = try #require(Self.lockHolder(directory))
                let run = try await E2E.run(["trigger", "stray", "--wait"], in: directory.path)
                #expect(run.status == 0, "\(run.stderr)")
                let short = try #require(Self.lines(directory, "short.pid").first.flatMap { Int32($0) })
                let long = try #require(Self.lines(directory, "long.pid").first.flatMap { Int32($0) })
                #expect(
                    await waitUntil { !FileManager.default.fileExists(atPath: "/proc/\(short)") },
                    "the exited stray is reaped, not left a zombie"
                )
                #expect(Self.isAlive(long))
                #expect(Self.parent(of: long) == supervisor, "the stray was adopted by the supervisor")
                let down = try await E2E.run(["down"], in: directory.path)
                #expect(down.status == 0, "\(down.stderr)")
                #expect(!Self.isAlive(long), "down ends the stray that ignores SIGTERM")
                let log = try String(
                    contentsOfFile: directory.url(".orchestrate/logs/orchestrate.log"),
                    encoding: .utf8
                )
                #expect(log.contains("ended processes that left their command's group"))
            }
        }

        @Test func triggerWaitWaitsForTheQueuedRunAndFailsWhenSkipped() async throws {
            // Each daemon's first run (run_on_start) holds until the test removes its gate; a trigger meanwhile is
            // queued behind it (overlap: queue, on_busy: queue) or skipped (overlap: skip).
            let held = """
                    run_on_start: true
                    command: |
                      echo "$$ORCHESTRATE_RUN" >> $$ORCHESTRATE_DAEMON.runs
                      if [ "$$ORCHESTRATE_RUN" = 1 ]; then
                        touch $$ORCHESTRATE_DAEMON.started
                        while [ -e gate ]; do sleep 0.02; done
                      fi
                      exit $$((6 + ORCHESTRATE_RUN))
                """
            let manifest = """
                daemons:
                  queued:
                    kind: periodic
                    interval: 1h
                    overlap: queue
                \(held)
                  skipped:
                    kind: periodic
                    interval: 1h
                \(held)
                  watched:
                    kind: watcher
                    paths: [src]
                \(held)
                """
            try await Self.withSupervisor(manifest, files: ["gate": "", "src/a.txt": ""]) { directory in
                for name in ["queued", "skipped", "watched"] {
                    #expect(
                        await waitUntil { FileManager.default.fileExists(atPath: directory.url("\(name).started")) }
                    )
                }
                async let queued = E2E.run(["trigger", "queued", "--wait"], in: directory.path)
                async let watched = E2E.run(["trigger", "watched", "--wait"], in: directory.path)
                let skipped = try await E2E.run(["trigger", "skipped", "--wait"], in: directory.path)
                #expect(skipped.status == 1)
                #expect(skipped.stderr.contains("skipped: a run is in progress"), "\(skipped.stderr)")
                try FileManager.default.removeItem(atPath: directory.url("gate"))
                // The waiting triggers answer with the queued run's status (run 2 exits 8), not the first run's (7).
                let (first, second) = try await (queued, watched)
                #expect(first.status == 8, "\(first.stdout) \(first.stderr)")
                #expect(first.stdout.hasPrefix("queued: exited with status 8"))
                #expect(second.status == 8, "\(second.stdout) \(second.stderr)")
                #expect(Self.lines(directory, "queued.runs") == ["1", "2"])
                #expect(Self.lines(directory, "skipped.runs") == ["1"])
            }
        }

        /// The parent PID of `pid`, from `/proc`.
        static func parent(of pid: Int32) -> Int32? {
            guard let fields = statFields(pid), fields.count > 1 else { return nil }
            return Int32(fields[1])
        }

        @Test func commandsAgainstNoSupervisor() async throws {
            try await E2E.withManifest("daemons:\n  t: {kind: periodic, interval: 1s, command: \"true\"}\n") {
                directory in
                for arguments in [["status"], ["status", "--json"], ["trigger", "t"], ["stop", "t"], ["down"]] {
                    let result = try await E2E.run(arguments, in: directory.path)
                    #expect(result.status == 3, "\(arguments): \(result.stderr)")
                    #expect(result.stderr.contains("no supervisor runs for"))
                }
            }
        }

        @Test func theControlAPIOverTCPNeedsItsKey() async throws {
            let port = try #require(freeLoopbackPort())
            let manifest = """
                control: {http: "127.0.0.1:\(port)", api_key_env: CONTROL_KEY}
                daemons:
                  t: {kind: periodic, interval: 1h, command: "true"}
                """
            let directory = try TemporaryDirectory(prefix: "e2e-http")
            defer { directory.remove() }
            try directory.write("daemons.yaml", manifest)
            let up = try await E2E.run(
                ["up", "-d", "--wait"],
                in: directory.path,
                environment: ["CONTROL_KEY": "s3cret"]
            )
            #expect(up.status == 0, "\(up.stderr)")
            defer {
                _ = try? E2E.run(["down"], in: directory.path)
                if let pid = Self.lockHolder(directory) { kill(pid, SIGKILL) }
            }
            let server = APIServer.controlHTTP("127.0.0.1:\(port)")
            let anonymous = try await APIClient.send("GET", "/v1/status", to: server)
            #expect(anonymous.status == 401)
            let wrong = try await APIClient.send("GET", "/v1/status", to: server.with(key: "nope"))
            #expect(wrong.status == 401)
            let allowed = try await APIClient.send("GET", "/v1/status", to: server.with(key: "s3cret"))
            let document = try allowed.object()
            #expect((document["daemons"] as? [[String: Any]])?.first?["name"] as? String == "t")
        }

        @Test func aPublicControlAddressWithoutAKeyIsRefused() async throws {
            try await E2E.withManifest("control: {http: \"0.0.0.0:9400\"}\ndaemons: {}\n") { directory in
                let result = try await E2E.run(["validate"], in: directory.path)
                #expect(result.status == 2)
                #expect(
                    result.stderr.contains(
                        "control.http: serving the control API on 0.0.0.0:9400, which is not loopback"
                    )
                )
            }
        }
    }
}

/// The end-to-end suites that keep a supervisor running, one test at a time between them, so that a 2-core
/// machine is not asked to run several supervisors, their commands and the rest of the suite at once. Their
/// tests are async and wait for the binary on threads of their own (`offPool`), never on the cooperative pool,
/// which every asynchronous test shares.
@Suite(.serialized)
enum SupervisorBinaryTests {}
