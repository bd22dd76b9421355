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

            --since and --until keep the lines written in that span (a duration back from now, such as 10m, or an ISO 8601 \
            time), --grep those whose text matches a regular expression; with any of them, every such line is shown, the \
            rotated files (NAME.log.1, …) read too, oldest first, unless -n limits it. --json prints one object a line: \
            time, daemon, stream (output for what the daemon's commands wrote, their standard output and error in one \
            pipe so that their order is kept; orchestrate for the supervisor's notes) and line.

            Exit status: 0 shown; 2 no such daemon, or a bad --since, --until or --grep.

            Examples:
              orchestrate logs -n 50
              orchestrate logs core orchestrate -f
              orchestrate logs --since 1h --grep 'error|timeout'
              orchestrate logs issues-sync --since 2026-12-07T09:00:00Z --until 2026-12-07T10:00:00Z --json
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

    @Option(
        name: [.customShort("n"), .customLong("lines")],
        help: "How many lines of each log to show first (20; with --since, --until or --grep, every line)."
    )
    var lines: Int?

    @Option(help: ArgumentHelp("Only lines written since then: a duration back from now (10m) or an ISO 8601 time."))
    var since: String?

    @Option(help: ArgumentHelp("Only lines written until then: a duration back from now (5m) or an ISO 8601 time."))
    var until: String?

    @Option(help: ArgumentHelp("Only lines whose text matches this regular expression.", valueName: "regex"))
    var grep: String?

    @Flag(help: "Print one JSON object a line: time, daemon, stream, line.")
    var json = false

    @Flag(help: "Leave out the daemon's name in front of each line.")
    var noPrefix = false

    /// The lines the options select.
    func filter() throws -> LogReader.Filter {
        let now = Date()
        func time(_ option: String, _ text: String?) throws -> Date? {
            guard let text else { return nil }
            guard let moment = EventQuery.Since(text) else {
                throw CommandFailure.usage(
                    "\(option) '\(text)' is neither a duration (10m, 90s) nor an ISO 8601 time (2026-12-07T09:00:00Z)"
                )
            }
            return moment.date(at: now)
        }
        do {
            return try LogReader.Filter(since: time("--since", since), until: time("--until", until), grep: grep)
        } catch let failure as CommandFailure {
            throw failure
        } catch {
            throw CommandFailure.usage("--grep '\(grep ?? "")' is not a valid regular expression: \(error)")
        }
    }

    func run() throws {
        let filter = try filter()
        let manifest = logsManifest.manifestOptions
        let (stateFolder, known) = try Self.logs(of: manifest)
        // A daemon with replicas is each of its copies (`web` for web#1…web#N).
        var selected: [String] = []
        for name in names { selected += try CommandFailure.daemons(name, among: known) }
        if follow {
            try ControlContext(manifest).autoStart(manifest)
        }
        if names.isEmpty { selected = known }
        let width = selected.map(\.count).max() ?? 0
        func show(_ lines: [LogReader.Line]) {
            Terminal.out(
                lines.map { line in
                    if json { return LogLine(line).json + "\n" }
                    return (noPrefix ? "" : line.daemon.padded(to: width) + " | ") + line.text + "\n"
                }.joined()
            )
        }
        var reader = LogReader(stateFolder: stateFolder, names: selected)
        if filter.isEmpty {
            show(reader.tail(lines ?? 20))
        } else {
            show(reader.select(filter, last: lines))
        }
        guard follow else { return }
        reader.follow { lines in
            show(lines.filter(filter.passes))
            return true
        }
    }

    /// The state folder whose logs the manifest's daemons write, and their names with the supervisor's own: from the
    /// manifest, or, when its file is gone or not valid now, from the supervisor that runs for it.
    static func logs(of manifest: ManifestOptions) throws -> (stateFolder: StateFolder, names: [String]) {
        // The running supervisor's daemons first: it may run copies the file does not say (`orchestrate scale`).
        if let context = try? ControlContext(manifest), let document = try? context.client.status() {
            return (context.client.stateFolder, document.daemons.map(\.name) + [StateFolder.supervisorLogName])
        }
        let loaded = try manifest.load()
        return (loaded.manifest.stateFolder, loaded.manifest.daemons.map(\.name) + [StateFolder.supervisorLogName])
    }
}
