/// Something that watches the files a `FileScanner.Configuration` covers and reports changes in settled
/// batches: ``InotifyWatcher`` for local file systems, ``PollingWatcher`` for those without inotify.
///
/// A watcher watches from the moment it is made until ``stop()`` or until it is released. Changes are
/// debounced (see ``Debouncer``) before they reach ``batches``.
public protocol FileWatcher: AnyObject, Sendable {
    /// What is watched.
    var configuration: FileScanner.Configuration { get }

    /// The debounced batches of changes. The stream ends after ``stop()`` (or when the watcher is released),
    /// and ends by throwing a `DaemonKitError` when watching cannot go on: a configured path was removed
    /// (`.watchPathRemoved`), the inotify watch limit was reached (`.watchLimitReached`), or scanning failed.
    /// Pending changes are handed over before such an error.
    var batches: AsyncThrowingStream<FileChangeBatch, any Error> { get }

    /// Stops watching: wakes and joins the watcher's thread, releases its descriptors and ends ``batches``.
    /// Pending, not yet settled changes are dropped. Calling it again does nothing.
    func stop()
}
