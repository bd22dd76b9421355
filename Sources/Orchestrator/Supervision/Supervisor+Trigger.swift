import DaemonKit
import Synchronization

extension Supervisor: SupervisorLink {
    /// Asks daemon `name` to run now (the control API's `trigger` and the rpc kind's `daemons.trigger`); with
    /// `wait`, answers once the run has ended.
    public func trigger(_ name: String, wait: Bool) async -> TriggerOutcome {
        await outcome(of: name, wait: wait).about(name)
    }

    private func outcome(of name: String, wait: Bool) async -> TriggerOutcome {
        guard let target = serviceSupervisor(name) else {
            return .unknown(unknownDaemonFailure(name, in: manifest).message)
        }
        if let refusal = triggerRefusal(name, kind: target.service.kind) { return .refused(refusal) }
        if !wait {
            // The mailbox answers at once when the daemon is not running; otherwise the run goes on without us.
            let refused = Mutex<TriggerOutcome?>(nil)
            target.send(
                DaemonRequest(.trigger) { outcome in
                    if outcome.outcome == .refused { refused.withLock { $0 = outcome } }
                }
            )
            return refused.withLock { $0 } ?? .accepted
        }
        return await withCheckedContinuation { (continuation: CheckedContinuation<TriggerOutcome, Never>) in
            target.send(DaemonRequest(.trigger) { continuation.resume(returning: $0) })
        }
    }
}

/// The supervisor as its daemons see it, held weakly: a daemon's services must not keep their supervisor alive.
final class WeakSupervisorLink: SupervisorLink {
    private weak let supervisor: Supervisor?

    init(_ supervisor: Supervisor) { self.supervisor = supervisor }

    func trigger(_ name: String, wait: Bool) async -> TriggerOutcome {
        guard let supervisor else { return .refused("the supervisor is gone") }
        return await supervisor.trigger(name, wait: wait)
    }
}
