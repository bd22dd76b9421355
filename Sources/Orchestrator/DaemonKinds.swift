import DaemonKit
import Manifest

extension DaemonKinds {
    /// The orchestrator's own kinds: periodic, watcher, rpc and process.
    public static let builtIn: DaemonKinds = [PeriodicSpec.self, WatcherSpec.self, RPCSpec.self, ProcessSpec.self]
}

extension Supervisor {
    /// Why daemon `name`, of the kind named `kind`, cannot be triggered, or nil when its kind runs on trigger.
    func triggerRefusal(_ name: String, kind: String) -> String? {
        let kinds = manifest.kinds
        let found = kinds.kind(named: kind)
        if found?.runsOnTrigger == true { return nil }
        let triggered = kinds.filter { $0.runsOnTrigger }.map { $0.name }.joined(separator: " and ")
        return "'\(name)' is \(found?.title ?? "a \(kind) daemon"); only \(triggered) daemons run on trigger"
    }
}
