import ArgumentParser
import DaemonKit
import FoundationEssentials
import Manifest
import Orchestrator

struct Events: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Show the supervisor's events: state changes, runs with their exit status, reloads.",
        discussion: """
            One line each: the time (UTC), the daemon, the event and what happened. The supervisor keeps its last \
            1,000 events in memory (not the records and log notes), so they can be read without following: without \
            -f, every kept event (since --since); with -f, the new ones as they happen (after the kept ones since \
            --since). --json prints each event as one JSON object a line: {"id", "time", "event", "daemon", "data"} \
            (docs/control-api.md describes each event's data).

            Exit status: 0 shown (with -f: the supervisor stopped); 2 no such daemon or a --since that is not a \
            time; 3 no supervisor runs for this manifest.

            Examples:
              orchestrate events
              orchestrate events issues-sync --since 10m
              orchestrate events -f --json
            """
    )

    @OptionGroup var eventsManifest: LogsManifestOptions

    @Argument(help: "Only the events of these daemons.", completion: .daemonNames())
    var names: [String] = []

    @Flag(name: [.customShort("f"), .customLong("follow")], help: "Keep printing new events until Ctrl-C.")
    var follow = false

    @Flag(help: "Print one JSON object a line (fields may be added, never renamed).")
    var json = false

    @Option(
        help: ArgumentHelp("Only events since then: a duration (10m, 90s, 1h) or an ISO 8601 time.", valueName: "D")
    )
    var since: String?

    func run() throws {
        let context = try ControlContext(eventsManifest.manifestOptions)
        var known = context.manifest?.daemons.map(\.name) ?? []
        if !names.isEmpty, context.manifest == nil {
            // Found by its record (the manifest is not valid now): the daemons it runs are the ones to name.
            do {
                known = try context.client.status().daemons.map(\.name)
            } catch {
                throw context.fail(error)
            }
        }
        for name in names { _ = try CommandFailure.daemons(name, among: known) }
        var start: EventQuery.Since?
        if let since {
            guard let parsed = EventQuery.Since(since) else {
                throw CommandFailure.usage("--since '\(since)' is neither a duration (10m, 90s) nor an ISO 8601 time")
            }
            start = parsed
        }
        let query = EventQuery(format: .jsonl, since: start, daemons: names, records: false, follow: follow)
        let width = max(12, (names.isEmpty ? known : names).map(\.count).max() ?? 0)
        let colour = Terminal.usesColour
        do {
            try context.client.events(query) { line, text in
                // A record that changed says again what its state and run events say.
                if case .record = line.data { return true }
                Terminal.out(json ? text + "\n" : EventText.render(line, width: width, colour: colour))
                return true
            }
        } catch {
            throw context.fail(error)
        }
    }
}
