import DaemonKit

/// The daemons one supervisor runs when not all of the manifest's: `up --only NAME…` (with what they depend on,
/// unless `--no-deps`) and `up --except NAME…`. The loader applies it to every load, so a hot reload keeps the same
/// selection: a daemon added to the file is not started unless selected, and a selected one's changes apply.
public struct DaemonSelection: Hashable, Sendable {
    /// The daemons asked for; empty for every daemon.
    public var only: [String]
    /// The daemons left out, even when a selected daemon depends on them.
    public var except: [String]
    /// Whether the daemons the selected ones depend on (directly or not) run too.
    public var withDependencies: Bool

    /// Makes a selection; with the defaults, every daemon.
    public init(only: [String] = [], except: [String] = [], withDependencies: Bool = true) {
        self.only = only
        self.except = except
        self.withDependencies = withDependencies
    }

    /// Whether it keeps every daemon.
    public var isEverything: Bool { only.isEmpty && except.isEmpty }

    /// The command-line arguments that make this selection (`--only a b --no-deps`), for a supervisor started in the
    /// background.
    public var arguments: [String] {
        var arguments: [String] = []
        if !only.isEmpty { arguments += ["--only"] + only }
        if !except.isEmpty { arguments += ["--except"] + except }
        if !withDependencies { arguments.append("--no-deps") }
        return arguments
    }

    /// `manifest` with the selected daemons alone, in the manifest's order, and a warning for each dependency
    /// dropped because its daemon is left out (the daemon then starts without waiting for it). Throws an error for
    /// each name the manifest does not have.
    public func apply(to manifest: Manifest) throws(ManifestErrors) -> (manifest: Manifest, warnings: [String]) {
        guard !isEverything else { return (manifest, []) }
        let names = manifest.declaredDaemons.map(\.name)
        let unknown = [("--only", only), ("--except", except)].flatMap { option, given in
            given.filter { manifest.members(of: $0).isEmpty }.map { name in
                ManifestError(
                    code: .selection,
                    origin: nil,
                    path: "",
                    message: "\(option) \(name): \(PathText.name(of: manifest.file)) has no daemon named '\(name)'",
                    suggestion: Suggestion.didYouMean(name, among: names)
                )
            }
        }
        guard unknown.isEmpty else { throw ManifestErrors(unknown) }

        let left = Set(except)
        var kept = Set(only.isEmpty ? names : only).subtracting(left)
        if withDependencies {
            var next = Array(kept)
            while let name = next.popLast() {
                for dependency in manifest.members(of: name).first?.dependencies ?? []
                where !left.contains(dependency.name) && kept.insert(dependency.name).inserted {
                    next.append(dependency.name)
                }
            }
        }
        var warnings: [String] = []
        var selected = manifest
        selected.declaredReplicas = manifest.declaredReplicas.filter { kept.contains($0.key) }
        selected.daemons = manifest.daemons.filter { kept.contains(String($0.group)) }.map { daemon in
            var daemon = daemon
            let dropped = daemon.dependencies.filter { !kept.contains($0.name) }
            guard !dropped.isEmpty else { return daemon }
            daemon.dependencies.removeAll { !kept.contains($0.name) }
            let list = dropped.map { "'\($0.name)'" }.joined(separator: ", ")
            let warning =
                "\(daemon.group) depends on \(list), which this supervisor does not run: it starts without waiting"
            if !warnings.contains(warning) { warnings.append(warning) }
            return daemon
        }
        return (selected, warnings)
    }
}
