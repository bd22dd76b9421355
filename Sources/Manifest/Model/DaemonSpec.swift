import DaemonKit

/// One daemon of the manifest, fully resolved: `defaults` merged under it, the top-level `env` merged
/// into its environment, paths absolute.
public struct DaemonSpec: Hashable, Sendable {
    /// The kind-specific part of a daemon.
    public enum Kind: Hashable, Sendable {
        /// Runs a command on a schedule.
        case periodic(PeriodicSpec)
        /// Runs a command when files change.
        case watcher(WatcherSpec)
        /// Serves HTTP JSON-RPC, events and a cache.
        case rpc(RPCSpec)
        /// Keeps a long-running command up.
        case process(ProcessSpec)
    }

    /// A daemon this one waits for, and what it waits for.
    public struct Dependency: Hashable, Sendable {
        /// What the dependency must reach before this daemon starts.
        public enum Condition: String, Hashable, Sendable {
            /// Its service has started.
            case started
            /// It is ready (its readiness probe passed, or it started if it has none).
            case ready
            /// It ran to completion with status 0 (a one-shot process).
            case completed
        }

        /// The dependency's name.
        public var name: String
        /// What it must reach.
        public var condition: Condition
    }

    /// The manifest names of the kinds, in order.
    public static let kindNames = ["periodic", "watcher", "rpc", "process"]

    /// The daemon's name.
    public var name: String
    /// What it is, with its kind's fields.
    public var kind: Kind
    /// Whether it runs.
    public var enabled: Bool
    /// The folder its commands run in, absolute.
    public var workingDirectory: String
    /// The environment its commands get on top of the supervisor's: top-level `env`, then its own.
    public var environment: [String: String]
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

    /// The kind's manifest name.
    public var kindName: String {
        switch kind {
        case .periodic: "periodic"
        case .watcher: "watcher"
        case .rpc: "rpc"
        case .process: "process"
        }
    }
}

/// A `periodic` daemon's fields.
public struct PeriodicSpec: Hashable, Sendable {
    /// What a tick does while the last run still runs.
    public enum Overlap: String, Hashable, Sendable {
        case skip, queue, replace
    }

    /// What each run executes.
    public var command: Command
    /// When it runs.
    public var schedule: Schedule
    /// Up to this much random delay before each run.
    public var jitter: Duration
    /// Whether it runs once at start.
    public var runOnStart: Bool
    /// A run taking longer is stopped.
    public var timeout: Duration?
    /// What a tick does while the last run still runs.
    public var overlap: Overlap
    /// Retries of a failed run.
    public var retry: RetryPolicy
}

/// A `watcher` daemon's fields.
public struct WatcherSpec: Hashable, Sendable {
    /// How changes are noticed.
    public enum Mode: String, Hashable, Sendable {
        case events, poll
    }

    /// What changes do while the command runs.
    public enum OnBusy: String, Hashable, Sendable {
        case queue, restart, skip
    }

    /// What each run executes.
    public var command: Command
    /// The files covered, as the scanner and the watcher read them (absolute paths).
    public var files: FileScanner.Configuration
    /// Quiet time after the last change before a run.
    public var debounce: Duration
    /// Longest a run waits while changes keep coming.
    public var maxWait: Duration
    /// inotify or polling.
    public var mode: Mode
    /// Time between scans in poll mode.
    public var pollInterval: Duration
    /// What changes do while the command runs.
    public var onBusy: OnBusy
    /// Whether it runs once at start.
    public var runOnStart: Bool
    /// A run taking longer is stopped.
    public var timeout: Duration?
    /// Retries of a failed run.
    public var retry: RetryPolicy
}

/// An `rpc` daemon's fields.
public struct RPCSpec: Hashable, Sendable {
    /// A JSON-RPC method backed by a command.
    public struct Method: Hashable, Sendable {
        /// The method's name.
        public var name: String
        /// Gets params on stdin, prints the result.
        public var command: Command
        /// Longest a call may take.
        public var timeout: Duration
        /// What it does, for `GET /methods`.
        public var description: String?
    }

    /// Where it listens (a Unix socket path is absolute).
    public var listen: ListenAddress
    /// The environment variable holding the API key, if auth is on.
    public var apiKeyEnvironment: String?
    /// Whether a non-loopback address without a key was allowed on purpose.
    public var insecure: Bool
    /// Its methods, sorted by name.
    public var methods: [Method]
    /// Most cache entries.
    public var cacheMaxEntries: Int
    /// Most cache bytes.
    public var cacheMaxBytes: Int
    /// Calls run at once; nil means four per core.
    public var maxConcurrency: Int?
    /// Calls waiting beyond that.
    public var maxQueue: Int
    /// Largest request body in bytes.
    public var maxBody: Int
}

/// A `process` daemon's fields.
public struct ProcessSpec: Hashable, Sendable {
    /// The long-running command.
    public var command: Command
    /// How to tell it is ready.
    public var ready: Probe?
    /// How to tell it is still alive.
    public var liveness: Probe?
}

/// A readiness or liveness check.
public struct Probe: Hashable, Sendable {
    /// What is checked.
    public enum Check: Hashable, Sendable {
        /// A URL answering 2xx.
        case http(String)
        /// A TCP address accepting a connection.
        case tcp(ListenAddress)
        /// A command exiting 0.
        case exec(Command)
        /// A line of output matching a regular expression.
        case logLine(String)
    }

    /// What is checked.
    public var check: Check
    /// Time between checks.
    public var period: Duration
    /// Readiness: how long the process may take to become ready. Liveness: how long one check may take.
    public var timeout: Duration
    /// Liveness: consecutive failures that restart the process.
    public var failures: Int?
}
