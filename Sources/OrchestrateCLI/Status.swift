import ArgumentParser
import DaemonKit
import FoundationEssentials
import Orchestrator

#if canImport(Glibc)
import Glibc
#endif

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the daemons: a table, or the status document with --json. Exit 3 when nothing runs.",
        discussion: """
            The table has each daemon's kind, state, runs, failures, restarts, last and next run and live PIDs, and why a \
            daemon waits or failed. The status document (--json) has the supervisor's PID, version, start time and last \
            reload, and each daemon's record; docs/control-api.md describes every field.

            Exit status: 0 shown; 2 no such daemon; 3 no supervisor runs for this manifest.

            Examples:
              orchestrate status
              orchestrate status core --json
              orchestrate status --watch
            """
    )

    @OptionGroup var manifest: ManifestOptions

    @Argument(help: "Only this daemon.", completion: .daemonNames())
    var name: String?

    @Flag(help: "Print the status document for scripts (fields may be added, never renamed).")
    var json = false

    @Flag(
        help:
            "Keep showing the table, redrawn as daemons change and each second, until Ctrl-C (`top` is the interactive form)."
    )
    var watch = false

    func run() throws {
        let context = try ControlContext(manifest)
        if json {
            do {
                let text = try context.client.statusJSON()
                guard let name else {
                    Terminal.out(text + "\n")
                    return
                }
                let document = try context.client.status()
                guard let record = document.daemons.first(where: { $0.name == name }) else {
                    throw CommandFailure.usage("no daemon named '\(name)'")
                }
                Terminal.out(String(decoding: try StatusDocument.encoder.encode(record), as: UTF8.self) + "\n")
            } catch let failure as SupervisorClient.Failure {
                throw context.fail(failure)
            }
            return
        }
        guard watch else {
            do {
                Terminal.out(try context.client.statusText(only: name, colour: Terminal.usesColour))
            } catch let failure where failure.status == 404 {
                throw CommandFailure.usage(failure.message)
            } catch {
                throw context.fail(error)
            }
            return
        }
        try LiveStatus(context: context, interactive: false, only: name).run()
    }
}
