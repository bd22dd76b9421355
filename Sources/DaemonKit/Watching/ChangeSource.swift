/// Where a ``WatchMonitor`` gets raw, not yet debounced changes from: an inotify descriptor to read when it
/// is ready, a timer for polling scans, or both.
///
/// A source is used by one thread at a time: the one that makes it, then the monitor thread, and after the
/// monitor thread has been joined, the thread that calls ``close()``.
protocol ChangeSource: AnyObject {
    /// The descriptor to wait on until it is readable, or nil for none.
    var descriptor: Int32? { get }
    /// When ``poll(at:into:)`` wants to run next, or nil for never.
    var nextPoll: ContinuousClock.Instant? { get }
    /// Reads what is ready on ``descriptor``, adding the changes it finds.
    func readReady(into changes: inout RawChanges) throws(DaemonKitError)
    /// Does the timed work (a polling scan), adding the changes it finds.
    func poll(at now: ContinuousClock.Instant, into changes: inout RawChanges) throws(DaemonKitError)
    /// Releases the source's descriptors; called exactly once, after the monitor thread has ended.
    func close()
}

/// Changes a source found in one round, before debouncing.
struct RawChanges {
    /// Covered files that changed, absolute, in the order seen, possibly repeated.
    var paths: [String] = []
    /// Whether changes were lost (an overflow, a folder moved away) and the batch must ask for a rescan.
    var rescan = false
}
