import Foundation
import OrchestrateTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `orchestrate run NAME`: one run of a periodic or watcher daemon in the foreground, no supervisor.
@Suite("run, end to end")
struct RunCommandTests {
    static let manifest = """
        daemons:
          flaky:
            kind: periodic
            interval: 1h
            cwd: work
            env: {GREETING: hello}
            retry: {attempts: 2, backoff: 10ms}
            command: 'echo "$$GREETING run=$$ORCHESTRATE_RUN attempt=$$ORCHESTRATE_ATTEMPT daemon=$$ORCHESTRATE_DAEMON in=$$(basename "$$PWD")"; echo oops >&2; [ "$$ORCHESTRATE_ATTEMPT" = 3 ] && exit 0; exit 3'
          failing:
            kind: periodic
            cron: "0 3 * * *"
            command: 'exit 7'
          slow:
            kind: periodic
            interval: 1h
            timeout: 200ms
            command: ["sleep", "30"]
          atlas:
            kind: watcher
            paths: [work]
            command: 'echo "rescan=$$ORCHESTRATE_RESCAN count=$$ORCHESTRATE_CHANGED_COUNT bytes=$$(wc -c < "$$ORCHESTRATE_CHANGED_FILE")"'
          web:
            kind: process
            command: ["sleep", "30"]
        """

    static func withFolder(_ body: (TemporaryDirectory) async throws -> Void) async throws {
        let directory = try TemporaryDirectory(prefix: "e2e-run")
        defer { directory.remove() }
        try directory.write("daemons.yaml", manifest)
        try FileManager.default.createDirectory(atPath: directory.url("work"), withIntermediateDirectories: true)
        try await body(directory)
    }

    @Test func aRunRetriesInTheDaemonsFolderAndEnvironmentAndExitsWithTheLastStatus() async throws {
        try await Self.withFolder { directory in
            let result = try await E2E.run(["run", "flaky"], in: directory.path)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(
                result.stdout.split(separator: "\n") == [
                    "hello run=1 attempt=1 daemon=flaky in=work",
                    "hello run=1 attempt=2 daemon=flaky in=work",
                    "hello run=1 attempt=3 daemon=flaky in=work",
                ]
            )
            let errors = result.stderr.split(separator: "\n")
            #expect(errors.filter { $0 == "oops" }.count == 3, "standard error stays apart")
            #expect(
                errors.contains("orchestrate: flaky: attempt 1 exited with status 3; retrying in 10ms (attempt 2 of 3)")
            )
            #expect(!FileManager.default.fileExists(atPath: directory.url(".orchestrate/orchestrate.pid")))

            let failing = try await E2E.run(["run", "failing"], in: directory.path)
            #expect(failing.status == 7)
            #expect(failing.stdout.isEmpty)
        }
    }

    @Test func aRunThatOutlivesItsTimeoutExits124() async throws {
        try await Self.withFolder { directory in
            let result = try await E2E.run(["run", "slow"], in: directory.path)
            #expect(result.status == 124)
        }
    }

    @Test func aWatchersRunIsAFullRescan() async throws {
        try await Self.withFolder { directory in
            let result = try await E2E.run(["run", "atlas"], in: directory.path)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.replacingOccurrences(of: " ", with: "") == "rescan=1count=0bytes=0\n")
        }
    }

    @Test func onlyPeriodicAndWatcherDaemonsRun() async throws {
        try await Self.withFolder { directory in
            let process = try await E2E.run(["run", "web"], in: directory.path)
            #expect(process.status == 2)
            #expect(process.stderr.contains("'web' is a process daemon, which has no single run"))
            #expect(process.stderr.contains("`up --only web`"))
            let unknown = try await E2E.run(["run", "flakey"], in: directory.path)
            #expect(unknown.status == 2)
            #expect(unknown.stderr.contains("no daemon named 'flakey'; did you mean 'flaky'?"))
        }
    }

    @Test func sigtermStopsTheRunsProcessGroupAndExits143() async throws {
        let directory = try TemporaryDirectory(prefix: "e2e-run")
        defer { directory.remove() }
        try directory.write(
            "daemons.yaml",
            """
            daemons:
              long:
                kind: periodic
                interval: 1h
                stop_timeout: 5s
                command: 'sleep 60 & echo $$! > child.pid; wait'
            """
        )
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestProcess.orchestrateBinary)
        process.arguments = ["run", "long"]
        process.currentDirectoryURL = URL(fileURLWithPath: directory.path)
        process.environment = E2E.environment()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        #expect(
            eventually { (try? String(contentsOfFile: directory.url("child.pid"), encoding: .utf8))?.isEmpty == false }
        )
        let child = try #require(
            Int32(
                (try String(contentsOfFile: directory.url("child.pid"), encoding: .utf8)).trimmingCharacters(
                    in: .whitespacesAndNewlines
                )
            )
        )
        kill(process.processIdentifier, SIGTERM)
        #expect(eventually { !process.isRunning })
        process.waitUntilExit()
        #expect(process.terminationStatus == 143)
        #expect(
            eventually { !SupervisorBinaryTests.SupervisorEndToEndTests.isAlive(child) },
            "the command's child is gone"
        )
    }
}
