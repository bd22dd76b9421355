/// Watches the files a `FileScanner.Configuration` covers by scanning them every `interval` and comparing
/// each file's modification time, size and inode with the previous scan: for file systems without inotify
/// (network file systems, some container mounts).
///
/// It has the semantics of ``InotifyWatcher``: created, modified and deleted files are reported in debounced
/// batches, an editor's save by rename shows as the target changing. Changes are seen up to `interval` late,
/// and a change that keeps the size within the file system's timestamp granularity can go unnoticed.
/// Deleting a configured path ends the watcher with `.watchPathRemoved`.
public final class PollingWatcher: FileWatcher {
    public let configuration: FileScanner.Configuration
    public let batches: AsyncThrowingStream<FileChangeBatch, any Error>
    /// Time between scans.
    public let interval: Duration
    private let monitor: WatchMonitor

    /// Takes the first snapshot and starts scanning every `interval`; once this returns, every later change
    /// is seen.
    ///
    /// Throws `.watchFailed` when a configured path does not exist or cannot be read.
    public init(
        _ configuration: FileScanner.Configuration,
        interval: Duration = .seconds(1),
        debouncing: Debouncer.Configuration = Debouncer.Configuration()
    ) throws(DaemonKitError) {
        self.configuration = configuration
        self.interval = interval
        let source = try PollingSource(configuration, interval: interval)
        monitor = try WatchMonitor(source: source, debouncing: debouncing)
        batches = monitor.batches
    }

    public func stop() {
        monitor.stop()
    }

    deinit { monitor.stop() }
}
