import Synchronization

/// Bounds the command methods running at once: up to `slots` run, up to `queueLimit` more wait their turn in
/// arrival order, and a call beyond that is refused at once (`-32000 busy`) rather than piling up.
final class CallLimiter: Sendable {
    private struct State {
        var running = 0
        var waiting: [(id: Int, continuation: CheckedContinuation<Bool, Never>)] = []
        var nextID = 0
    }

    let slots: Int
    let queueLimit: Int
    private let state = Mutex(State())

    init(slots: Int, queueLimit: Int) {
        self.slots = max(1, slots)
        self.queueLimit = max(0, queueLimit)
    }

    /// Takes a slot, waiting in the queue if needed; false when the queue is full or the task was cancelled while
    /// waiting (no slot is held then). Every `true` must be matched by one ``release()``.
    func acquire() async -> Bool {
        enum Decision {
            case granted, refused
            case queued(Int)
        }
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let decision = state.withLock { state -> Decision in
                    if state.running < slots {
                        state.running += 1
                        return .granted
                    }
                    guard state.waiting.count < queueLimit else { return .refused }
                    state.waiting.append((id, continuation))
                    return .queued(id)
                }
                switch decision {
                case .granted: continuation.resume(returning: true)
                case .refused: continuation.resume(returning: false)
                case .queued: break
                }
            }
        } onCancel: {
            let cancelled = state.withLock { state -> CheckedContinuation<Bool, Never>? in
                guard let index = state.waiting.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiting.remove(at: index).continuation
            }
            cancelled?.resume(returning: false)
        }
    }

    /// Gives a slot back: the first waiting call gets it.
    func release() {
        let next = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            if state.waiting.isEmpty {
                state.running -= 1
                return nil
            }
            return state.waiting.removeFirst().continuation
        }
        next?.resume(returning: true)
    }

    /// Calls running and waiting now.
    var load: (running: Int, waiting: Int) { state.withLock { ($0.running, $0.waiting.count) } }
}
