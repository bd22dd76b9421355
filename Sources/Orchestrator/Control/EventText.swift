import DaemonKit
import FoundationEssentials

/// One event as `orchestrate events` prints it on a line (a refused reload adds a line per error):
///
///     2026-12-07T09:30:00.123Z  tick          run.finished  exited 0 after 12 ms
///
/// the time, the daemon (`-` for a reload or the supervisor), the event's name, and what happened.
public enum EventText {
    /// The line of `line`, with the daemon's name padded to `width`; `colour` adds ANSI colours (failures red,
    /// backoff yellow, recoveries and applied reloads green).
    public static func render(_ line: EventLine, width: Int, colour: Bool = false) -> String {
        let (text, tone) = describe(line)
        let daemon = line.daemon ?? "-"
        let head =
            Timestamp.text(line.time) + "  " + daemon + String(repeating: " ", count: max(0, width - daemon.count))
            + "  " + line.event + String(repeating: " ", count: max(0, 12 - line.event.count)) + "  "
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if colour, let code = tone?.code { lines[0] = code + lines[0] + "\u{1B}[0m" }
        return head + lines[0] + "\n" + lines.dropFirst().map { "  " + $0 + "\n" }.joined()
    }

    enum Tone {
        case bad, warning, good

        var code: String {
            switch self {
            case .bad: "\u{1B}[31m"
            case .warning: "\u{1B}[33m"
            case .good: "\u{1B}[32m"
            }
        }
    }

    /// What happened, in words, and how it reads (nil: neutral).
    static func describe(_ line: EventLine) -> (String, Tone?) {
        switch line.data {
        case .state where line.event == "removed":
            return ("removed by a reload", nil)
        case .state(let change):
            var text = "\(change.previous ?? "-") -> \(change.state)"
            let failing =
                change.state == DaemonRecord.State.failed.name || change.state == DaemonRecord.State.backoff.name
            if failing, let error = change.lastError { text += ": \(error)" }
            let tone: Tone? =
                switch change.state {
                case DaemonRecord.State.failed.name: .bad
                case DaemonRecord.State.backoff.name: .warning
                default: nil
                }
            return (text, tone)
        case .run(let report):
            let what = report.life ? ProcessSpec.name : "run"
            let run = report.run
            guard let duration = run.durationMilliseconds else {
                var text = "\(what) started" + (report.pid > 0 ? " (pid \(report.pid))" : "")
                if let late = run.lateMilliseconds { text += ", \(late) ms late" }
                return (text, nil)
            }
            if run.timedOut { return ("\(what) timed out after \(duration) ms", .bad) }
            if let code = run.exitCode {
                return ("\(what) exited \(code) after \(duration) ms", code == 0 ? nil : .bad)
            }
            return ("\(what) killed by signal \(run.signal ?? 0) after \(duration) ms", .bad)
        case .reload(let report):
            if report.ok {
                return ("applied (\(report.trigger)): \(report.plan?.summary ?? "nothing changed")", .good)
            }
            return (
                (["not applied (\(report.trigger)); the daemons run the last valid version"] + report.errors)
                    .joined(separator: "\n"),
                .bad
            )
        case .supervisor(let notice):
            return ("\(notice.state.rawValue) (pid \(notice.pid))", nil)
        case .note(let note):
            return (note.text, nil)
        case .record(let record):
            return ("\(record.state.name), \(record.runs) runs, \(record.failures) failed", nil)
        case .missed(let missed):
            return ("lost \(missed.count) events: this client fell behind", .warning)
        }
    }
}
