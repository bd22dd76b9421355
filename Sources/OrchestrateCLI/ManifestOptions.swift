import ArgumentParser
import Manifest

/// The options every command that reads the manifest takes.
struct ManifestOptions: ParsableArguments {
    @Option(
        name: [.customShort("f"), .customLong("file")],
        help: "The manifest (default: $ORCHESTRATE_FILE, ./daemons.yaml, or the nearest one in a parent folder)."
    )
    var file: String?

    @Option(
        name: .customLong("set"),
        help: ArgumentHelp(
            "Set a manifest field, such as daemons.web.enabled=false (repeatable).",
            valueName: "path=value"
        )
    )
    var set: [String] = []

    /// Finds and loads the manifest; prints warnings; throws a usage failure with every error.
    func load(selection: DaemonSelection = DaemonSelection()) throws -> LoadedManifest {
        try Self.load(file: file, set: set, selection: selection)
    }

    /// Where the supervisor reloads the manifest from: the same file (named as in messages now), this process's
    /// environment and these `--set` arguments.
    func source(for manifest: Manifest, selection: DaemonSelection = DaemonSelection()) -> ManifestLoader {
        let label = (try? ManifestLocator().locate(explicit: file).label) ?? manifest.file
        return ManifestLoader(
            file: manifest.file,
            fileLabel: label,
            kinds: manifest.kinds,
            setArguments: set,
            selection: selection
        )
    }

    /// Loads the manifest named by `file` (or found by the lookup order) with `set` overrides.
    static func load(
        file: String?,
        set: [String],
        selection: DaemonSelection = DaemonSelection()
    ) throws
        -> LoadedManifest
    {
        let location: ManifestLocator.Location
        do {
            location = try ManifestLocator().locate(explicit: file)
        } catch {
            throw CommandFailure.usage(error.description)
        }
        do {
            let loaded = try ManifestLoader(
                file: location.path,
                fileLabel: location.label,
                kinds: CommandKinds.current,
                setArguments: set,
                selection: selection
            ).load()
            for warning in loaded.warnings { Terminal.warning(warning) }
            return loaded
        } catch {
            if error.errors.allSatisfy({ $0.code == .selection }) {
                throw CommandFailure.usage(error.errors.map(\.description).joined(separator: "\n"))
            }
            let count = error.errors.count
            let header = "\(location.label) is not valid (\(count) error\(count == 1 ? "" : "s")):"
            throw CommandFailure.usage(
                header + "\n" + error.errors.map { "  " + $0.description }.joined(separator: "\n")
            )
        }
    }
}

/// The manifest options of `logs` and `events`, whose `-f` means "follow" (as in `tail -f`): the manifest is `--file`
/// there, and a `-f FILE` written before the command is read as `--file FILE`.
struct LogsManifestOptions: ParsableArguments {
    @Option(
        name: .customLong("file"),
        help: "The manifest (default: $ORCHESTRATE_FILE, ./daemons.yaml, or the nearest one above)."
    )
    var file: String?

    @Option(
        name: .customLong("set"),
        help: ArgumentHelp(
            "Set a manifest field, such as daemons.web.enabled=false (repeatable).",
            valueName: "path=value"
        )
    )
    var set: [String] = []

    /// The same options as every other command takes.
    var manifestOptions: ManifestOptions {
        var options = ManifestOptions()
        options.file = file
        options.set = set
        return options
    }
}

extension CompletionKind {
    /// The names of the manifest's daemons (those `include` accepts), for shells completing a NAME argument: the
    /// manifest the command line names with -f or --file, else the one the lookup finds. Nothing when it is not
    /// valid.
    static func daemonNames(where include: @escaping @Sendable (DaemonSpec) -> Bool = { _ in true }) -> CompletionKind {
        .custom { words, _, prefix in
            let flag = words.lastIndex { $0 == "-f" || $0 == "--file" }
            let file = flag.flatMap { words.indices.contains($0 + 1) ? words[$0 + 1] : nil }
            guard let location = try? ManifestLocator().locate(explicit: file),
                let loaded = try? ManifestLoader(
                    file: location.path,
                    kinds: CommandKinds.current
                ).load()
            else { return [] }
            return loaded.manifest.daemons.filter { $0.name.hasPrefix(prefix) && include($0) }.map(\.name)
        }
    }
}
