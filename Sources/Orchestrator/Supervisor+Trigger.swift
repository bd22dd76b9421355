import DaemonKit
import Synchronization

extension Supervisor: SupervisorLink {
    /// Asks daemon `name` to run now (the control API's `trigger` and the rpc kind's `daemons.trigger`); with
    /// `wait`, answers once the run has ended.
    public func trigger(_ name: String, wait: Bool) async -> TriggerReply {
        guard let target = serviceSupervisor(name) else {
            return .unknown(unknownDaemonFailure(name).message)
        }
        if let refusal = triggerRefusal(name, kind: target.service.kind) { return .refused(refusal) }
        if !wait {
            // The mailbox answers at once when the daemon is not running; otherwise the run goes on without us.
            let refused = Mutex<String?>(nil)
            target.send(
                DaemonRequest(.trigger) { outcome in
                    if case .refused(let reason) = outcome { refused.withLock { $0 = reason } }
                }
            )
            if let reason = refused.withLock({ $0 }) { return .refused(reason) }
            return .accepted
        }
        let outcome = await withCheckedContinuation {
            (continuation: CheckedContinuation<DaemonRequest.Outcome, Never>) in
            target.send(DaemonRequest(.trigger) { continuation.resume(returning: $0) })
        }
        switch outcome {
        case .finished(let result): return .finished(result)
        case .queued: return .queued
        case .skipped: return .skipped
        case .refused(let reason): return .refused(reason)
        }
    }
}

/// The supervisor as its daemons see it, held weakly: a daemon's services must not keep their supervisor alive.
final class WeakSupervisorLink: SupervisorLink {
    private weak let supervisor: Supervisor?

    init(_ supervisor: Supervisor) { self.supervisor = supervisor }

    func trigger(_ name: String, wait: Bool) async -> TriggerReply {
        guard let supervisor else { return .refused("the supervisor is gone") }
        return await supervisor.trigger(name, wait: wait)
    }
}
