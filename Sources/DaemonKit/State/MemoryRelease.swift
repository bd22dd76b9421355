import CSupport
import Dispatch
import Synchronization

/// Gives back, once a burst of work has settled, the memory that only the burst needed: the heap's free pages and
/// the pages of the executable's code that it ran.
///
/// A supervisor's start-up and each reload run code that idling never runs again (parsing and checking the
/// manifest, building every daemon), and the kernel maps code in large pieces, so most of the executable ends up
/// resident though little of it is used afterwards. Those pages are clean copies of the file: dropping them from
/// the process loses nothing, and the page cache still holds them for the next command. ``settled()`` is called
/// after each burst; the release runs once, ``delay`` after the last call, so an idle process is never woken.
public final class MemoryRelease: Sendable {
    /// How long after the last burst the release runs.
    public let delay: Duration
    private let generation = Mutex(0)

    /// A release that runs `delay` after the last ``settled()``.
    public init(delay: Duration = .seconds(2)) {
        self.delay = delay
    }

    /// Says that a burst of work just ended: the release runs after ``delay`` unless another burst ends before.
    public func settled() {
        let mine = generation.withLock { value in
            value += 1
            return value
        }
        DispatchQueue.timers.asyncAfter(deadline: .now() + delay.dispatchInterval) { [self] in
            guard generation.withLock({ $0 == mine }) else { return }
            Self.releaseNow()
        }
    }

    /// Releases at once; returns whether the executable's code pages were released.
    @discardableResult
    public static func releaseNow() -> Bool {
        csupport_release_unused_memory() == 0
    }
}
