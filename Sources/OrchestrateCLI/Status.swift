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

            With --ready and a NAME, nothing is shown: the exit status says whether that daemon is ready (running, idle \
            between runs, or completed), for health checks such as a Kubernetes exec probe.

            Exit status: 0 shown (with --ready: ready); 1 with --ready, not ready; 2 no such daemon; 3 no supervisor runs \
            for this manifest.

            Examples:
              orchestrate status
              orchestrate status core --json
              orchestrate status --watch
              orchestrate status web --ready
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

    @Flag(help: "With NAME: print nothing, exit 0 when the daemon is ready and 1 when it is not.")
    var ready = false

    func run() throws {
        let context = try ControlContext(manifest)
        if ready { return try checkReady(context) }
        if json {
            do {
                let text = try context.client.statusJSON()
                guard let name else {
                    Terminal.out(text + "\n")
                    return
                }
                let document = try context.client.status()
                let records = document.records(named: name)
                guard let record = records.first else { throw CommandFailure.usage("no daemon named '\(name)'") }
                // One daemon's record; a daemon with replicas, its copies' records in a list.
                let encoded =
                    records.count == 1 && record.name == name
                    ? try StatusDocument.encoder.encode(record) : try StatusDocument.encoder.encode(records)
                Terminal.out(String(decoding: encoded, as: UTF8.self) + "\n")
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

    /// `--ready`: nothing printed; exit 0 when the daemon is ready, 1 when not.
    private func checkReady(_ context: ControlContext) throws {
        guard let name else { throw CommandFailure.usage("--ready needs the daemon's NAME") }
        let document: StatusDocument
        do {
            document = try context.client.status()
        } catch {
            throw context.fail(error)
        }
        let records = document.records(named: name)
        guard !records.isEmpty else { throw CommandFailure.usage("no daemon named '\(name)'") }
        // A daemon with replicas is ready when every copy is.
        for record in records where ![.running, .idle, .completed].contains(record.state) {
            throw CommandFailure.failure("\(record.name) is not ready: it is \(record.state)")
        }
    }
}
