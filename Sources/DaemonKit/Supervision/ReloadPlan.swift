import FoundationEssentials

/// What applying a new version of a supervisor's daemons does: which daemons start, stop, restart or stay as they
/// are. The Orchestrator makes it by comparing two manifests; here it is the plain record that `reload`, the status
/// document and the event stream show.
public struct ReloadPlan: Codable, Sendable, Hashable {
    /// Daemons new in the manifest, in its order.
    public var added: [String] = []
    /// Daemons no longer in it, in the old order.
    public var removed: [String] = []
    /// Daemons whose spec changed: restarted with the new one.
    public var changed: [String] = []
    /// Daemons whose spec is the same but that restart because a daemon they depend on changed
    /// (`restart_with_dependencies: true`): same service, same counters, new processes.
    public var restarted: [String] = []
    /// Daemons left alone: same processes, same counters.
    public var unchanged: [String] = []
    /// Top-level fields that changed but apply only after `down` and `up`.
    public var needsRestart: [String] = []

    enum CodingKeys: String, CodingKey {
        case added, removed, changed, restarted, unchanged
        case needsRestart = "needs_restart"
    }

    /// An empty plan.
    public init() {}

    /// True when no daemon is added, removed or changed.
    public var changesNothing: Bool { added.isEmpty && removed.isEmpty && changed.isEmpty }

    /// "1 added, 1 changed, 1 restarted with a dependency, 0 removed, 3 unchanged" (restarts only when some).
    public var summary: String {
        "\(added.count) added, \(changed.count) changed, "
            + (restarted.isEmpty ? "" : "\(restarted.count) restarted with a dependency, ")
            + "\(removed.count) removed, \(unchanged.count) unchanged"
    }

    /// The plan as `orchestrate reload` prints it: `+ added  ~ changed  - removed  = unchanged`, one daemon a line.
    public var lines: [String] {
        added.map { "+ \($0)" } + changed.map { "~ \($0)" } + restarted.map { "↻ \($0) (a dependency changed)" }
            + removed.map { "- \($0)" } + unchanged.map { "= \($0)" }
            + needsRestart.map { "! \($0) changed: it applies after `orchestrate down` and `up`" }
    }
}

/// A reload as `status` (`last_reload`) and the event stream report it: when, whether it applied, the errors that
/// kept it from applying (with file, line and column), its plan, and what asked for it (`file`, `signal`, `api`).
public struct ReloadReport: Codable, Sendable {
    /// When it was applied or refused.
    public var at: Date
    /// Whether it applied.
    public var ok: Bool
    /// Why it did not.
    public var errors: [String]
    /// What it did; nil when the manifest was not valid.
    public var plan: ReloadPlan?
    /// What asked for it.
    public var trigger: String

    /// Makes a report.
    public init(at: Date, ok: Bool, errors: [String], plan: ReloadPlan?, trigger: String) {
        self.at = at
        self.ok = ok
        self.errors = errors
        self.plan = plan
        self.trigger = trigger
    }
}
