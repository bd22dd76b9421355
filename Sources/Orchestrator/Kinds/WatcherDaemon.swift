import DaemonKit
import FoundationEssentials
import Manifest

#if canImport(Glibc)
import Glibc
#endif

/// A `watcher` daemon: watches files (inotify, or polling in `mode: poll`) and runs its
/// command on each debounced batch of changes, handing over the changed paths.
///
/// Each run gets `ORCHESTRATE_DAEMON`, `ORCHESTRATE_RUN` (a counter), `ORCHESTRATE_ATTEMPT`,
/// `ORCHESTRATE_CHANGED_FILE` (`STATE_DIR/run/NAME.changed`: the changed paths, sorted, one per line),
/// `ORCHESTRATE_CHANGED_COUNT` and `ORCHESTRATE_RESCAN` (`1` when the paths may be partial and the command
/// should look at everything: an inotify overflow, `run_on_start`, a trigger; `0` otherwise).
///
/// Changes while a run is in progress follow `on_busy`: `queue` merges them into one run after it, `restart`
/// stops the run and starts one with the merged paths, `skip` drops them. A failed run is retried per
/// `retry` and counted, never thrown. Not being able to watch (a missing path, the inotify limit) and losing
/// the watch (a watched folder removed) are service failures: ``run(_:)`` throws and the restart policy
/// decides.
public struct WatcherDaemon: DaemonService {
    /// The daemon's name.
    public let name: String
    /// `watcher`.
    public var kind: String { WatcherSpec.name }
    /// The daemon as the manifest resolved it.
    public let spec: DaemonSpec
    /// Its watcher fields.
    public let watcher: WatcherSpec
    /// The manifest's state folder; the changed-paths file goes in its `run` folder.
    public let stateFolder: StateFolder

    /// Makes the daemon for `spec`, whose kind must be ``WatcherSpec``.
    public init(spec: DaemonSpec, stateFolder: StateFolder) {
        guard let watcher = spec.settings(as: WatcherSpec.self) else {
            preconditionFailure("WatcherDaemon made from \(spec.kindName) daemon '\(spec.name)'")
        }
        self.name = spec.name
        self.spec = spec
        self.watcher = watcher
        self.stateFolder = stateFolder
    }

    /// The file each run finds its changed paths in.
    public var changedFile: String { stateFolder.changedFile(of: name) }

    /// Watches and runs until the task is cancelled; throws when the files cannot be watched.
    public func run(_ context: DaemonContext) async throws {
        let fileWatcher = try makeWatcher()
        defer { fileWatcher.stop() }
        // The health first: a reader that sees the daemon idle sees what it watches too.
        context.report(.health("watching", String(watcher.files.paths.count)))
        context.report(.health("mode", watcher.mode.rawValue))
        context.report(.health("pending_paths", "0"))
        context.started(state: .idle)
        let (events, sink) = AsyncStream.makeStream(of: Event.self)
        var loop = Loop(
            daemon: self,
            executor: RunExecutor(spec: spec, command: watcher.command, timeout: watcher.timeout),
            context: context,
            sink: sink
        )
        let failure: (any Error)? = await withDiscardingTaskGroup { group in
            group.addTask {
                for await request in context.requests { sink.yield(.request(request)) }
            }
            group.addTask {
                do {
                    for try await batch in fileWatcher.batches { sink.yield(.batch(batch)) }
                    sink.yield(.watchEnded(nil))
                } catch {
                    sink.yield(.watchEnded(error))
                }
            }
            var failure: (any Error)?
            if watcher.runOnStart {
                failure = loop.startRun(paths: [], rescan: true, waiters: [], in: &group)
            }
            if failure == nil {
                for await event in events {
                    failure = loop.handle(event, in: &group)
                    if failure != nil { break }
                }
            }
            fileWatcher.stop()
            group.cancelAll()
            return failure
        }
        sink.finish()
        loop.finish()
        if let failure, !Task.isCancelled { throw failure }
    }

    private func makeWatcher() throws(DaemonKitError) -> any FileWatcher { try watcher.watch.makeWatcher() }

    /// Writes `paths`, one per line, to ``changedFile`` (through a temporary file and a rename, so a command
    /// never reads a half-written list).
    func writeChangedFile(_ paths: [String]) throws(DaemonKitError) {
        let file = changedFile
        let folder = PathText.folder(of: file)
        let text = paths.isEmpty ? "" : paths.joined(separator: "\n") + "\n"
        do {
            try FileManager.default.createDirectory(
                atPath: folder,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
            try Data(text.utf8).write(to: URL(fileURLWithPath: file), options: .atomic)
        } catch {
            throw DaemonKitError(code: .fileSystem, message: "cannot write the changed paths to '\(file)': \(error)")
        }
    }
}
