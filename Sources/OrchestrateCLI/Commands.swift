import ArgumentParser
import Manifest
import Orchestrator

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check the manifest and print a summary, or every error (exit status 2)."
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
        abstract: "Print the resolved manifest: defaults, interpolation and overrides applied."
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
        abstract: "List the files a watcher daemon covers now, relative to the manifest's folder."
    )

    @OptionGroup var manifest: ManifestOptions

    @Argument(help: "The watcher daemon.")
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
        abstract: "Print the manifest's JSON Schema (draft 2020-12)."
    )

    func run() throws {
        Terminal.out(JSONSchema.manifest(for: CommandKinds.current).serialized(pretty: true) + "\n")
    }
}
