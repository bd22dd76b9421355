import Foundation
import OrchestrateTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension SupervisorBinaryTests {
    /// Faults the supervisor must survive with the built binary (issue 7): a child stopped by SIGSTOP, a daemon
    /// that floods its output, a crowd of clients at once, two `up`s racing, the state folder removed, the inotify watch limit, a full disk. Each checks that nothing was lost
    /// and the supervisor kept serving.
    @Suite("Faults, end to end", .serialized)
    struct FaultEndToEndTests {
        typealias Supervisor = SupervisorEndToEndTests

        static func pid(_ directory: TemporaryDirectory, _ name: String) async -> Int32? {
            await ReloadEndToEndTests.pids(directory, name).first.map(Int32.init)
        }

        /// Whether the periodic daemon that appends to `ticks.txt` runs three more times (within the deadline).
        static func keepsTicking(_ directory: TemporaryDirectory) async -> Bool {
            let ticks = Supervisor.lines(directory, "ticks.txt").count
            return await waitUntil { Supervisor.lines(directory, "ticks.txt").count >= ticks + 3 }
        }

        /// `field` of `/proc/PID/status` in KiB (`VmRSS`, `RssAnon`).
        static func statusKiB(_ pid: Int32, _ field: String) -> Int? {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
            let line = text.split(separator: "\n").first { $0.hasPrefix(field + ":") }
            return line.flatMap {
                Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
            }
        }

        @Test func aChildStoppedBySIGSTOPNeitherBlocksTheSupervisorNorOutlivesItsStop() async throws {
            let manifest = """
                daemons:
                  frozen:
                    kind: process
                    command: [sleep, '300']
                    stop_timeout: 1s
                  paused:
                    kind: process
                    command: [sleep, '301']
                """
            try await Supervisor.withSupervisor(manifest) { directory in
                let frozen = try #require(await Self.pid(directory, "frozen"))
                let paused = try #require(await Self.pid(directory, "paused"))
                kill(frozen, SIGSTOP)
                kill(paused, SIGSTOP)
                // The supervisor answers while its children are stopped.
                let status = try await Supervisor.status(directory)
                #expect(status["frozen"]?["state"] as? String == "running")
                // SIGCONT: the same process goes on, nothing restarted it.
                kill(paused, SIGCONT)
                #expect(await Self.pid(directory, "paused") == paused)
                #expect(try await Supervisor.status(directory)["paused"]?["restarts"] as? Int == 0)
                // A stopped process never sees SIGTERM (it stays pending): SIGKILL after the stop timeout ends it.
                let clock = ContinuousClock()
                let start = clock.now
                let stop = try await E2E.run(["stop", "frozen"], in: directory.path)
                #expect(stop.status == 0, "\(stop.stderr)")
                #expect(await waitUntil(timeout: .seconds(5)) { !Supervisor.isAlive(frozen) })
                #expect(clock.now - start < .seconds(2), "stop_timeout 1 s + 1 s")
                #expect(
                    await waitUntil {
                        (try? await Supervisor.status(directory)["frozen"]?["state"] as? String) == "stopped"
                    }
                )
                #expect(Supervisor.isAlive(paused))
            }
        }

        @Test func aDaemonFloodingItsOutputIsHeldToItsLogSizeAndTheSupervisorToItsMemory() async throws {
            let manifest = """
                daemons:
                  flood:
                    kind: process
                    command: [yes, 'a line of output that is written as fast as the pipe takes it']
                    log: {max_size: 64KiB, keep: 2}
                  tick:
                    kind: periodic
                    interval: 100ms
                    command: 'echo tick >> ticks.txt'
                """
            try await Supervisor.withSupervisor(manifest) { directory in
                let supervisor = try #require(Supervisor.lockHolder(directory))
                let logs = directory.url(".orchestrate/logs")
                // Let it flood for a while: many rotations.
                #expect(await waitUntil { FileManager.default.fileExists(atPath: logs + "/flood.log.2") })
                let before = try #require(Self.statusKiB(supervisor, "RssAnon"))
                try await Task.sleep(for: .seconds(2))
                let after = try #require(Self.statusKiB(supervisor, "RssAnon"))
                #expect(after - before < 16 * 1_024, "anonymous memory grew from \(before) to \(after) KiB")
                // The size limit holds: no file beyond max_size (plus one line), and no more than `keep` old files.
                let files = try FileManager.default.contentsOfDirectory(atPath: logs).filter {
                    $0.hasPrefix("flood.log")
                }
                #expect(Set(files).isSubset(of: ["flood.log", "flood.log.1", "flood.log.2"]), "\(files)")
                for file in files {
                    // The flood goes on: a rotation may have renamed the file since the listing.
                    guard let attributes = try? FileManager.default.attributesOfItem(atPath: logs + "/" + file) else {
                        continue
                    }
                    let size = try #require(attributes[.size] as? Int)
                    #expect(size <= 64 * 1_024 + 200, "\(file): \(size) bytes")
                }
                // The supervisor kept serving: the other daemon keeps ticking, and status answers.
                #expect(await Self.keepsTicking(directory))
                let status = try await E2E.run(["status"], in: directory.path)
                #expect(status.status == 0)
                #expect(status.stdout.contains("flood"))
            }
        }

        @Test func aHundredClientsAtOnceAreAllAnswered() async throws {
            let manifest = """
                daemons:
                  job:
                    kind: periodic
                    interval: 1h
                    overlap: queue
                    command: 'echo run >> runs.txt'
                """
            try await Supervisor.withSupervisor(manifest) { directory in
                let path = directory.path
                let results = try await withThrowingTaskGroup(of: CommandResult.self) { group in
                    for index in 0..<100 {
                        group.addTask {
                            try await E2E.run(index % 2 == 0 ? ["status", "--json"] : ["trigger", "job"], in: path)
                        }
                    }
                    var all: [CommandResult] = []
                    for try await result in group { all.append(result) }
                    return all
                }
                let failed = results.filter { $0.status != 0 }
                #expect(failed.isEmpty, "\(failed.prefix(3).map(\.stderr))")
                // Triggers that came while a run ran were queued, and merged into the one queued run (`overlap:
                // queue`): every run the supervisor counts happened, and none is left pending.
                #expect(
                    await waitUntil { (try? await Supervisor.status(directory)["job"]?["state"] as? String) == "idle" }
                )
                let runs = try #require(try await Supervisor.status(directory)["job"]?["runs"] as? Int)
                #expect((1...50).contains(runs))
                #expect(await waitUntil { Supervisor.lines(directory, "runs.txt").count == runs })
            }
        }

        @Test func twoUpsRacingLeaveOneSupervisorAndNoDoubleDaemons() async throws {
            let manifest = """
                daemons:
                  once:
                    kind: process
                    command: 'echo $$$$ >> started.txt; exec sleep 300'
                """
            try await E2E.withManifest(manifest) { directory in
                let path = directory.path
                async let first = E2E.run(["up", "-d", "--wait"], in: path)
                async let second = E2E.run(["up", "-d", "--wait"], in: path)
                let results = try await [first, second]
                defer {
                    _ = try? E2E.run(["down"], in: path)
                    if let pid = Supervisor.lockHolder(directory) { kill(pid, SIGKILL) }
                }
                #expect(results.filter { $0.status == 0 }.count == 1, "\(results.map(\.stderr))")
                let loser = try #require(results.first { $0.status != 0 })
                #expect(loser.stderr.contains("already running"), "\(loser.stderr)")
                let status = try await Supervisor.status(directory)
                #expect((status["once"]?["pids"] as? [Int])?.count == 1)
                #expect(await waitUntil { Supervisor.lines(directory, "started.txt").count == 1 })
                // Only one supervisor process holds this manifest: the lock's holder.
                let holder = try #require(Supervisor.lockHolder(directory))
                let supervisors = Self.processes(withArguments: ["up", "-f"]).filter { Self.cwdOrManifest($0, path) }
                #expect(supervisors == [holder], "\(supervisors) vs \(holder)")
            }
        }

        @Test func upRightAfterTheSupervisorIsKilledStartsANewOne() async throws {
            // The lock of a supervisor killed by SIGKILL is let go only when the last of its threads has exited,
            // a moment after it shows as a zombie: an `up` in that moment waits for it instead of calling the dead
            // supervisor running. Five rounds make the race likely (it was lost in about 3 of 10 tries).
            let manifest = """
                daemons:
                  app:
                    kind: process
                    command: ["sleep", "300"]
                """
            try await E2E.withManifest(manifest) { directory in
                let path = directory.path
                var killed: [Int32] = []
                defer {
                    _ = try? E2E.run(["down"], in: path)
                    if let pid = Supervisor.lockHolder(directory) { kill(pid, SIGKILL) }
                }
                for round in 1...5 {
                    let up = try await E2E.run(["up", "-d"], in: path)
                    #expect(up.status == 0, "round \(round): \(up.stderr)")
                    let pid = try #require(Supervisor.startedPID(up.stdout), "round \(round): \(up.stdout)")
                    #expect(!killed.contains(pid))
                    kill(pid, SIGKILL)
                    killed.append(pid)
                }
                let up = try await E2E.run(["up", "-d", "--wait"], in: path)
                #expect(up.status == 0, "\(up.stderr)")
                #expect((try await Supervisor.status(directory)["app"]?["pids"] as? [Int])?.count == 1)
                let down = try await E2E.run(["down"], in: path)
                #expect(down.status == 0, "\(down.stderr)")
                // The killed supervisors are zombies; reap those that are this process's children (a subreaper's).
                for pid in killed {
                    _ = await waitUntil(timeout: .seconds(2)) { waitpid(pid, nil, WNOHANG) != 0 }
                }
            }
        }

        @Test func theStateFolderRemovedWhileRunningIsMadeAgainAndNothingStops() async throws {
            let manifest = """
                daemons:
                  ticker:
                    kind: periodic
                    interval: 100ms
                    command: 'echo "tick $$ORCHESTRATE_RUN"; echo tick >> ticks.txt'
                  app:
                    kind: process
                    command: [sleep, '302']
                """
            try await Supervisor.withSupervisor(manifest) { directory in
                let app = try #require(await Self.pid(directory, "app"))
                let holder = try #require(Supervisor.lockHolder(directory))
                let state = directory.url(".orchestrate")
                try FileManager.default.removeItem(atPath: state)
                // The folder comes back with its PID file (locked by the same supervisor) and its socket.
                #expect(await waitUntil { Supervisor.lockHolder(directory) == holder })
                // Polled without Supervisor.status, which records a failed expectation for each answer before the
                // socket is back.
                #expect(await waitUntil { (try? await E2E.run(["status"], in: directory.path))?.status == 0 })
                #expect(SecurityEndToEndTests.mode(state) == 0o700)
                #expect(SecurityEndToEndTests.mode(state + "/orchestrate.sock") == 0o600)
                // Nothing was stopped: the same process, and the periodic daemon keeps running and logging, into
                // a log file that can be read.
                #expect(await Self.pid(directory, "app") == app)
                #expect(try await Supervisor.status(directory)["app"]?["restarts"] as? Int == 0)
                #expect(await Self.keepsTicking(directory))
                #expect(
                    await waitUntil {
                        let log = (try? String(contentsOfFile: state + "/logs/ticker.log", encoding: .utf8)) ?? ""
                        return log.contains("tick ")
                    }
                )
                let supervisorLog = try String(contentsOfFile: state + "/logs/orchestrate.log", encoding: .utf8)
                #expect(supervisorLog.contains("the state folder is back"), "\(supervisorLog)")
                // A second `up` still finds the running one.
                let second = try await E2E.run(["up", "-d"], in: directory.path)
                #expect(second.status == 1)
                #expect(second.stderr.contains("already running"), "\(second.stderr)")
            }
        }

        /// Whether this machine lets the tests make a user namespace whose inotify watch limit they set
        /// (`/proc/sys/user/max_inotify_watches` is per user namespace; the machine's own limit is left alone).
        static let canLimitInotifyWatches: Bool = {
            let result = try? TestProcess.run(
                ["unshare", "--user", "--map-root-user", "sh", "-c", "echo 4 > /proc/sys/user/max_inotify_watches"],
                deadline: .seconds(10)
            )
            return result?.status == 0
        }()

        @Test(.enabled(if: canLimitInotifyWatches, "needs unshare --user and a per-namespace inotify limit"))
        func theInotifyWatchLimitIsAClearErrorAndPollingStillWatches() async throws {
            let manifest = """
                daemons:
                  build:
                    kind: watcher
                    paths: [src]
                    restart: {policy: never}
                    command: 'echo build'
                  scan:
                    kind: watcher
                    paths: [src]
                    mode: poll
                    command: 'cat "$$ORCHESTRATE_CHANGED_FILE" >> scanned.txt'
                """
            try await E2E.withManifest(manifest) { directory in
                for folder in ["a", "b", "c", "d", "e", "f"] {
                    try FileManager.default.createDirectory(
                        atPath: directory.url("src/\(folder)/deeper"),
                        withIntermediateDirectories: true
                    )
                }
                // The supervisor runs in a user namespace of its own allowed 4 inotify watches: fewer than the tree's
                // 13 folders. `down` from outside reaches it through its socket as usual.
                let binary = TestProcess.orchestrateBinary
                let up = try await offPool {
                    try TestProcess.run(
                        [
                            "unshare", "--user", "--map-root-user", "sh", "-c",
                            "echo 4 > /proc/sys/user/max_inotify_watches && exec \"$0\" up -d --wait", binary,
                        ],
                        in: directory.path,
                        environment: E2E.environment()
                    )
                }
                defer {
                    _ = try? E2E.run(["down"], in: directory.path)
                    if let pid = Supervisor.lockHolder(directory) { kill(pid, SIGKILL) }
                }
                // `up --wait` names the watcher that cannot watch, with what to do about it.
                #expect(up.status == 1, "\(up.stdout) \(up.stderr)")
                #expect(up.stderr.contains("build: failed"), "\(up.stderr)")
                #expect(up.stderr.contains("inotify watch limit is reached"), "\(up.stderr)")
                #expect(up.stderr.contains("use mode: poll"), "\(up.stderr)")
                let status = try await Supervisor.status(directory)
                #expect(status["build"]?["state"] as? String == "failed")
                #expect(status["scan"]?["state"] as? String == "idle")
                // The polling watcher sees a change all the same.
                try directory.write("src/c/deeper/new.txt", "x")
                let changed = directory.url("src/c/deeper/new.txt")
                #expect(await waitUntil { Supervisor.lines(directory, "scanned.txt").contains(changed) })
            }
        }

        /// Whether this machine lets the tests mount a tmpfs (root in a sandbox that allows it).
        static let canMountTmpfs: Bool = {
            guard let directory = try? TemporaryDirectory(prefix: "mount-check") else { return false }
            defer { directory.remove() }
            guard mountTmpfs(at: directory.path, size: "64k") else { return false }
            unmount(directory.path)
            return true
        }()

        static func mountTmpfs(at path: String, size: String) -> Bool {
            (try? TestProcess.run(["/bin/mount", "-t", "tmpfs", "-o", "size=\(size),mode=0700", "tmpfs", path]))?.status
                == 0
        }

        static func unmount(_ path: String) {
            _ = try? TestProcess.run(["/bin/umount", "-l", path])
        }

        @Test(.enabled(if: canMountTmpfs, "mounting a small tmpfs needs root"))
        func aFullDiskForTheLogsIsReportedAndLoggingResumesWhenSpaceReturns() async throws {
            let directory = try TemporaryDirectory(prefix: "e2e-full")
            defer { directory.remove() }
            let state = directory.url("state")
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
            #expect(Self.mountTmpfs(at: state, size: "512k"))
            defer { Self.unmount(state) }
            try directory.write(
                "daemons.yaml",
                """
                state_dir: state
                daemons:
                  talk:
                    kind: process
                    command: 'i=0; while :; do i=$$((i+1)); echo "line $$i"; sleep 0.01; done'
                  tick:
                    kind: periodic
                    interval: 100ms
                    command: 'echo tick >> ticks.txt'
                """
            )
            let up = try await E2E.run(["up", "-d", "--wait"], in: directory.path)
            #expect(up.status == 0, "\(up.stderr)")
            defer {
                _ = try? E2E.run(["down"], in: directory.path)
                if let text = try? String(contentsOfFile: state + "/orchestrate.pid", encoding: .utf8),
                    let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
                {
                    kill(pid, SIGKILL)
                }
            }
            let talker = try #require(await Self.pid(directory, "talk"))
            // Fill the disk.
            let filler = open(state + "/fill", O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
            #expect(filler >= 0)
            let chunk = [UInt8](repeating: 0x2E, count: 16 * 1_024)
            while chunk.withUnsafeBytes({ write(filler, $0.baseAddress, $0.count) }) > 0 {}
            close(filler)
            func health() async -> [String: String] {
                ((try? await Supervisor.status(directory)["talk"]?["health"] as? [String: String]) ?? nil) ?? [:]
            }
            #expect(await waitUntil { await health()["log"]?.hasSuffix("No space left on device") == true })
            // Reported, and nothing else changed: the same process runs, the other daemon keeps ticking.
            #expect(await Self.pid(directory, "talk") == talker)
            #expect(await Self.keepsTicking(directory))
            let table = try await E2E.run(["status"], in: directory.path)
            #expect(table.status == 0)

            // Space returns: logging resumes by itself, and the report goes.
            try FileManager.default.removeItem(atPath: state + "/fill")
            #expect(await waitUntil { await health()["log"] == nil })
            let lines = Supervisor.lines(directory, "state/logs/talk.log")
            let last = try #require(lines.last { $0.contains(" line ") })
            let count = Supervisor.lines(directory, "state/logs/talk.log").count
            #expect(await waitUntil { Supervisor.lines(directory, "state/logs/talk.log").count > count + 5 })
            #expect(!last.isEmpty)
            #expect(await Self.pid(directory, "talk") == talker)
        }

        /// The PIDs of live processes whose command line contains `words` in order.
        static func processes(withArguments words: [String]) -> [Int32] {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
            return entries.compactMap(Int32.init).filter { pid in
                guard Supervisor.isAlive(pid),
                    let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline")
                else { return false }
                let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
                return arguments.count >= words.count
                    && arguments.indices.contains { start in
                        start + words.count <= arguments.count
                            && Array(arguments[start..<start + words.count]) == words
                    }
            }
        }

        /// Whether process `pid` is a supervisor of the manifest in folder `path`.
        static func cwdOrManifest(_ pid: Int32, _ path: String) -> Bool {
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return String(decoding: data, as: UTF8.self).contains(path)
        }
    }
}
