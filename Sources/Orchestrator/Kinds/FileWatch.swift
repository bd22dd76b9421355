import DaemonKit
import Manifest

/// What a watch of files covers and how it notices changes: a watcher daemon's files, and the `watch` of a process
/// daemon that restarts it when they change. The fields mean the same in both, with the same defaults.
public struct FileWatch: Hashable, Sendable {
    /// The fields a watch is read from, as the watcher kind declares them.
    static let fieldNames = [
        "paths", "patterns", "ignore", "gitignore", "debounce", "max_wait", "mode", "poll_interval",
    ]

    /// The files covered, absolute.
    public var files: FileScanner.Configuration
    /// Quiet time after the last change before it counts.
    public var debounce: Duration
    /// Longest wait while changes keep coming.
    public var maxWait: Duration
    /// inotify or polling.
    public var mode: WatcherSpec.Mode
    /// Time between scans in poll mode.
    public var pollInterval: Duration

    /// Reads the watch fields of `fields` (a watcher daemon's, or a process daemon's `watch` object); paths are
    /// relative to the daemon's folder.
    init(fields: ResolvedFields) throws {
        files = FileScanner.Configuration(
            paths: fields.strings("paths").map { Paths.absolute($0, from: fields.workingDirectory) },
            patterns: try fields.globs("patterns"),
            ignore: try fields.globs("ignore"),
            gitignore: fields.bool("gitignore")!
        )
        debounce = fields.duration("debounce")!
        maxWait = fields.duration("max_wait")!
        mode = WatcherSpec.Mode(rawValue: fields.string("mode")!)!
        pollInterval = fields.duration("poll_interval")!
    }

    /// A watcher of the files, inotify's or a poller, that hands over settled batches of changed paths.
    public func makeWatcher() throws(DaemonKitError) -> any FileWatcher {
        let debouncing = Debouncer.Configuration(debounce: debounce, maxWait: maxWait)
        switch mode {
        case .events: return try InotifyWatcher(files, debouncing: debouncing)
        case .poll: return try PollingWatcher(files, interval: pollInterval, debouncing: debouncing)
        }
    }
}
