import CSupport
import Dispatch
import Synchronization

/// Gives back, once a burst of work has settled, the memory that only the burst needed: the heap's free pages and
/// the pages of the executable's code that it ran.
///
/// A supervisor's start-up, each reload and each control request run code that idling never runs (parsing and
/// checking the manifest, building every daemon, encoding a status), and the kernel maps code in large pieces, so
/// most of the executable ends up resident though little of it is used afterwards. Those pages are clean copies of
/// the file: dropping them from the process loses nothing, and the page cache still holds them for the next use.
/// ``settled()`` is called after each burst; the release runs once, ``delay`` after the last call, from at most one
/// pending timer, so an idle process is never woken and a busy one schedules nothing per request.
public final class MemoryRelease: Sendable {
    /// How long after the last burst the release runs.
    public let delay: Duration
    private let release: @Sendable () -> Void

    /// When the release is due; nil when nothing is pending. A timer is pending exactly while it is set (the timer
    /// waits again while the deadline moves on).
    private let deadline = Mutex<ContinuousClock.Instant?>(nil)

    /// A release that runs `delay` after the last ``settled()``; `release` is what it does (by default
    /// ``releaseNow()``).
    public init(delay: Duration = .seconds(2), release: @escaping @Sendable () -> Void = { releaseNow() }) {
        self.delay = delay
        self.release = release
    }

    /// Says that a burst of work just ended: the release runs after ``delay`` unless another burst ends before.
    public func settled() {
        let arm = deadline.withLock { deadline in
            defer { deadline = .now + delay }
            return deadline == nil
        }
        if arm { wait(delay) }
    }

    private func wait(_ duration: Duration) {
        DispatchQueue.timers.asyncAfter(deadline: .now() + duration.dispatchInterval) { [self] in fire() }
    }

    /// The timer went off: releases if the deadline has passed, else waits for what is left of it.
    private func fire() {
        let left = deadline.withLock { deadline -> Duration? in
            if let due = deadline, case let left = ContinuousClock.now.duration(to: due), left > .zero { return left }
            deadline = nil
            return nil
        }
        if let left {
            wait(left)
        } else {
            release()
        }
    }

    /// Releases at once; returns whether the executable's code pages were released.
    @discardableResult
    public static func releaseNow() -> Bool {
        csupport_release_unused_memory() == 0
    }
}
