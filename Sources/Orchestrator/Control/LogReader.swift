import DaemonKit
import FoundationEssentials
import Manifest

#if canImport(Glibc)
import Glibc
#endif

/// The daemons' logs as `orchestrate logs` shows them: the last lines of each, interleaved by time, then, when
/// following, the lines written since, read as they come.
///
/// Each line starts with its ISO-8601 UTC timestamp, so lines of several logs sort by time as text; lines of the same
/// instant keep their order within their log. A log rotated meanwhile (smaller than where reading stopped) is read
/// again from its start.
public struct LogReader: Sendable {
    /// One line of one log.
    public struct Line: Sendable, Hashable {
        /// The daemon whose log it is (``StateFolder/supervisorLogName`` for the supervisor's own).
        public var daemon: String
        /// The line, with its timestamp, without its newline.
        public var text: String

        /// Its timestamp (`2026-11-26T19:28:28.123Z`).
        public var time: Substring { text.prefix { $0 != " " } }

        /// What follows the timestamp.
        public var message: Substring { text.drop { $0 != " " }.dropFirst() }

        /// `orchestrate` for the supervisor's own log and its notes in a daemon's log (`[orchestrate] run 3 …`),
        /// `output` for what the daemon's commands wrote (their standard output and error share one pipe, so that
        /// their lines keep the order they were written in).
        public var stream: String {
            daemon == StateFolder.supervisorLogName || message.hasPrefix("[orchestrate] ") ? "orchestrate" : "output"
        }
    }

    /// The state folder the logs are in.
    public let stateFolder: StateFolder
    /// The logs read, by daemon name.
    public let names: [String]
    /// How far each log has been read.
    private var offsets: [String: UInt64] = [:]
    /// The start of a line whose newline has not been written yet, by log.
    private var partial: [String: String] = [:]

    /// A reader of the logs of `names` in `stateFolder`.
    public init(stateFolder: StateFolder, names: [String]) {
        self.stateFolder = stateFolder
        self.names = names
    }

    private func path(_ name: String) -> String {
        name == StateFolder.supervisorLogName ? stateFolder.supervisorLog : stateFolder.log(of: name)
    }

    private func size(_ path: String) -> UInt64 {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? UInt64) ?? 0
    }

    /// Which lines to show: those written from ``since`` until ``until`` whose text (after the timestamp) matches
    /// ``pattern``.
    public struct Filter {
        /// The earliest time shown.
        public var since: Date?
        /// The latest time shown.
        public var until: Date?
        /// Lines must match it somewhere.
        public var pattern: Regex<AnyRegexOutput>?
        /// The bounds as log timestamps, which compare as text.
        private let earliest: String?
        private let latest: String?

        /// A filter; `grep` is a regular expression (Swift's syntax, as Perl's and Python's), which throws when it is
        /// not valid.
        public init(since: Date? = nil, until: Date? = nil, grep: String? = nil) throws {
            self.since = since
            self.until = until
            pattern = try grep.map { try Regex($0) }
            earliest = since.map(Timestamp.text)
            latest = until.map(Timestamp.text)
        }

        /// Whether it lets every line through.
        public var isEmpty: Bool { since == nil && until == nil && pattern == nil }

        /// Whether `line` passes.
        public func passes(_ line: Line) -> Bool {
            let time = line.time
            if let earliest, time < earliest { return false }
            if let latest, time > latest { return false }
            if let pattern, line.message.firstMatch(of: pattern) == nil { return false }
            return true
        }
    }

    /// Every line of each log that `filter` lets through, its rotated files too, by time; with `count`, the last
    /// `count` of each log. Following goes on from the logs' ends.
    public mutating func select(_ filter: Filter, last count: Int?) -> [Line] {
        var lines: [Line] = []
        for name in names {
            let path = path(name)
            let passed = RotatingLogFile.allLines(path: path).lazy.map { Line(daemon: name, text: $0) }
                .filter(filter.passes)
            lines += count.map { Array(passed.suffix($0)) } ?? Array(passed)
            offsets[name] = size(path)
            partial[name] = nil
        }
        return Self.byTime(lines)
    }

    /// The last `count` lines of each log, by time; following goes on from their end.
    public mutating func tail(_ count: Int) -> [Line] {
        var lines: [Line] = []
        for name in names {
            let path = path(name)
            lines += RotatingLogFile.tail(path: path, lines: count).map { Line(daemon: name, text: $0) }
            offsets[name] = size(path)
            partial[name] = nil
        }
        return Self.byTime(lines)
    }

    /// The complete lines written since the last read, by time.
    public mutating func readNew() -> [Line] {
        var fresh: [Line] = []
        for name in names {
            let path = path(name)
            var offset = offsets[name] ?? 0
            if size(path) < offset { offset = 0 }  // rotated: the file started again
            guard let data = FileBytes.read(path, from: offset), !data.isEmpty else { continue }
            offsets[name] = offset + UInt64(data.count)
            var text = (partial[name] ?? "") + String(decoding: data, as: UTF8.self)
            guard let last = text.lastIndex(of: "\n") else {
                partial[name] = text
                continue
            }
            partial[name] = String(text[text.index(after: last)...])
            text = String(text[...last])
            fresh += text.split(separator: "\n").map { Line(daemon: name, text: String($0)) }
        }
        return Self.byTime(fresh)
    }

    /// Hands `body` the new lines every `interval` (when there are some), until it returns false.
    public mutating func follow(every interval: Duration = .milliseconds(100), _ body: ([Line]) -> Bool) {
        while true {
            let lines = readNew()
            if !lines.isEmpty, !body(lines) { return }
            let (seconds, attoseconds) = interval.components
            usleep(UInt32(seconds * 1_000_000 + attoseconds / 1_000_000_000_000))
        }
    }

    /// `lines` sorted by their timestamps; lines of the same instant keep their order.
    static func byTime(_ lines: [Line]) -> [Line] {
        lines.enumerated().sorted { lhs, rhs in
            let left = lhs.element.text.prefix { $0 != " " }
            let right = rhs.element.text.prefix { $0 != " " }
            return left == right ? lhs.offset < rhs.offset : left < right
        }.map(\.element)
    }
}
