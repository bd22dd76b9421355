import Manifest

/// What applying a new version of the manifest does: which daemons start, stop, restart or stay as they are,
/// found by comparing each daemon's resolved spec (defaults, `env` and interpolation already merged in, so a
/// change under `defaults` or `env` changes exactly the daemons it reaches).
///
/// Top-level settings the running supervisor cannot take on (`state_dir`, the control API's address and key)
/// are listed in ``needsRestart``: the rest of the plan applies, and those wait for `down` and `up`.
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

    public init() {}

    /// The plan that turns `old` into `new`.
    public init(from old: Manifest, to new: Manifest) {
        let before = Dictionary(old.daemons.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let names = Set(new.daemons.map(\.name))
        for spec in new.daemons {
            switch before[spec.name] {
            case nil: added.append(spec.name)
            case let previous? where previous != spec: changed.append(spec.name)
            default: unchanged.append(spec.name)
            }
        }
        let following = Set(Self.followers(of: Set(changed), in: new))
        restarted = unchanged.filter { following.contains($0) }
        unchanged.removeAll { following.contains($0) }
        removed = old.daemons.map(\.name).filter { !names.contains($0) }
        if old.stateDirectory != new.stateDirectory { needsRestart.append("state_dir") }
        if old.control != new.control { needsRestart.append("control") }
    }

    /// The daemons of `manifest` that restart when `names` restart: those with `restart_with_dependencies` that
    /// depend on one of them, and on one of those in turn; in the manifest's order, `names` left out.
    public static func followers(of names: Set<String>, in manifest: Manifest) -> [String] {
        var restarting = names
        var grew = true
        while grew {
            grew = false
            for spec in manifest.daemons where spec.enabled && spec.restartWithDependencies {
                if !restarting.contains(spec.name), spec.dependencies.contains(where: { restarting.contains($0.name) })
                {
                    restarting.insert(spec.name)
                    grew = true
                }
            }
        }
        return manifest.daemons.map(\.name).filter { restarting.contains($0) && !names.contains($0) }
    }

    /// True when no daemon is added, removed or changed.
    public var changesNothing: Bool { added.isEmpty && removed.isEmpty && changed.isEmpty }

    /// The manifest to run: `new`, keeping what only `down` and `up` can change from `old`.
    public static func applicable(_ new: Manifest, keeping old: Manifest) -> Manifest {
        var result = new
        result.stateDirectory = old.stateDirectory
        result.control = old.control
        return result
    }

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
