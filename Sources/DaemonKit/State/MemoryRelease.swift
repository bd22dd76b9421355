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
    private let state = Mutex(State())

    private struct State {
        /// When the release is due; nil when nothing is pending.
        var deadline: ContinuousClock.Instant?
        /// Whether a timer is pending (it re-arms itself while the deadline moves on).
        var armed = false
    }

    /// A release that runs `delay` after the last ``settled()``; `release` is what it does (by default
    /// ``releaseNow()``).
    public init(delay: Duration = .seconds(2), release: @escaping @Sendable () -> Void = { releaseNow() }) {
        self.delay = delay
        self.release = release
    }

    /// Says that a burst of work just ended: the release runs after ``delay`` unless another burst ends before.
    public func settled() {
        let arm = state.withLock { state -> Bool in
            state.deadline = .now + delay
            defer { state.armed = true }
            return !state.armed
        }
        if arm { wait(delay) }
    }

    private func wait(_ duration: Duration) {
        DispatchQueue.timers.asyncAfter(deadline: .now() + duration.dispatchInterval) { [self] in fire() }
    }

    /// The timer went off: releases if the deadline has passed, else waits for what is left of it.
    private func fire() {
        let left = state.withLock { state -> Duration? in
            guard let deadline = state.deadline else {
                state.armed = false
                return nil
            }
            let left = ContinuousClock.now.duration(to: deadline)
            if left > .zero { return left }
            state.deadline = nil
            state.armed = false
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
