/// Watches the files a `FileScanner.Configuration` covers with Linux inotify, recursively: every folder a scan
/// would walk is watched, new folders as they appear (with the files already inside them reported), deleted
/// or moved-away folders are dropped.
///
/// Creating, writing, deleting or renaming a covered file reports its path; an editor's save by rename
/// reports the target. An inotify queue overflow yields one batch marked ``FileChangeBatch/rescan``: changes
/// are never lost silently. The watcher owns one inotify descriptor, one eventfd and one thread; ``stop()``
/// (or releasing the watcher) releases all three.
///
/// Limits: each watched folder takes one of the user's inotify watches (`fs.inotify.max_user_watches`);
/// running out throws or ends ``batches`` with `.watchLimitReached`. A folder moved away or an overflow asks
/// for a rescan instead of listing the files concerned. Deleting or moving a configured path ends the
/// watcher with `.watchPathRemoved`.
public final class InotifyWatcher: FileWatcher {
    public let configuration: FileScanner.Configuration
    public let batches: AsyncThrowingStream<FileChangeBatch, any Error>
    private let monitor: WatchMonitor

    /// Starts watching; once this returns, every later change is seen.
    ///
    /// Throws `.watchFailed` when a configured path does not exist or cannot be watched (or inotify cannot
    /// be used), `.watchLimitReached` when the system's inotify limits are reached.
    public init(
        _ configuration: FileScanner.Configuration,
        debouncing: Debouncer.Configuration = Debouncer.Configuration()
    ) throws(DaemonKitError) {
        self.configuration = configuration
        let source = try InotifySource(configuration)
        monitor = try WatchMonitor(source: source, debouncing: debouncing)
        batches = monitor.batches
    }

    public func stop() {
        monitor.stop()
    }

    deinit { monitor.stop() }
}
