import DaemonKit
import Foundation
import Logging
import Manifest
import OrchestrateTesting
import Orchestrator
import Synchronization

/// A daemon kind under test: its spec loaded from a real manifest in a temporary folder, a real registry and
/// log, and its service running in a task that the test cancels.
final class KindHarness: Sendable {
    let directory: TemporaryDirectory
    let manifest: Manifest
    let registry = DaemonRegistry()
    let log: RotatingLogFile
    let name: String
    private let requests: AsyncStream<DaemonRequest>
    private let mailbox: AsyncStream<DaemonRequest>.Continuation
    private let ended = Atomic<Bool>(false)
    /// Writes the daemon's notes into its log, as the supervisor does.
    private let notes: DaemonRegistry.Observation

    /// Loads `daemons.yaml` with `yaml` as the body of daemon `name`'s entry, in a new folder.
    init(_ name: String, _ yaml: String) throws {
        // As the supervisor does: the grandchildren a stopped `sh -c` leaves are re-parented to this process, so
        // the runner can reap them instead of waiting out its reap deadline for zombies init never collects.
        try ChildReaper.becomeSubreaper()
        directory = try TemporaryDirectory(prefix: "kinds")
        let body = yaml.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }
            .joined(separator: "\n")
        let text = "daemons:\n  \(name):\n\(body)\n"
        let file = try directory.write("daemons.yaml", text)
        manifest = try ManifestLoader(file: file, fileLabel: "daemons.yaml", kinds: .builtIn, environment: [:]).load()
            .manifest
        self.name = name
        log = try RotatingLogFile(path: directory.url(".orchestrate/logs/\(name).log"))
        (requests, mailbox) = AsyncStream.makeStream(of: DaemonRequest.self)
        let log = log
        notes = registry.observe(DaemonRegistry.noteWriter(prefix: "[orchestrate] ") { _ in log })
        registry.register(DaemonRecord(name: name, kind: spec.kindName))
    }

    deinit {
        notes.cancel()
        directory.remove()
    }

    var spec: DaemonSpec { manifest[daemon: name]! }
    var record: DaemonRecord { registry.record(name)! }
    var context: DaemonContext {
        DaemonContext(
            name: name,
            registry: registry,
            log: log,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
            requests: requests
        )
    }

    /// Starts `service` in a task; the caller cancels it.
    func start(_ service: some DaemonService) -> Task<Void, any Error> {
        let context = context
        return Task { [self] in
            defer { ended.store(true, ordering: .releasing) }
            try await service.run(context)
        }
    }

    /// Whether the service started by ``start(_:)`` has returned or thrown.
    var hasEnded: Bool { ended.load(ordering: .acquiring) }

    /// Sends a trigger and waits (with a deadline) for its reply.
    func trigger(timeout: Duration = .seconds(10)) async -> TriggerOutcome? {
        let reply = Mutex<TriggerOutcome?>(nil)
        mailbox.yield(DaemonRequest(.trigger) { outcome in reply.withLock { $0 = outcome } })
        _ = await waitUntil(timeout: timeout) { reply.withLock { $0 } != nil }
        return reply.withLock { $0 }
    }

    /// The lines of the file at `relative` in the folder; none when it does not exist.
    func lines(_ relative: String) -> [String] {
        guard let text = try? String(contentsOfFile: directory.url(relative), encoding: .utf8) else { return [] }
        return text.split(separator: "\n").map(String.init)
    }

    /// The daemon's log so far.
    var logText: String {
        log.flush()
        return (try? String(contentsOfFile: log.path, encoding: .utf8)) ?? ""
    }
}

/// Whether process `pid` exists.
func processExists(_ pid: Int32) -> Bool {
    kill(pid, 0) == 0 || errno != ESRCH
}
