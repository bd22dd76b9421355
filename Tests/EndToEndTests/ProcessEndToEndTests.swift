import Foundation
import OrchestrateTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension SupervisorBinaryTests {
    /// The process kind with the built binary and real programs: readiness gating the start of
    /// dependents, crash loops backing off and parking, SIGTERM-proof trees stopped, reverse-order `down`, failed
    /// dependencies, and reloads that keep or restart processes.
    @Suite("Processes and dependencies, end to end", .serialized)
    struct ProcessEndToEndTests {
        typealias Supervisor = SupervisorEndToEndTests

        /// The Unix times in the lines of daemon `name`'s log that contain `marker` (`listening 1795739456.69`).
        static func times(_ directory: TemporaryDirectory, _ name: String, _ marker: String) -> [Double] {
            Supervisor.lines(directory, ".orchestrate/logs/\(name).log").compactMap { line in
                guard let range = line.range(of: marker + " ") else { return nil }
                return Double(line[range.upperBound...].prefix { !$0.isWhitespace })
            }
        }

        /// The instants of the `[orchestrate] started (pid N)` notes in daemon `name`'s log, in seconds.
        static func starts(_ directory: TemporaryDirectory, _ name: String) -> [Double] {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            return Supervisor.lines(directory, ".orchestrate/logs/\(name).log").compactMap { line in
                guard line.contains("[orchestrate] started (pid "), let stamp = line.split(separator: " ").first
                else { return nil }
                return formatter.date(from: String(stamp))?.timeIntervalSince1970
            }
        }

        static func state(_ directory: TemporaryDirectory, _ name: String) async -> String? {
            try? await Supervisor.status(directory)[name]?["state"] as? String
        }

        @Test func readinessGatesTheStartOfDependents() async throws {
            let web = try #require(freeLoopbackPort())
            let tcp = try #require(freeLoopbackPort())
            let manifest = """
                daemons:
                  web:
                    kind: process
                    command: [python3, server.py, http, '\(web)', '0.8']
                    ready: {http: 'http://127.0.0.1:\(web)/', period: 50ms}
                  listener:
                    kind: process
                    command: [python3, server.py, tcp, '\(tcp)', '0.4']
                    ready: {tcp: '127.0.0.1:\(tcp)', period: 50ms}
                    depends_on: [web]
                  client:
                    kind: process
                    command: 'echo started $$(date +%s.%N); exec sleep 300'
                    depends_on: [web, listener]
                  sync:
                    kind: periodic
                    interval: 1h
                    run_on_start: true
                    command: 'echo started $$(date +%s.%N)'
                    depends_on: {listener: ready}
                """
            try await Supervisor.withSupervisor(manifest, files: ["server.py": TestPrograms.lateServer]) { directory in
                // `up --wait` returned once every daemon was ready.
                let status = try await Supervisor.status(directory)
                #expect(
                    status.mapValues { $0["state"] as? String ?? "" } == [
                        "web": "running", "listener": "running", "client": "running", "sync": "idle",
                    ]
                )
                let webListening = try #require(Self.times(directory, "web", "listening").first)
                let listenerListening = try #require(Self.times(directory, "listener", "listening").first)
                let clientStarted = try #require(Self.times(directory, "client", "started").first)
                let syncStarted = try #require(Self.times(directory, "sync", "started").first)
                // The listener's program started only after web answered, so it listened 0.4 s later at least.
                #expect(listenerListening >= webListening + 0.4)
                #expect(clientStarted >= listenerListening)
                #expect(syncStarted >= listenerListening)
                let clientLog = Supervisor.lines(directory, ".orchestrate/logs/client.log").joined(separator: "\n")
                #expect(clientLog.contains("[orchestrate] waiting for web to be ready (web is "))
                #expect(clientLog.contains("[orchestrate] dependencies met: starting"))
            }
        }

        @Test func aCrashLoopBacksOffWithGrowingDelaysThenParksFailed() async throws {
            let manifest = """
                daemons:
                  crash:
                    kind: process
                    command: 'echo crashing; exit 3'
                    ready: {log_line: '^never printed$'}
                    restart: {policy: always, backoff: {initial: 100ms, max: 2s}, limit: {burst: 5, window: 1m}}
                """
            // It never gets to be ready (no line matches), so `up --wait` waits until it is parked.
            try await Supervisor.withSupervisor(manifest, notReady: ["crash"]) { directory in
                #expect(await waitUntil { await Self.state(directory, "crash") == "failed" })
                let crash = try #require(try await Supervisor.status(directory)["crash"])
                #expect(crash["runs"] as? Int == 5)
                #expect(crash["failures"] as? Int == 5)
                #expect(crash["restarts"] as? Int == 4)
                #expect((crash["last_error"] as? String)?.hasSuffix("(5 exits within 1m)") == true)
                let starts = Self.starts(directory, "crash")
                #expect(starts.count == 5)
                let gaps = zip(starts.dropFirst(), starts).map { $0 - $1 }
                // Each restart waited at least its backoff: 100, 200, 400 and 800 ms.
                for (gap, backoff) in zip(gaps, [0.1, 0.2, 0.4, 0.8]) { #expect(gap >= backoff - 0.002, "\(gaps)") }
                // And grew: the last wait is the longest (a strict order of all four fails when a busy machine delays
                // one start by 100 ms).
                #expect(gaps.last ?? 0 > gaps.dropLast().max() ?? 0, "growing delays: \(gaps)")
                // Parked: nothing restarts it now.
                let runs = crash["runs"] as? Int
                try await Task.sleep(for: .seconds(1))
                #expect(try await Supervisor.status(directory)["crash"]?["runs"] as? Int == runs)
            }
        }

        @Test func aTreeThatIgnoresSIGTERMIsGoneWithinStopTimeoutPlusASecond() async throws {
            // `tree`: a shell and two children that all ignore SIGTERM. `stray`: the leader dies of SIGTERM, but its
            // child ignores it and would outlive it.
            let manifest = """
                daemons:
                  tree:
                    kind: process
                    command: "trap '' TERM; sleep 300 & sleep 300 & wait"
                    stop_timeout: 1s
                  stray:
                    kind: process
                    command: "(trap '' TERM; exec sleep 301) & exec sleep 300"
                    stop_timeout: 1s
                """
            try await Supervisor.withSupervisor(manifest) { directory in
                for name in ["tree", "stray"] {
                    let pid = try #require(await ReloadEndToEndTests.pids(directory, name).first)
                    let group = Int32(pid)
                    #expect(
                        await waitUntil { Supervisor.liveMembers(ofGroup: group).count >= (name == "tree" ? 3 : 2) }
                    )
                    let clock = ContinuousClock()
                    let start = clock.now
                    let stop = try await E2E.run(["stop", name], in: directory.path)
                    #expect(stop.status == 0, "\(stop.stderr)")
                    #expect(await waitUntil(timeout: .seconds(5)) { Supervisor.liveMembers(ofGroup: group).isEmpty })
                    let elapsed = clock.now - start
                    #expect(elapsed < .seconds(2), "\(name): stop_timeout 1 s + 1 s, took \(elapsed)")
                    if name == "tree" {
                        #expect(elapsed >= .milliseconds(900), "only SIGKILL, after the stop timeout, ends it")
                    }
                    #expect(await waitUntil { await Self.state(directory, name) == "stopped" })
                }
            }
        }

        @Test func downStopsDependentsBeforeTheirDependencies() async throws {
            // Each records when SIGTERM reached it and exits 0.3 s later; the app depends on db.
            func service(_ name: String) -> String {
                """
                    command: "trap 'echo $$(date +%s.%N) >> \(name)-term; sleep 0.3; echo $$(date +%s.%N) >> \(name)-exit; exit 0' TERM; while :; do sleep 0.05; done"
                """
            }
            let manifest = """
                daemons:
                  db:
                    kind: process
                \(service("db"))
                  app:
                    kind: process
                \(service("app"))
                    depends_on: [db]
                """
            let directory = try TemporaryDirectory(prefix: "e2e-down")
            defer { directory.remove() }
            try directory.write("daemons.yaml", manifest)
            let up = try await E2E.run(["up", "-d", "--wait"], in: directory.path)
            #expect(up.status == 0, "\(up.stderr)")
            let down = try await E2E.run(["down"], in: directory.path)
            if let pid = Supervisor.lockHolder(directory) { kill(pid, SIGKILL) }
            #expect(down.status == 0, "\(down.stderr)")
            let appExit = try #require(Supervisor.lines(directory, "app-exit").first.flatMap(Double.init))
            let dbTerm = try #require(Supervisor.lines(directory, "db-term").first.flatMap(Double.init))
            #expect(dbTerm >= appExit, "db was told to stop only once app had stopped")
        }

        @Test func aFailedDependencyLeavesItsDependentsWaiting() async throws {
            let refusing = try LoopbackListener(listening: false)  // bound, not listening: refuses, and stays ours
            defer { refusing.stop() }
            let port = refusing.port
            let manifest = """
                daemons:
                  db:
                    kind: process
                    command: [sleep, '300']
                    ready: {tcp: '127.0.0.1:\(port)', period: 50ms, timeout: 300ms}
                    restart: {policy: never}
                  app:
                    kind: process
                    command: [sleep, '300']
                    depends_on: [db]
                  report:
                    kind: periodic
                    interval: 1h
                    run_on_start: true
                    command: "true"
                    depends_on: [app]
                """
            try await Supervisor.withSupervisor(manifest, notReady: ["db", "app", "report"]) { directory in
                let status = try await Supervisor.status(directory)
                #expect(status["db"]?["state"] as? String == "failed")
                #expect((status["db"]?["last_error"] as? String)?.hasPrefix("not ready within 300ms: ") == true)
                #expect(status["app"]?["state"] as? String == "waiting")
                #expect(status["app"]?["runs"] as? Int == 0)
                let health = try #require(status["app"]?["health"] as? [String: String])
                #expect(health["waiting_for"] == "db to be ready (db is failed)")
                #expect(status["report"]?["state"] as? String == "waiting")
                let table = try await E2E.run(["status"], in: directory.path)
                #expect(table.stdout.contains("  waiting for db to be ready (db is failed)\n"))
            }
        }

        /// `completed`: the dependency ended, whatever its status; `completed_successfully`: it ended with status 0.
        @Test func completedWaitsForAnEndAndCompletedSuccessfullyForStatusZero() async throws {
            let manifest = """
                daemons:
                  migrate:
                    kind: process
                    command: "exit 0"
                    restart: {policy: never}
                  broken:
                    kind: process
                    command: "exit 3"
                    restart: {policy: never}
                  after-any:
                    kind: process
                    command: [sleep, '300']
                    depends_on: {broken: completed}
                  after-success:
                    kind: process
                    command: [sleep, '300']
                    depends_on: {migrate: completed_successfully}
                  after-failure:
                    kind: process
                    command: [sleep, '300']
                    depends_on: {broken: completed_successfully}
                """
            try await Supervisor.withSupervisor(manifest, notReady: ["broken", "after-failure"]) { directory in
                let status = try await Supervisor.status(directory)
                #expect(status["migrate"]?["state"] as? String == "completed")
                #expect(status["broken"]?["state"] as? String == "failed")
                #expect(status["after-any"]?["state"] as? String == "running")
                #expect(status["after-success"]?["state"] as? String == "running")
                #expect(status["after-failure"]?["state"] as? String == "waiting")
                let health = try #require(status["after-failure"]?["health"] as? [String: String])
                #expect(health["waiting_for"] == "broken to complete successfully (broken is failed)")
            }
            try await E2E.withManifest(
                "daemons:\n  web: {kind: process, command: x, restart: {policy: always}}\n  a: {kind: process, command: x, depends_on: {web: completed_successfully}}\n"
            ) { directory in
                let result = try await E2E.run(["validate"], in: directory.path)
                #expect(result.status == 2)
                #expect(result.stderr.contains("'completed_successfully' needs 'web' to be"), "\(result.stderr)")
            }
        }

        @Test func reloadKeepsUnchangedProcessesAndRestartsAChangedOneWithItsFollowers() async throws {
            func manifest(_ version: String) -> String {
                """
                daemons:
                  db:
                    kind: process
                    command: [sleep, '300']
                    env: {VERSION: '\(version)'}
                  api:
                    kind: process
                    command: [sleep, '301']
                    depends_on: [db]
                    restart_with_dependencies: true
                  worker:
                    kind: process
                    command: [sleep, '302']
                    depends_on: [db]
                  other:
                    kind: process
                    command: [sleep, '303']
                """
            }
            try await Supervisor.withSupervisor(manifest("1")) { directory in
                var before: [String: [Int]] = [:]
                for name in ["db", "api", "worker", "other"] {
                    before[name] = await ReloadEndToEndTests.pids(directory, name)
                }
                try ReloadEndToEndTests.saveByRename(directory, manifest("2"))
                let reloaded = await waitUntil {
                    (try? await ReloadEndToEndTests.lastReload(directory))?["ok"] as? Bool == true
                }
                #expect(reloaded)
                let plan = try #require(try await ReloadEndToEndTests.lastReload(directory)?["plan"] as? [String: Any])
                #expect(plan["changed"] as? [String] == ["db"])
                #expect(plan["restarted"] as? [String] == ["api"])
                #expect(plan["unchanged"] as? [String] == ["worker", "other"])
                #expect(await waitUntil { await ReloadEndToEndTests.restarted(directory, "db", from: before["db"]!) })
                #expect(await waitUntil { await ReloadEndToEndTests.restarted(directory, "api", from: before["api"]!) })
                #expect(await ReloadEndToEndTests.pids(directory, "worker") == before["worker"])
                #expect(await ReloadEndToEndTests.pids(directory, "other") == before["other"])

                // `restart db` takes api along too, and leaves worker alone.
                let db = await ReloadEndToEndTests.pids(directory, "db")
                let api = await ReloadEndToEndTests.pids(directory, "api")
                let restart = try await E2E.run(["restart", "db"], in: directory.path)
                #expect(restart.status == 0, "\(restart.stderr)")
                #expect(await waitUntil { await ReloadEndToEndTests.restarted(directory, "db", from: db) })
                #expect(await waitUntil { await ReloadEndToEndTests.restarted(directory, "api", from: api) })
                #expect(await ReloadEndToEndTests.pids(directory, "worker") == before["worker"])
            }
        }
    }
}
