import DaemonKit
import Manifest

/// Holds a daemon back until its dependencies meet their conditions (`depends_on`).
///
/// The gate reads the registry, the one source of every daemon's state, and waits on its change stream: no
/// polling. A dependency on a daemon with `replicas` waits for every copy. While it waits, the daemon is `waiting` and its health's `waiting_for` names each dependency, its
/// condition, and where it is now (`db to be ready (db is failed)`), so a dependency that fails leaves its
/// dependents visibly waiting instead of started against a broken peer.
struct DependencyGate: Sendable {
    /// The daemon held back.
    let name: String
    /// What it waits for.
    let dependencies: [DaemonSpec.Dependency]
    let registry: DaemonRegistry

    /// Whether `record` meets `condition`.
    static func meets(_ record: DaemonRecord, _ condition: DaemonSpec.Dependency.Condition) -> Bool {
        switch condition {
        case .started:
            [.running, .idle, .completed].contains(record.state) || (record.state == .starting && !record.pids.isEmpty)
        case .ready:
            [.running, .idle, .completed].contains(record.state)
        case .completed:
            // Ended and not restarted: exited 0, or exited with another status and parked as failed.
            record.state == .completed || (record.state == .failed && record.lastRun?.exitCode != nil)
        case .completedSuccessfully:
            record.state == .completed
        }
    }

    /// The dependencies not met now, described: `db to be ready (db is starting)`.
    func unmet() -> [String] {
        dependencies.compactMap { dependency in
            // A daemon run as copies is met when every copy meets the condition; the first that does not is shown.
            let records =
                registry.record(dependency.name).map { [$0] }
                ?? registry.list().filter { DaemonSpec.group(of: $0.name) == dependency.name }
            let record = records.first { !Self.meets($0, dependency.condition) }
            if record == nil, !records.isEmpty { return nil }
            let goal =
                switch dependency.condition {
                case .started: "to start"
                case .ready: "to be ready"
                case .completed: "to complete"
                case .completedSuccessfully: "to complete successfully"
                }
            let now = record.map { "\($0.name) is \($0.state)" } ?? "\(dependency.name) is not running"
            return "\(dependency.name) \(goal) (\(now))"
        }
    }

    /// Returns true once every dependency meets its condition, false when the task is cancelled first (the
    /// daemon is then `stopped`).
    func wait() async -> Bool {
        guard !dependencies.isEmpty else { return true }
        // Only "something changed" matters: the registry is read again on each change.
        let changes = registry.subscribe(bufferLimit: 1)
        var shown: [String]?
        for await _ in changes {
            let waitingFor = unmet()
            if waitingFor.isEmpty {
                registry.report(name, .dependenciesMet)
                if shown != nil { registry.report(name, .note("dependencies met: starting")) }
                return true
            }
            if waitingFor != shown {
                shown = waitingFor
                registry.report(name, .note("waiting for " + waitingFor.joined(separator: ", ")))
                registry.report(name, .waiting(for: waitingFor.joined(separator: ", ")))
            }
        }
        registry.report(name, .ended(completed: false))
        return false
    }
}
