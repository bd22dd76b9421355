import ArgumentParser
import FoundationEssentials
import Manifest
import Orchestrator

#if canImport(Glibc)
import Glibc
#endif

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check the manifest and print a summary, or every error (exit status 2).",
        discussion: """
            Reads the manifest as `up` would (interpolation, env_file, ORCHESTRATE__ overrides and --set, defaults) and \
            prints a summary such as "3 daemons: 1 periodic, 1 watcher, 1 rpc", or every error with its file, line and \
            column. Warnings (an unset variable, a bare $ORCHESTRATE_RUN) go to stderr.

            Exit status: 0 valid; 2 not valid (or not found).

            Examples:
              orchestrate validate
              orchestrate -f ci/daemons.yaml --set daemons.core.enabled=false validate
            """
    )

    @OptionGroup var manifest: ManifestOptions

    func run() throws {
        let loaded = try manifest.load()
        Terminal.out(loaded.manifest.summary + "\n")
    }
}

struct Config: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Print the resolved manifest: defaults, interpolation and overrides applied.",
        discussion: """
            Every field is shown with its value after interpolation, defaults and overrides (durations and sizes in canonical \
            form); a value set by an ORCHESTRATE__ variable or --set is marked with where it came from.

            Exit status: 0 printed; 2 the manifest is not valid.

            Examples:
              orchestrate config
              orchestrate --set daemons.issues-sync.interval=5s config --json
            """
    )

    @OptionGroup var manifest: ManifestOptions

    @Flag(help: "Print JSON instead of YAML.")
    var json = false

    func run() throws {
        let renderer = ConfigRenderer(try manifest.load())
        Terminal.out(json ? renderer.renderJSON() : renderer.renderYAML())
    }
}

struct Files: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "files",
        abstract: "List the files a watcher daemon covers now, relative to the manifest's folder.",
        discussion: """
            The files under the watcher's paths that its patterns, ignore and gitignore rules let through, one per line, \
            sorted: the files whose change would start a run.

            Exit status: 0 listed; 1 its paths cannot be read; 2 no such watcher, or the manifest is not valid.

            Example:
              orchestrate files code-atlas
            """
    )

    @OptionGroup var manifest: ManifestOptions

    @Argument(help: "The watcher daemon.", completion: .daemonNames { $0.settings(as: WatcherSpec.self) != nil })
    var name: String

    func run() throws {
        let loaded = try manifest.load()
        guard let daemon = loaded.manifest[daemon: name] else {
            let names = loaded.manifest.daemons.map(\.name)
            let hint = Suggestion.didYouMean(name, among: names).map { "; \($0)" } ?? ""
            throw CommandFailure.usage("no daemon named '\(name)'\(hint)")
        }
        guard let watcher = daemon.settings(as: WatcherSpec.self) else {
            throw CommandFailure.usage("'\(name)' is \(daemon.kindTitle); files lists what a watcher covers")
        }
        do {
            let files = try watcher.coveredFiles(relativeTo: loaded.manifest.directory)
            Terminal.out(files.map { $0 + "\n" }.joined())
        } catch {
            throw CommandFailure.failure(String(describing: error))
        }
    }
}

struct Schema: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Print the manifest's JSON Schema (draft 2020-12).",
        discussion: """
            The schema editors use to check and complete daemons.yaml (schemas/daemons.schema.json in the repository holds \
            it for the built-in kinds); it needs no manifest.

            Exit status: 0.

            Example:
              orchestrate schema > daemons.schema.json
            """
    )

    func run() throws {
        Terminal.out(JSONSchema.manifest(for: CommandKinds.current).serialized(pretty: true) + "\n")
    }
}

/// A page of the manual (`docs/manifest.md`, `docs/cli.md`) with its generated blocks made anew: the manifest's field
/// tables from the kinds' shapes, the commands' from their definitions (`make docs` writes them; a test keeps the
/// committed files equal to this command's output). Hidden: it serves the manual, not the daemons.
struct Reference: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reference",
        abstract: "Print a page of the manual (docs/manifest.md, docs/cli.md) with its generated blocks made anew.",
        shouldDisplay: false
    )

    @Argument(help: "The page: its hand-written text is kept, its generated blocks replaced.")
    var document: String

    func run() throws {
        guard let bytes = FileManager.default.contents(atPath: document) else {
            throw CommandFailure.usage("\(document) cannot be read")
        }
        do {
            let text = String(decoding: bytes, as: UTF8.self)
            Terminal.out(try ManifestReference.update(text, kinds: CommandKinds.current, more: CLIReference.blocks))
        } catch {
            throw CommandFailure.usage("\(document): \(error)")
        }
    }
}
