import FoundationEssentials

/// What the supervisor knows about one daemon: the state record the registry keeps, and the shape of one
/// entry of `status --json` (fields may be added, never renamed).
public struct DaemonRecord: Codable, Hashable, Sendable {
    /// Where a daemon is in its life.
    public struct State: Codable, Hashable, Sendable, CustomStringConvertible {
        /// The state's name as `status` prints it.
        public let name: String

        /// Being started (a process not yet ready, a watcher setting up its watches).
        public static let starting = State(name: "starting")
        /// Up: a long-running service, or a periodic or watcher daemon running a command now.
        public static let running = State(name: "running")
        /// A periodic or watcher daemon between runs.
        public static let idle = State(name: "idle")
        /// Waiting for its dependencies.
        public static let waiting = State(name: "waiting")
        /// Failed, and waiting out its restart backoff.
        public static let backoff = State(name: "backoff")
        /// Being stopped.
        public static let stopping = State(name: "stopping")
        /// Stopped on purpose.
        public static let stopped = State(name: "stopped")
        /// Ended by itself without failing and not restarted: a one-shot process that exited 0.
        public static let completed = State(name: "completed")
        /// Failed too often within its restart window; left alone until started again.
        public static let failed = State(name: "failed")
        /// `enabled: false` in the manifest.
        public static let disabled = State(name: "disabled")

        /// Makes a state from its name (states may be added).
        public init(name: String) { self.name = name }

        public init(from decoder: any Decoder) throws {
            name = try decoder.singleValueContainer().decode(String.self)
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(name)
        }

        /// The name.
        public var description: String { name }
    }

    /// One finished (or running) run of a periodic or watcher daemon, or one life of a service.
    public struct Run: Codable, Hashable, Sendable {
        /// When it started.
        public var startedAt: Date
        /// How long it took, in milliseconds; nil while it runs.
        public var durationMilliseconds: Int?
        /// Its exit status, nil while it runs or when a signal ended it.
        public var exitCode: Int32?
        /// The signal that ended it, if one did.
        public var signal: Int32?
        /// Whether it was stopped for taking longer than its timeout.
        public var timedOut: Bool
        /// For a run a periodic schedule started when its time came: how long after that time (jitter
        /// included) the command was spawned, in milliseconds to the hundredth; nil for other runs.
        public var lateMilliseconds: Double?

        /// Makes a run record.
        public init(
            startedAt: Date,
            durationMilliseconds: Int? = nil,
            exitCode: Int32? = nil,
            signal: Int32? = nil,
            timedOut: Bool = false,
            lateMilliseconds: Double? = nil
        ) {
            self.startedAt = startedAt
            self.durationMilliseconds = durationMilliseconds
            self.exitCode = exitCode
            self.signal = signal
            self.timedOut = timedOut
            self.lateMilliseconds = lateMilliseconds
        }

        enum CodingKeys: String, CodingKey {
            case startedAt = "started_at"
            case durationMilliseconds = "duration_ms"
            case exitCode = "exit_code"
            case signal
            case timedOut = "timed_out"
            case lateMilliseconds = "late_ms"
        }
    }

    /// The daemon's name.
    public var name: String
    /// Its kind's manifest name.
    public var kind: String
    /// Its state.
    public var state: State
    /// Whether the manifest enables it.
    public var enabled: Bool
    /// Runs started (periodic, watcher) or lives started (services).
    public var runs: Int
    /// Runs that failed (non-zero exit, signal or timeout).
    public var failures: Int
    /// Times the service was restarted after failing.
    public var restarts: Int
    /// The live child processes: the running command of a run, or a process daemon's program.
    public var pids: [Int32]
    /// The last run, finished or running.
    public var lastRun: Run?
    /// When the next run is due, if one is scheduled.
    public var nextRun: Date?
    /// The last error, in one sentence.
    public var lastError: String?
    /// Kind-specific health, such as a watcher's number of watched folders.
    public var health: [String: String]
    /// The daemons it depends on (`depends_on`), as the status document writes them; empty in the registry's
    /// own records and their events.
    public var dependsOn: [String] = []

    /// Makes a record for a daemon that has not started.
    public init(name: String, kind: String, enabled: Bool = true) {
        self.name = name
        self.kind = kind
        self.state = enabled ? .stopped : .disabled
        self.enabled = enabled
        self.runs = 0
        self.failures = 0
        self.restarts = 0
        self.pids = []
        self.lastRun = nil
        self.nextRun = nil
        self.lastError = nil
        self.health = [:]
    }

    enum CodingKeys: String, CodingKey {
        case name, kind, state, enabled, runs, failures, restarts, pids
        case lastRun = "last_run"
        case nextRun = "next_run"
        case lastError = "last_error"
        case health
        case dependsOn = "depends_on"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        kind = try container.decode(String.self, forKey: .kind)
        state = try container.decode(State.self, forKey: .state)
        enabled = try container.decode(Bool.self, forKey: .enabled)
        runs = try container.decode(Int.self, forKey: .runs)
        failures = try container.decode(Int.self, forKey: .failures)
        restarts = try container.decode(Int.self, forKey: .restarts)
        pids = try container.decode([Int32].self, forKey: .pids)
        lastRun = try container.decodeIfPresent(Run.self, forKey: .lastRun)
        nextRun = try container.decodeIfPresent(Date.self, forKey: .nextRun)
        lastError = try container.decodeIfPresent(String.self, forKey: .lastError)
        health = try container.decode([String: String].self, forKey: .health)
        dependsOn = try container.decodeIfPresent([String].self, forKey: .dependsOn) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        // Absent values are written as null, so that scripts see every field of the contract.
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(kind, forKey: .kind)
        try container.encode(state, forKey: .state)
        try container.encode(enabled, forKey: .enabled)
        try container.encode(runs, forKey: .runs)
        try container.encode(failures, forKey: .failures)
        try container.encode(restarts, forKey: .restarts)
        try container.encode(pids, forKey: .pids)
        try container.encode(lastRun, forKey: .lastRun)
        try container.encode(nextRun, forKey: .nextRun)
        try container.encode(lastError, forKey: .lastError)
        try container.encode(health, forKey: .health)
        try container.encode(dependsOn, forKey: .dependsOn)
    }
}
