import DaemonKit

/// A loaded, validated `daemons.yaml`: plain values, with every default applied and every path absolute.
///
/// Loading starts nothing. Each daemon's spec is `Hashable`, so a reload can tell exactly which daemons
/// changed.
public struct Manifest: Hashable, Sendable {
    /// Whether saves of the manifest are applied by themselves.
    public enum ReloadMode: String, Hashable, Sendable {
        /// Saves are applied as they happen.
        case auto
        /// Only `orchestrate reload` or SIGHUP apply the file.
        case manual
    }

    /// The control API over TCP.
    public struct Control: Hashable, Sendable {
        /// The TCP address the control API is also served on.
        public var http: ListenAddress?
        /// The environment variable holding the key the TCP routes require.
        public var apiKeyEnvironment: String?
    }

    /// The manifest file, absolute.
    public var file: String
    /// The folder relative paths are resolved from.
    public var directory: String
    /// The format version (1).
    public var version: Int
    /// The folder of the PID lock, control socket and logs, absolute.
    public var stateDirectory: String
    /// The dotenv file interpolation read, absolute, if any.
    public var envFile: String?
    /// Variables given to every command (already merged into each daemon's environment).
    public var environment: [String: String]
    /// Whether saves are applied by themselves.
    public var reload: ReloadMode
    /// Whether commands that need a supervisor start one.
    public var autoStart: Bool
    /// The control API over TCP, if configured.
    public var control: Control?
    /// The daemons, in the manifest's order; a daemon with `replicas` is its copies, `NAME#1`…`NAME#N`, in its place.
    public var daemons: [DaemonSpec] {
        didSet { positions = Self.positionsByName(daemons) }
    }
    /// Where each daemon is in ``daemons``, by name: a supervisor of a thousand daemons looks them up by name at
    /// every launch and stop, and a scan made starting and stopping them quadratic.
    var positions: [String: Int] = [:]
    /// The kinds the manifest was read with.
    public var kinds: DaemonKinds
    /// The `replicas` of each daemon that has the field, by the name the manifest gives it (``members(of:)`` are the
    /// copies that run, which `orchestrate scale` may have made more or fewer, or made of a daemon without the field).
    public var declaredReplicas: [String: Int] = [:]
    /// The fragments its `include` read, absolute.
    public var includedFiles: [String] = []
    /// The folders the globs of its `include` look in, absolute.
    public var includedFolders: [String] = []

    /// The daemon named `name`.
    public subscript(daemon name: String) -> DaemonSpec? { positions[name].map { daemons[$0] } }

    /// The position of each daemon by name (the first, should a name come twice).
    static func positionsByName(_ daemons: [DaemonSpec]) -> [String: Int] {
        var positions: [String: Int] = [:]
        positions.reserveCapacity(daemons.count)
        for (position, daemon) in daemons.enumerated() where positions[daemon.name] == nil {
            positions[daemon.name] = position
        }
        return positions
    }

    /// `4 daemons: 2 periodic, 1 watcher, 1 rpc` (kinds in the order of ``kinds``; disabled daemons counted
    /// separately).
    public var summary: String {
        var perKind: [String: Int] = [:]
        for index in daemons.indices { perKind[daemons[index].kindName, default: 0] += 1 }
        let counts = kinds.names.compactMap { kind -> String? in
            guard let count = perKind[kind] else { return nil }
            return "\(count) \(kind)"
        }
        let noun = daemons.count == 1 ? "daemon" : "daemons"
        var text = "\(daemons.count) \(noun)"
        if !counts.isEmpty { text += ": " + counts.joined(separator: ", ") }
        let disabled = daemons.count { !$0.enabled }
        if disabled > 0 { text += " (\(disabled) disabled)" }
        return text
    }
}
