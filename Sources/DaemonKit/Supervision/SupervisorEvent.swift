import FoundationEssentials

/// One event of a supervisor's event stream: the one stream that `status`, the control API's event stream, the
/// `rpc` kind's `daemon.*` topics and the `[orchestrate]` lines of the daemons' logs are all fed from.
///
/// Each event is published once, by the ``DaemonRegistry`` (which also owns the records the events describe), with
/// an id that grows by one per event, so a subscriber that fell behind sees the gap.
public struct SupervisorEvent: Sendable {
    /// What happened.
    public enum Kind: Sendable {
        /// A daemon was added, or its record changed: the record as it is now.
        case daemon(DaemonRecord)
        /// A daemon was removed from the manifest.
        case removed(name: String)
        /// A daemon's state changed.
        case stateChanged(StateChange)
        /// A run of a periodic or watcher daemon, or a life of a long-running command, started.
        case runStarted(RunReport)
        /// That run or life ended, with its exit status, duration and, for a scheduled run, its lateness.
        case runFinished(RunReport)
        /// A reload of the manifest was applied or refused.
        case reload(ReloadReport)
        /// The supervisor is starting or stopping.
        case supervisor(SupervisorNotice)
        /// A line of the supervisor's about one daemon, for that daemon's log.
        case note(daemon: String, text: String)
        /// A daemon is being restarted, and why (`3 files changed: src/a.py, …`).
        case restarting(daemon: String, reason: String)
    }

    /// The event's number: 1, 2, 3… in publishing order; 0 for the records a new subscription starts with.
    public let id: UInt64
    /// When it was published.
    public let time: Date
    /// What happened.
    public let kind: Kind

    /// Makes an event.
    public init(id: UInt64, time: Date, kind: Kind) {
        self.id = id
        self.time = time
        self.kind = kind
    }

    /// The event's name on an event stream: `daemon`, `removed`, `state`, `run.started`, `run.finished`,
    /// `reload`, `supervisor`, `note`.
    public var name: String {
        switch kind {
        case .daemon: "daemon"
        case .removed: "removed"
        case .stateChanged: "state"
        case .runStarted: "run.started"
        case .runFinished: "run.finished"
        case .reload: "reload"
        case .supervisor: "supervisor"
        case .note: "note"
        case .restarting: "restart"
        }
    }

    /// The name of the daemon the event is about, if it is about one.
    public var daemon: String? {
        switch kind {
        case .daemon(let record): record.name
        case .removed(let name): name
        case .stateChanged(let change): change.name
        case .runStarted(let run), .runFinished(let run): run.name
        case .note(let daemon, _), .restarting(let daemon, _): daemon
        case .reload, .supervisor: nil
        }
    }

    /// The event's data as JSON, with the encoder every status document uses.
    public func json(_ encoder: JSONEncoder) throws -> Data { try encoder.encode(EventLine.Payload(kind)) }

    /// Whether the registry's history keeps it: every event but records (frequent and large; the status has them)
    /// and notes (the logs have them).
    var isHistory: Bool {
        switch kind {
        case .daemon, .note: false
        default: true
        }
    }

    /// A note as JSON: `{"daemon", "text"}`.
    public struct Note: Codable, Sendable, Hashable {
        public var daemon: String
        public var text: String
    }
}

/// A daemon's state changed: `{"name", "kind", "state", "previous", "last_error"}`.
public struct StateChange: Codable, Sendable, Hashable {
    /// The daemon.
    public var name: String
    /// Its kind; absent for a removed daemon.
    public var kind: String?
    /// The state it is in now (`removed` for a daemon the manifest no longer has).
    public var state: String
    /// The state it was in.
    public var previous: String?
    /// Its last error, when it has one.
    public var lastError: String?

    /// Makes a state change.
    public init(name: String, kind: String? = nil, state: String, previous: String? = nil, lastError: String? = nil) {
        self.name = name
        self.kind = kind
        self.state = state
        self.previous = previous
        self.lastError = lastError
    }

    enum CodingKeys: String, CodingKey {
        case name, kind, state, previous
        case lastError = "last_error"
    }
}

/// A run (or a life) of a daemon's command starting or ending: `{"name", "event": "start"|"end", "pid", "life"}`
/// beside the run's fields as the status document writes them (`started_at`, `duration_ms`, `exit_code`, …).
public struct RunReport: Codable, Sendable, Hashable {
    /// The daemon.
    public var name: String
    /// The run as the daemon's record holds it (no duration while it runs).
    public var run: DaemonRecord.Run
    /// The PID of its command; 0 when it could not be started, or has no process of its own.
    public var pid: Int32
    /// Whether it is a life of a long-running command (a `process` daemon's program) rather than a run.
    public var life: Bool

    /// Makes a report.
    public init(name: String, run: DaemonRecord.Run, pid: Int32, life: Bool = false) {
        self.name = name
        self.run = run
        self.pid = pid
        self.life = life
    }

    enum CodingKeys: String, CodingKey {
        case name, event, pid, life
    }

    // The run's own fields sit beside the name, as ``DaemonRecord/Run`` writes them.

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        pid = try container.decodeIfPresent(Int32.self, forKey: .pid) ?? 0
        life = try container.decodeIfPresent(Bool.self, forKey: .life) ?? false
        run = try DaemonRecord.Run(from: decoder)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(run.durationMilliseconds == nil ? "start" : "end", forKey: .event)
        try container.encode(pid, forKey: .pid)
        try container.encode(life, forKey: .life)
        try run.encode(to: encoder)
    }
}

/// The supervisor starting or stopping: `{"state": "starting"|"stopping", "pid"}`.
public struct SupervisorNotice: Codable, Sendable, Hashable {
    /// Where the supervisor is.
    public enum State: String, Codable, Sendable {
        case starting, stopping
    }

    /// Where it is.
    public var state: State
    /// Its process.
    public var pid: Int32

    /// Makes a notice.
    public init(state: State, pid: Int32) {
        self.state = state
        self.pid = pid
    }
}
