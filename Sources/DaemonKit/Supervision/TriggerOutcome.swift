/// What became of a request to run a daemon now (`orchestrate trigger`, `POST /v1/daemons/NAME/trigger`, the rpc
/// kind's `daemons.trigger`): the one model of that outcome, from the daemon's answer to the JSON the client reads.
///
/// As JSON: `{"outcome": "finished", "daemon": "sync", "exit_code": 0, "signal": null, "timed_out": false,
/// "duration_ms": 84}`; the last four only for `finished`, `reason` only for `refused` and `unknown`.
public struct TriggerOutcome: Codable, Sendable, Hashable {
    /// The kinds of outcome.
    public enum Kind: String, Codable, Sendable, Hashable {
        /// The run it started finished (`wait`).
        case finished
        /// The run was started (without `wait`).
        case accepted
        /// It will run after the run in progress, or was merged into a run already queued.
        case queued
        /// Dropped: a run is in progress and the daemon's overlap policy skips.
        case skipped
        /// The daemon cannot run now (it is not running) or is not of a kind that runs on trigger.
        case refused
        /// There is no such daemon, or it is disabled.
        case unknown
    }

    /// What became of it.
    public var outcome: Kind
    /// The daemon, once the answer leaves the supervisor.
    public var daemon: String?
    /// The run's exit status; nil while it runs, or when a signal ended it.
    public var exitCode: Int32?
    /// The signal that ended the run, if one did.
    public var signal: Int32?
    /// Whether the run was stopped for taking longer than its timeout.
    public var timedOut: Bool?
    /// How long the run took, in milliseconds.
    public var durationMilliseconds: Int?
    /// Why it was refused, in one sentence.
    public var reason: String?

    /// Makes an outcome.
    public init(
        _ outcome: Kind,
        daemon: String? = nil,
        exitCode: Int32? = nil,
        signal: Int32? = nil,
        timedOut: Bool? = nil,
        durationMilliseconds: Int? = nil,
        reason: String? = nil
    ) {
        self.outcome = outcome
        self.daemon = daemon
        self.exitCode = exitCode
        self.signal = signal
        self.timedOut = timedOut
        self.durationMilliseconds = durationMilliseconds
        self.reason = reason
    }

    /// The run it started ended with `result`.
    public static func finished(_ result: CommandRunResult) -> TriggerOutcome {
        TriggerOutcome(
            .finished,
            exitCode: result.exitCode,
            signal: result.signal,
            timedOut: result.timedOut,
            durationMilliseconds: Int((result.duration / .milliseconds(1)).rounded())
        )
    }

    /// The run was started.
    public static let accepted = TriggerOutcome(.accepted)
    /// It will run later.
    public static let queued = TriggerOutcome(.queued)
    /// It was dropped.
    public static let skipped = TriggerOutcome(.skipped)

    /// Refused, for `reason`.
    public static func refused(_ reason: String) -> TriggerOutcome { TriggerOutcome(.refused, reason: reason) }

    /// No such daemon (or it is disabled): `reason` says which.
    public static func unknown(_ reason: String) -> TriggerOutcome { TriggerOutcome(.unknown, reason: reason) }

    /// The same outcome, naming `daemon`.
    public func about(_ daemon: String) -> TriggerOutcome {
        var outcome = self
        outcome.daemon = daemon
        return outcome
    }

    enum CodingKeys: String, CodingKey {
        case outcome, daemon
        case exitCode = "exit_code"
        case signal
        case timedOut = "timed_out"
        case durationMilliseconds = "duration_ms"
        case reason
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(outcome, forKey: .outcome)
        try container.encodeIfPresent(daemon, forKey: .daemon)
        if outcome == .finished {
            // A finished run's fields are all written, null when absent, as the status document writes them.
            try container.encode(exitCode, forKey: .exitCode)
            try container.encode(signal, forKey: .signal)
            try container.encode(timedOut ?? false, forKey: .timedOut)
            try container.encode(durationMilliseconds ?? 0, forKey: .durationMilliseconds)
        }
        try container.encodeIfPresent(reason, forKey: .reason)
    }
}
