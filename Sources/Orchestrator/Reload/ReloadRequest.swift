import DaemonKit
import FoundationEssentials
import Manifest

#if canImport(Glibc)
import Glibc
#endif

/// What asked for a reload, and who waits for its outcome.
struct ReloadRequest: Sendable {
    /// What asked.
    enum Origin: String, Sendable {
        /// A save of the manifest or its env_file.
        case file
        /// SIGHUP.
        case signal
        /// `orchestrate reload` (`POST /v1/reload`).
        case api
        /// `orchestrate scale` (`POST /v1/daemons/NAME/scale`).
        case scale
    }

    /// `orchestrate scale NAME N`: the running manifest with daemon `name` run as `count` copies, the file unread.
    struct Scale: Sendable {
        var name: String
        var count: Int
    }

    var origin: Origin
    /// The environment to load with instead of the supervisor's; kept for later reloads once applied.
    var environment: [String: String]? = nil
    /// `--set` arguments to load with instead of `up`'s; kept for later reloads once applied.
    var setArguments: [String]? = nil
    /// Plan only: nothing is applied.
    var dryRun = false
    /// A scale instead of a load of the file.
    var scale: Scale? = nil
    /// Told the outcome once the plan is applied (every stop and start done), or refused.
    var reply: (@Sendable (ReloadOutcome) -> Void)? = nil
}

/// The outcome of a reload, as `POST /v1/reload` returns it.
public struct ReloadOutcome: Codable, Sendable {
    /// Whether the manifest was valid and the plan applied (or, for a dry run, made).
    public var ok: Bool
    /// Whether this was a dry run.
    public var dryRun: Bool
    /// What was wrong: each validation error with its file, line and column, or why the plan could not apply.
    public var errors: [String]
    /// The plan; nil when the manifest was not valid.
    public var plan: ReloadPlan?

    enum CodingKeys: String, CodingKey {
        case ok
        case dryRun = "dry_run"
        case errors, plan
    }

    public init(ok: Bool, dryRun: Bool = false, errors: [String] = [], plan: ReloadPlan? = nil) {
        self.ok = ok
        self.dryRun = dryRun
        self.errors = errors
        self.plan = plan
    }
}

/// The body of `POST /v1/reload`; every field is optional.
public struct ReloadBody: Codable, Sendable {
    /// The environment to load with, replacing the supervisor's for this and later reloads (`reload --env`).
    public var environment: [String: String]?
    /// `--set` arguments, replacing `up`'s for this and later reloads.
    public var set: [String]?
    /// Make the plan without applying it.
    public var dryRun: Bool?

    enum CodingKeys: String, CodingKey {
        case environment, set
        case dryRun = "dry_run"
    }

    public init(environment: [String: String]? = nil, set: [String]? = nil, dryRun: Bool? = nil) {
        self.environment = environment
        self.set = set
        self.dryRun = dryRun
    }
}

/// The body of `POST /v1/daemons/NAME/scale`.
public struct ScaleBody: Codable, Sendable {
    /// How many copies of the daemon run from now on.
    public var replicas: Int

    public init(replicas: Int) { self.replicas = replicas }
}
