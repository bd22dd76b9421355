import Dispatch
import Foundation

extension DispatchQueue {
    /// Where DaemonKit's timers fire: sleeps, stop escalations, the grace period of an output pipe.
    ///
    /// A queue of its own, not a global one. On Linux, libdispatch gives the global queues about one thread
    /// per core; a few blocking calls on them (a probe waiting for a connection, a test reading a child's
    /// output) then hold back every timer behind them, and a periodic daemon misses its ticks. A serial queue
    /// made here is served by threads that do not wait for a free one, and its handlers only resume a
    /// continuation or send a signal.
    static let timers = DispatchQueue(label: "orchestrate.timers")

    /// Runs `body`, which may block, on a thread of its own: a probe, a write to a child's stdin. Never on a
    /// global queue, for the reason given at ``timers``.
    static func runBlocking(_ body: @escaping @Sendable () -> Void) {
        let thread = Thread(block: body)
        thread.name = "blocking-call"
        thread.start()
    }
}

extension Duration {
    /// This duration for a Dispatch deadline, to the nanosecond; never negative.
    var dispatchInterval: DispatchTimeInterval {
        let (seconds, attoseconds) = components
        return .nanoseconds(max(0, Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)))
    }
}
