import Manifest

/// Which daemon kinds this build's supervisor can run.
///
/// The manifest models all four kinds, but a kind is run only once its runner exists. Until then any
/// command that would run a manifest refuses one that uses it, naming the daemon and the kind, so that
/// nothing is accepted and silently not done.
public enum KindSupport {
    /// The kinds the supervisor runs. Each kind's runner adds its name here.
    public static let runnable: Set<String> = ["periodic", "watcher", "rpc"]

    /// The enabled daemons of `manifest` whose kind cannot be run yet.
    public static func unsupported(in manifest: Manifest) -> [DaemonSpec] {
        manifest.daemons.filter { $0.enabled && !runnable.contains($0.kindName) }
    }

    /// Why `manifest` cannot be run by this build, or nil when it can.
    public static func refusal(for manifest: Manifest) -> String? {
        let unsupported = unsupported(in: manifest)
        guard !unsupported.isEmpty else { return nil }
        let lines = unsupported.map { "  daemon '\($0.name)' is \($0.kindName.withArticle) daemon" }
        let example = unsupported[0].name
        return "this version of orchestrate cannot run these daemons yet:\n" + lines.joined(separator: "\n")
            + "\nto run the others, disable these (enabled: false, or --set daemons.\(example).enabled=false)"
    }
}

extension String {
    /// "a periodic", "an rpc": the kind with its indefinite article (by sound: "rpc" is read letter by letter).
    var withArticle: String {
        (self == "rpc" || first.map { "aeiou".contains($0) } == true ? "an " : "a ") + self
    }
}
