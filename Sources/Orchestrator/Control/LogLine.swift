import FoundationEssentials

/// One line of `orchestrate logs --json` (fields may be added, never renamed): when it was written, by which daemon
/// (`orchestrate` for the supervisor's own log), on which stream (``LogReader/Line/stream``), and the line itself.
public struct LogLine: Codable, Sendable, Hashable {
    /// The time it was written, ISO 8601 in UTC to the millisecond.
    public var time: String
    /// The daemon.
    public var daemon: String
    /// `output` or `orchestrate`.
    public var stream: String
    /// The line, without its timestamp.
    public var line: String

    /// The JSON form of `line`.
    public init(_ line: LogReader.Line) {
        time = String(line.time)
        daemon = line.daemon
        stream = line.stream
        self.line = String(line.message)
    }

    /// The line as one line of JSON, keys sorted.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
