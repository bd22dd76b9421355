import Dispatch
import FoundationEssentials

extension DispatchQueue {
    /// Where DaemonKit's timers fire: sleeps, stop escalations, the grace period of an output pipe. Their handlers
    /// only resume a continuation or send a signal. This is the global queue, which on Linux libdispatch serves
    /// with about one thread per core: nothing that blocks may run there (``runBlocking(_:)``), or every timer
    /// behind it waits, and a periodic daemon misses its ticks.
    static var timers: DispatchQueue { .global() }

    /// Runs `body`, which may block, on a thread of its own: a probe, a write to a child's stdin. Never on the
    /// global queue, for the reason given at ``timers``.
    static func runBlocking(_ body: @escaping @Sendable () -> Void) {
        NamedThread.start(named: "blocking-call", body)
    }
}

extension Duration {
    /// This duration for a Dispatch deadline, to the nanosecond; never negative.
    var dispatchInterval: DispatchTimeInterval {
        let (seconds, attoseconds) = components
        return .nanoseconds(max(0, Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)))
    }
}
