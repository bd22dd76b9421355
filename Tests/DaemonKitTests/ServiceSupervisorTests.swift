import DaemonKit
import Foundation
import Logging
import OrchestrateTesting
import Synchronization
import Testing

/// A service that fails its first `failures` lives, then runs until cancelled, counting its lives.
private final class FlakyService: DaemonService {
    let name = "flaky"
    let kind = "test"
    let failures: Int
    let lives = Atomic<Int>(0)

    init(failures: Int) { self.failures = failures }

    struct Failure: Error, CustomStringConvertible {
        var description: String { "boom" }
    }

    func run(_ context: DaemonContext) async throws {
        let life = lives.add(1, ordering: .relaxed).newValue
        if life <= failures { throw Failure() }
        context.started(state: .running)
        for await request in context.requests { request.reply(.queued) }
    }
}

@Suite("Service supervisor")
struct ServiceSupervisorTests {
    private func make(
        _ service: FlakyService,
        _ policy: RestartPolicy,
        in directory: TemporaryDirectory
    ) throws
        -> (ServiceSupervisor, DaemonRegistry)
    {
        let registry = DaemonRegistry()
        registry.register(DaemonRecord(name: service.name, kind: service.kind))
        let log = try RotatingLogFile(path: directory.url("logs/flaky.log"), rotation: LogRotation())
        // The supervisor's notes reach the daemon's log as the supervisor has them written: by an observer.
        _ = registry.observe(DaemonRegistry.noteWriter(prefix: "[orchestrate] ") { _ in log })
        let supervisor = ServiceSupervisor(
            service: service,
            policy: policy,
            registry: registry,
            log: log,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        return (supervisor, registry)
    }

    @Test func failuresAreRestartedWithBackoffUntilTheServiceStays() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let service = FlakyService(failures: 2)
        let policy = RestartPolicy(
            mode: .onFailure,
            initialBackoff: .milliseconds(10),
            maxBackoff: .seconds(1),
            burst: 5,
            window: .seconds(60)
        )
        let (supervisor, registry) = try make(service, policy, in: directory)
        let task = Task { await supervisor.run() }
        #expect(await waitUntil { registry.record("flaky")?.state == .running })
        #expect(service.lives.load(ordering: .relaxed) == 3)
        #expect(registry.record("flaky")?.restarts == 2)
        let outcome = Mutex<TriggerOutcome?>(nil)
        supervisor.send(DaemonRequest(.trigger) { result in outcome.withLock { $0 = result } })
        #expect(await waitUntil { outcome.withLock { $0 } == .queued })
        task.cancel()
        await task.value
        #expect(registry.record("flaky")?.state == .stopped)
        let refused = Mutex<TriggerOutcome?>(nil)
        supervisor.send(DaemonRequest(.trigger) { result in refused.withLock { $0 = result } })
        #expect(refused.withLock { $0 } == .refused("'flaky' is not running"))
        let log = try String(contentsOfFile: directory.url("logs/flaky.log"), encoding: .utf8)
        #expect(log.components(separatedBy: "the daemon failed: boom").count == 3)
    }

    @Test func aBurstOfFailuresParksTheDaemonAsFailed() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let service = FlakyService(failures: 100)
        let policy = RestartPolicy(
            mode: .always,
            initialBackoff: .milliseconds(1),
            maxBackoff: .milliseconds(4),
            burst: 3,
            window: .seconds(60)
        )
        let (supervisor, registry) = try make(service, policy, in: directory)
        await supervisor.run()
        let record = try #require(registry.record("flaky"))
        #expect(record.state == .failed)
        #expect(service.lives.load(ordering: .relaxed) == 3)
        #expect(record.lastError?.hasPrefix("boom") == true)
    }

    @Test func neverRestartsWhenThePolicySaysNever() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let service = FlakyService(failures: 1)
        let (supervisor, registry) = try make(service, RestartPolicy(mode: .never), in: directory)
        await supervisor.run()
        #expect(service.lives.load(ordering: .relaxed) == 1)
        #expect(registry.record("flaky")?.state == .failed)
    }
}
