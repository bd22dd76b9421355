import DaemonKit
import Synchronization

/// A handle on one run's command that can be stopped before, while or after it starts: the event loop of a
/// periodic or watcher daemon asks for a stop (overlap `replace`, `on_busy: restart`) without knowing whether
/// the run's task has spawned the child yet.
final class RunControl: Sendable {
    private struct State {
        var command: RunningCommand?
        var stopRequested = false
    }

    private let state = Mutex(State())

    /// Called by the run's task once the child is spawned; stops it at once if a stop came first.
    func started(_ command: RunningCommand) {
        let stopNow = state.withLock { state -> Bool in
            state.command = command
            return state.stopRequested
        }
        if stopNow { command.stop() }
    }

    /// Asks the command to stop (stop signal to its group, SIGKILL after the stop timeout), now or as soon as it
    /// has started.
    func stop() {
        let command = state.withLock { state -> RunningCommand? in
            state.stopRequested = true
            return state.command
        }
        command?.stop()
    }

    /// Whether ``stop()`` was called: the run's end is then not counted as a failure.
    var stopRequested: Bool { state.withLock { $0.stopRequested } }
}
