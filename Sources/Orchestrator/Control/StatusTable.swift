import DaemonKit
import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// The table `orchestrate status` prints. The supervisor renders it (`GET /v1/status?format=text`), so that the
/// command prints it without decoding the status document: decoding costs the short-lived process more than the
/// rest of its work.
public enum StatusTable {
    /// The table of `document`'s daemons (only `name`'s when given, or its copies'), with the last reload's outcome above it;
    /// `colour` adds ANSI colours (bold header, failed in red, backoff in yellow). With `selected` (`orchestrate
    /// top`), each row starts with a marker column, `>` on the selected daemon's row (shown in reverse with colour).
    public static func render(
        _ document: StatusDocument,
        only name: String? = nil,
        colour: Bool = false,
        selected: String?? = nil
    ) -> String {
        let records = name.map { document.records(named: $0) } ?? document.daemons
        let header = ["NAME", "KIND", "STATE", "RUNS", "FAILED", "RESTARTS", "LAST RUN", "NEXT RUN", "PIDS"]
        let rows = records.map { record -> [String] in
            [
                record.name, record.kind, record.state.name, "\(record.runs)", "\(record.failures)",
                "\(record.restarts)",
                describe(record.lastRun), record.nextRun.map { relative($0) } ?? "-",
                record.pids.isEmpty ? "-" : record.pids.map(String.init).joined(separator: ","),
            ]
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String], colour colourCode: String? = nil, marked: Bool = false) -> String {
            var text = zip(cells, widths).map { $0 + String(repeating: " ", count: max(0, $1 - $0.count)) }
                .joined(separator: "  ").trimmingWhitespace()
            if selected != nil { text = (marked ? "> " : "  ") + text }
            if let code = colourCode, colour { text = code + text + "\u{1B}[0m" }
            if marked, colour { text = "\u{1B}[7m" + text + "\u{1B}[0m" }
            return text + "\n"
        }
        var out = "supervisor pid \(document.supervisor.pid), \(document.supervisor.manifest)\n"
        if let reload = document.lastReload {
            let when = relative(reload.at)
            if reload.ok, let plan = reload.plan {
                out += "last reload \(when) (\(reload.trigger)): applied, \(plan.summary)\n"
            } else {
                let failed =
                    "last reload \(when) (\(reload.trigger)): not applied; the daemons run the last valid version"
                out += (colour ? "\u{1B}[31m\(failed)\u{1B}[0m" : failed) + "\n"
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
            out += line(row, colour: colour, marked: selected.map { $0 == record.name } ?? false)
            if let error = record.lastError, record.state == .failed || record.state == .backoff {
                out += "  last error: \(error)\n"
            }
            if record.state == .waiting, let waitingFor = record.health["waiting_for"] {
                out += "  waiting for \(waitingFor)\n"
            }
        }
        return out
    }

    public static func describe(_ run: DaemonRecord.Run?) -> String {
        guard let run else { return "-" }
        let when = relative(run.startedAt)
        guard let duration = run.durationMilliseconds else { return "\(when), running" }
        if run.timedOut { return "\(when), timed out" }
        if let code = run.exitCode { return "\(when), exit \(code), \(duration) ms" }
        return "\(when), signal \(run.signal ?? 0)"
    }

    public static func relative(_ date: Date) -> String {
        let seconds = Int(date.timeIntervalSinceNow.rounded())
        let magnitude = abs(seconds)
        if magnitude == 0 { return "now" }
        let text =
            magnitude < 60
            ? "\(magnitude)s" : magnitude < 3_600 ? "\(magnitude / 60)m\(magnitude % 60)s" : "\(magnitude / 3_600)h"
        return seconds < 0 ? "\(text) ago" : "in \(text)"
    }
}
