import ArgumentParser
import DaemonKit
import Foundation
import Orchestrator

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the daemons: a table, or the status document with --json. Exit 3 when nothing runs."
    )

    @OptionGroup var manifest: ManifestOptions

    @Argument(help: "Only this daemon.")
    var name: String?

    @Flag(help: "Print the status document (DESIGN.md §6) for scripts.")
    var json = false

    @Flag(help: "Keep showing the table as daemons change, until Ctrl-C.")
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
        var document: StatusDocument
        do {
            document = try context.client.status()
        } catch {
            throw context.fail(error)
        }
        if let name, !document.daemons.contains(where: { $0.name == name }) {
            throw CommandFailure.usage("no daemon named '\(name)'")
        }
        Terminal.out(render(document))
        guard watch else { return }
        do {
            try context.client.events { record in
                if let index = document.daemons.firstIndex(where: { $0.name == record.name }) {
                    document.daemons[index] = record
                } else {
                    document.daemons.append(record)
                }
                Terminal.out((Terminal.isTTY ? "\u{1B}[H\u{1B}[2J" : "\n") + render(document))
                return true
            }
        } catch {
            throw context.fail(error)
        }
    }

    private func render(_ document: StatusDocument) -> String {
        let records = document.daemons.filter { name == nil || $0.name == name }
        let header = ["NAME", "KIND", "STATE", "RUNS", "FAILED", "RESTARTS", "LAST RUN", "NEXT RUN", "PIDS"]
        let rows = records.map { record -> [String] in
            [
                record.name, record.kind, record.state.name, "\(record.runs)", "\(record.failures)",
                "\(record.restarts)",
                Self.describe(record.lastRun), record.nextRun.map(Self.relative) ?? "-",
                record.pids.isEmpty ? "-" : record.pids.map(String.init).joined(separator: ","),
            ]
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String], colour: String? = nil) -> String {
            var text = zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
            if let colour, Terminal.usesColour { text = colour + text + "\u{1B}[0m" }
            return text + "\n"
        }
        var out = "supervisor pid \(document.supervisor.pid), \(document.supervisor.manifest)\n"
        if let reload = document.lastReload {
            let when = Self.relative(reload.at)
            if reload.ok, let plan = reload.plan {
                out +=
                    "last reload \(when) (\(reload.trigger)): applied, \(plan.added.count) added, "
                    + "\(plan.changed.count) changed, \(plan.removed.count) removed, \(plan.unchanged.count) unchanged\n"
            } else {
                let failed =
                    "last reload \(when) (\(reload.trigger)): not applied; the daemons run the last valid version"
                out += (Terminal.usesColour ? "\u{1B}[31m\(failed)\u{1B}[0m" : failed) + "\n"
                for error in reload.errors { out += "  \(error)\n" }
            }
        }
        out += line(header, colour: "\u{1B}[1m")
        for (record, row) in zip(records, rows) {
            let colour: String? =
                switch record.state {
                case .failed: "\u{1B}[31m"
                case .backoff: "\u{1B}[33m"
                default: nil
                }
            out += line(row, colour: colour)
            if let error = record.lastError, record.state == .failed || record.state == .backoff {
                out += "  last error: \(error)\n"
            }
        }
        return out
    }

    static func describe(_ run: DaemonRecord.Run?) -> String {
        guard let run else { return "-" }
        let when = relative(run.startedAt)
        guard let duration = run.durationMilliseconds else { return "\(when), running" }
        if run.timedOut { return "\(when), timed out" }
        if let code = run.exitCode { return "\(when), exit \(code), \(duration) ms" }
        return "\(when), signal \(run.signal ?? 0)"
    }

    static func relative(_ date: Date) -> String {
        let seconds = Int(date.timeIntervalSinceNow.rounded())
        let magnitude = abs(seconds)
        if magnitude == 0 { return "now" }
        let text =
            magnitude < 60
            ? "\(magnitude)s" : magnitude < 3_600 ? "\(magnitude / 60)m\(magnitude % 60)s" : "\(magnitude / 3_600)h"
        return seconds < 0 ? "\(text) ago" : "in \(text)"
    }
}
