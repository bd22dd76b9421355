import ArgumentParser
import DaemonKit
import FoundationEssentials
import Manifest
import Orchestrator

#if canImport(Glibc)
import Glibc
#endif

struct Logs: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Show the daemons' logs, interleaved by time with each daemon's name in front.",
        discussion: """
            The logs are read from STATE_DIR/logs (NAME.log for each daemon, orchestrate.log for the supervisor's own), \
            so they can be read with or without a supervisor running; -f follows them (a rotated log is read again from \
            its start).

            Exit status: 0 shown; 2 no such daemon.

            Examples:
              orchestrate logs -n 50
              orchestrate logs core orchestrate -f
            """
    )

    @OptionGroup var logsManifest: LogsManifestOptions

    @Argument(
        help: "Only these daemons (\"orchestrate\" is the supervisor's own log).",
        completion: .daemonNames()
    )
    var names: [String] = []

    @Flag(name: [.customShort("f"), .customLong("follow")], help: "Keep printing new lines until Ctrl-C.")
    var follow = false

    @Option(name: [.customShort("n"), .customLong("lines")], help: "How many lines of each log to show first.")
    var lines: Int = 20

    func run() throws {
        let manifest = logsManifest.manifestOptions
        let stateFolder: StateFolder
        var known: [String]
        do {
            let loaded = try manifest.load()
            stateFolder = loaded.manifest.stateFolder
            known = loaded.manifest.daemons.map(\.name)
        } catch let failure as CommandFailure {
            // The file is gone or not valid now, but its supervisor runs: its daemons' logs still are there.
            guard let context = try? ControlContext(manifest), let document = try? context.client.status() else {
                throw failure
            }
            stateFolder = context.client.stateFolder
            known = document.daemons.map(\.name)
        }
        known.append(StateFolder.supervisorLogName)
        for name in names where !known.contains(name) {
            let hint = Suggestion.didYouMean(name, among: known).map { "; \($0)" } ?? ""
            throw CommandFailure.usage("no daemon named '\(name)'\(hint)")
        }
        if follow {
            try ControlContext(manifest).autoStart(manifest)
        }
        let selected = names.isEmpty ? known : names
        let width = selected.map(\.count).max() ?? 0
        func show(_ lines: [LogReader.Line]) {
            Terminal.out(
                lines.map { $0.daemon.padded(to: width) + " | " + $0.text + "\n" }
                    .joined()
            )
        }
        var reader = LogReader(stateFolder: stateFolder, names: selected)
        show(reader.tail(lines))
        guard follow else { return }
        reader.follow { lines in
            show(lines)
            return true
        }
    }
}
