import DaemonKit

/// One daemon of the manifest, fully resolved: `defaults` merged under it, the top-level `env` merged
/// into its environment, paths absolute.
public struct DaemonSpec: Hashable, Sendable {
    /// A daemon this one waits for, and what it waits for.
    public struct Dependency: Hashable, Sendable {
        /// What the dependency must reach before this daemon starts.
        public enum Condition: String, CaseIterable, Hashable, Sendable {
            /// Its service has started.
            case started
            /// It is ready (its readiness probe passed, or it started if it has none).
            case ready
            /// It ran to its end and will not be restarted, whatever its exit status (a one-shot process).
            case completed
            /// It ran to its end with status 0 (a migration, a set-up step).
            case completedSuccessfully = "completed_successfully"

            /// Whether the dependency must end rather than stay up.
            public var needsAnEnd: Bool { self == .completed || self == .completedSuccessfully }
        }

        /// The dependency's name.
        public var name: String
        /// What it must reach.
        public var condition: Condition
    }

    /// The daemon's name: as the manifest gives it, or `NAME#N` for copy N of a daemon with `replicas`.
    public var name: String
    /// Which copy this is, 1…N, of a daemon with `replicas`; nil for a daemon run once.
    public var replica: Int?
    /// What it is: its kind's spec, with the kind's fields (read it typed with ``settings(as:)``).
    public var kind: any DaemonKind {
        get { kindValue.value }
        set { kindValue = KindValue(newValue) }
    }
    /// The kind, compared and hashed as its spec's own value.
    private var kindValue: KindValue
    /// Whether it runs.
    public var enabled: Bool
    /// The folder its commands run in, absolute.
    public var workingDirectory: String
    /// The environment its commands get on top of the supervisor's: top-level `env`, then its `env_file`s, then its
    /// own `env`.
    public var environment: [String: String]
    /// Its `env_file`s, absolute, in order: a save of one is a change of the daemon.
    public var environmentFiles: [String] = []
    /// How its service is restarted.
    public var restart: RestartPolicy
    /// The signal that stops it.
    public var stopSignal: Signal
    /// How long a stop waits before SIGKILL.
    public var stopTimeout: Duration
    /// Rotation of its log file.
    public var log: LogRotation
    /// Daemons it waits for.
    public var dependencies: [Dependency]
    /// Whether it restarts when a dependency restarts.
    public var restartWithDependencies: Bool
    /// Its hooks, if it has any.
    public var notify: NotifySpec?

    /// Makes a spec.
    public init(
        name: String,
        kind: any DaemonKind,
        enabled: Bool = true,
        workingDirectory: String,
        environment: [String: String] = [:],
        restart: RestartPolicy = RestartPolicy(),
        stopSignal: Signal = .terminate,
        stopTimeout: Duration = .seconds(10),
        log: LogRotation = LogRotation(),
        dependencies: [Dependency] = [],
        restartWithDependencies: Bool = false,
        notify: NotifySpec? = nil
    ) {
        self.name = name
        kindValue = KindValue(kind)
        self.enabled = enabled
        self.workingDirectory = workingDirectory
        self.environment = environment
        self.restart = restart
        self.stopSignal = stopSignal
        self.stopTimeout = stopTimeout
        self.log = log
        self.dependencies = dependencies
        self.restartWithDependencies = restartWithDependencies
        self.notify = notify
    }

    /// The name the manifest gives the daemon: `web` for `web#2`, its own name for a daemon run once. A dependency
    /// on `web` is a dependency on each copy.
    public var group: Substring { Self.group(of: name) }

    /// The name the manifest gives daemon `name` (`web` for `web#2`): names in a manifest cannot hold `#`.
    public static func group(of name: String) -> Substring {
        name.firstIndex(of: "#").map { name[..<$0] } ?? name[...]
    }

    /// Of `items`, those `name` stands for: the one named `name`, or else the copies of the daemon with replicas the
    /// manifest names so (`web` for web#1…web#N); empty when there is neither.
    public static func named<Item>(_ name: String, in items: [Item], by itemName: (Item) -> String) -> [Item] {
        let exact = items.filter { itemName($0) == name }
        return exact.isEmpty ? items.filter { group(of: itemName($0)) == name } : exact
    }

    /// The kind's manifest name (`periodic`).
    public var kindName: String { type(of: kind).name }

    /// The kind in messages: "a periodic daemon", "an rpc daemon".
    public var kindTitle: String { type(of: kind).title }

    /// The kind's spec as `type`, when the daemon is of that kind: `spec.settings(as: PeriodicSpec.self)`.
    public func settings<Kind: DaemonKind>(as type: Kind.Type) -> Kind? { kind as? Kind }
}

/// A kind's spec, equal to another when both are of the same type and equal as that type.
private struct KindValue: Hashable, Sendable {
    let value: any DaemonKind

    init(_ value: any DaemonKind) { self.value = value }

    static func == (lhs: KindValue, rhs: KindValue) -> Bool { AnyHashable(lhs.value) == AnyHashable(rhs.value) }

    func hash(into hasher: inout Hasher) { hasher.combine(AnyHashable(value)) }
}
