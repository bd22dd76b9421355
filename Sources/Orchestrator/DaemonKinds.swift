import DaemonKit
import Manifest

/// The compiler from a manifest's daemon to the service that runs it.
public enum DaemonKinds {
    /// The service for `spec`, or nil when this build cannot run its kind.
    public static func makeService(_ spec: DaemonSpec, stateDirectory: String) throws -> (any DaemonService)? {
        switch spec.kind {
        case .periodic: return PeriodicDaemon(spec: spec, stateDirectory: stateDirectory)
        case .watcher: return WatcherDaemon(spec: spec, stateDirectory: stateDirectory)
        case .rpc(let rpc): return RPCDaemon(spec: spec, rpc: rpc)
        case .process(let process): return ProcessDaemon(spec: spec, process: process)
        }
    }
}
