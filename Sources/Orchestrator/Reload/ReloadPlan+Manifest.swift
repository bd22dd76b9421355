import DaemonKit
import Manifest

/// What applying a new version of the manifest does: which daemons start, stop, restart or stay as they are,
/// found by comparing each daemon's resolved spec (defaults, `env` and interpolation already merged in, so a
/// change under `defaults` or `env` changes exactly the daemons it reaches).
///
/// Top-level settings the running supervisor cannot take on (`state_dir`, the control API's address and key)
/// are listed in ``needsRestart``: the rest of the plan applies, and those wait for `down` and `up`.
extension ReloadPlan {
    /// The plan that turns `old` into `new`.
    public init(from old: Manifest, to new: Manifest) {
        self.init()
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
        // A dependency names a daemon as the manifest does: any copy of `web` restarting restarts web's followers.
        var groups = Set(names.map { String(DaemonSpec.group(of: $0)) })
        var grew = true
        while grew {
            grew = false
            for spec in manifest.daemons where spec.enabled && spec.restartWithDependencies {
                if !restarting.contains(spec.name), spec.dependencies.contains(where: { groups.contains($0.name) }) {
                    restarting.insert(spec.name)
                    groups.insert(String(spec.group))
                    grew = true
                }
            }
        }
        return manifest.daemons.map(\.name).filter { restarting.contains($0) && !names.contains($0) }
    }

    /// The manifest to run: `new`, keeping what only `down` and `up` can change from `old`.
    public static func applicable(_ new: Manifest, keeping old: Manifest) -> Manifest {
        var result = new
        result.stateDirectory = old.stateDirectory
        result.control = old.control
        return result
    }
}
