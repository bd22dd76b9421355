import DaemonKit
import Foundation
import Hummingbird
import Logging
import Manifest
import OrchestrateTesting
import Orchestrator
import Synchronization
import Testing

/// A daemon that answers triggers with a fixed outcome until it is stopped.
private struct EchoService: DaemonService {
    let name: String
    let kind = "periodic"

    func run(_ context: DaemonContext) async throws {
        context.started(state: .idle)
        for await request in context.requests {
            let run = DaemonRecord.Run(startedAt: Date())
            context.report(.runStarted(pid: getpid(), run: run))
            context.report(.runEnded(pid: getpid(), run: run, failure: nil))
            request.reply(.queued)
        }
    }
}

@Suite("Supervisor and its control API", .serialized)
struct SupervisorTests {
    private func manifest(in directory: TemporaryDirectory) throws -> Manifest {
        let file = try directory.write(
            "daemons.yaml",
            """
            daemons:
              a: {kind: periodic, interval: 1h, command: "true"}
              b: {kind: periodic, interval: 1h, command: "true"}
              off: {kind: periodic, interval: 1h, command: "true", enabled: false}
            """
        )
        return try ManifestLoader(file: file, kinds: .builtIn, environment: [:]).load().manifest
    }

    /// Starts a supervisor of echo services and returns once its socket answers.
    private func start(_ manifest: Manifest) async -> (Supervisor, Task<Void, any Error>) {
        let supervisor = Supervisor(
            manifest: manifest,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        ) { spec, _ in
            EchoService(name: spec.name)
        }
        let (ready, readyInput) = AsyncStream.makeStream(of: Void.self)
        let running = Task { try await supervisor.run { readyInput.yield() } }
        var iterator = ready.makeAsyncIterator()
        _ = await iterator.next()
        return (supervisor, running)
    }

    @Test func runsDaemonsAnswersControlRequestsAndLeavesNothingBehind() async throws {
        let directory = try TemporaryDirectory(prefix: "supervisor")
        defer { directory.remove() }
        let manifest = try manifest(in: directory)
        let (supervisor, running) = await start(manifest)
        let client = SupervisorClient(manifest: manifest, timeout: .seconds(10))
        #expect(client.isRunning)
        #expect(client.pid == getpid())

        #expect(await waitUntil { supervisor.registry.list().filter { $0.state == .idle }.count == 2 })
        let status = try await offPool { try client.status() }
        #expect(status.daemons.map(\.name) == ["a", "b", "off"])
        #expect(status.daemons.map(\.state) == [.idle, .idle, .disabled])
        #expect(status.supervisor.manifest == manifest.file)
        #expect(status.supervisor.socket == manifest.stateDirectory + "/orchestrate.sock")

        let triggered = try await offPool { try client.trigger("a", wait: true) }
        #expect(triggered.outcome == .queued)
        #expect(supervisor.registry.record("a")?.runs == 1)

        let stopped = try await offPool { try client.lifecycle("stop", "b") }
        #expect(stopped.state == .stopping || stopped.state == .stopped)
        #expect(await waitUntil { supervisor.registry.record("b")?.state == .stopped })
        let refused = await #expect(throws: SupervisorClient.Failure.self) {
            try await offPool { try client.trigger("b", wait: true) }
        }
        #expect(refused?.message == "'b' is not running")
        _ = try await offPool { try client.lifecycle("start", "b") }
        #expect(await waitUntil { supervisor.registry.record("b")?.state == .idle })
        _ = try await offPool { try client.lifecycle("restart", "a") }
        #expect(await waitUntil { supervisor.registry.record("a")?.state == .idle })

        let unknown = await #expect(throws: SupervisorClient.Failure.self) {
            try await offPool { try client.lifecycle("start", "aa") }
        }
        #expect(unknown?.status == 404)
        #expect(unknown?.message == "no daemon named 'aa'; did you mean 'a'?")
        let disabled = await #expect(throws: SupervisorClient.Failure.self) {
            try await offPool { try client.lifecycle("start", "off") }
        }
        #expect(disabled?.status == 409)
        let wrongVersion = try await offPool {
            try IPCClient(socketPath: manifest.stateDirectory + "/orchestrate.sock").send("GET", "/v2/status")
        }
        #expect(wrongVersion.status == 404)
        #expect(wrongVersion.text.contains("unknown API version 'v2'"))

        // A second supervisor for the same manifest is refused while the first runs.
        let second = Supervisor(
            manifest: manifest,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        ) { spec, _ in
            EchoService(name: spec.name)
        }
        await #expect(throws: DaemonKitError.self) { try await second.run() }

        try await offPool { try client.down() }
        try await running.value
        #expect(!client.isRunning)
        #expect(!FileManager.default.fileExists(atPath: manifest.stateDirectory + "/orchestrate.sock"))
        #expect(supervisor.registry.list().allSatisfy { $0.state == .stopped || $0.state == .disabled })
    }

    @Test func aClientWaitsForASupervisorThatHoldsItsLockButDoesNotListenYet() async throws {
        let directory = try TemporaryDirectory(prefix: "supervisor")
        defer { directory.remove() }
        let manifest = try manifest(in: directory)
        let client = SupervisorClient(manifest: manifest, timeout: .seconds(10))
        // Nothing holds the lock: not running, at once.
        let clock = ContinuousClock()
        var start = clock.now
        await #expect(throws: SupervisorClient.Failure.self) { try await offPool { try client.down() } }
        #expect(clock.now - start < .seconds(1))
        // A supervisor starting up, as others see it: the lock held, the socket not there yet; it listens 300 ms later.
        let lock = try PIDLock.acquire(path: manifest.stateFolder.lockFile)
        defer { lock.release() }
        let router = Router()
        router.post("/v1/down") { _, _ in "{}" }
        let server = IPCServer(
            router: router,
            socketPath: manifest.stateFolder.socket(),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        start = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await Task.sleep(for: .milliseconds(300))
                try await server.run()
            }
            try await offPool { try client.down() }
            group.cancelAll()
        }
        #expect(clock.now - start >= .milliseconds(300))
    }

    @Test func theEventStreamReportsStateChanges() async throws {
        let directory = try TemporaryDirectory(prefix: "supervisor")
        defer { directory.remove() }
        let manifest = try manifest(in: directory)
        let (supervisor, running) = await start(manifest)
        let client = SupervisorClient(manifest: manifest)
        #expect(await waitUntil { supervisor.registry.record("a")?.state == .idle })
        let seen = try await offPool { () -> [String] in
            var states: [String] = []
            var stopAsked = false
            try client.events { record in
                states.append("\(record.name):\(record.state)")
                if !stopAsked, record.name == "off" {
                    stopAsked = true
                    Thread { _ = try? client.lifecycle("stop", "a") }.start()
                }
                return !(record.name == "a" && record.state == .stopped)
            }
            return states
        }
        #expect(seen.prefix(3) == ["a:idle", "b:idle", "off:disabled"])
        #expect(seen.contains("a:stopping"))
        #expect(seen.last == "a:stopped")
        supervisor.shutDown()
        try await running.value
    }
}
