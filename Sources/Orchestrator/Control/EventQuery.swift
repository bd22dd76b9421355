import DaemonKit
import FoundationEssentials
import Manifest

/// What a client of `GET /v1/events` asks for, from its query: `format` (`sse`, the default, or `jsonl`: one
/// ``EventLine`` a line), `since` (a duration such as `10m`, or an ISO 8601 time: the kept events from then on
/// first), `daemon` (repeated: only the events about these daemons), `records` (`false`: no record of each daemon
/// first) and `follow` (`false`: end after what is kept instead of following; without `since`, every kept event).
public struct EventQuery: Sendable, Equatable {
    public enum Format: String, Sendable {
        case sse, jsonl
    }

    public var format = Format.sse
    /// The time the replay starts at (absolute, or a duration back from the request).
    public var since: Since?
    public var daemons: [String] = []
    public var records = true
    public var follow = true

    /// A time, or a duration before now.
    public enum Since: Sendable, Equatable {
        case time(Date)
        case ago(Duration)

        /// The time it names, read at `now`.
        public func date(at now: Date) -> Date {
            switch self {
            case .time(let date): return date
            case .ago(let duration):
                let (seconds, attoseconds) = duration.components
                return now.addingTimeInterval(-(Double(seconds) + Double(attoseconds) / 1e18))
            }
        }

        /// `10m`, `90s`, `1h30m` (the manifest's durations), or an ISO 8601 time with seconds and a zone; nil for
        /// anything else. The shapes are those the control API's description gives `since`.
        public init?(_ text: String) {
            if text.wholeMatch(of: Self.durationShape) != nil, let duration = DurationText.parse(text) {
                self = .ago(duration)
            } else if text.wholeMatch(of: Self.timeShape) != nil, let date = Timestamp.parse(text) {
                self = .time(date)
            } else {
                return nil
            }
        }

        nonisolated(unsafe) static let durationShape = #/0|([0-9]{1,9}(\.[0-9]{1,3})?(ms|s|m|h|d))+/#
        nonisolated(unsafe) static let timeShape =
            #/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})/#

        /// The text ``init(_:)`` reads back.
        public var text: String {
            switch self {
            case .time(let date): Timestamp.text(date)
            case .ago(let duration):
                "\(duration.components.seconds * 1_000 + duration.components.attoseconds / 1_000_000_000_000_000)ms"
            }
        }
    }

    public init(
        format: Format = .sse,
        since: Since? = nil,
        daemons: [String] = [],
        records: Bool = true,
        follow: Bool = true
    ) {
        self.format = format
        self.since = since
        self.daemons = daemons
        self.records = records
        self.follow = follow
    }

    /// The query's parameters, or why they are not valid.
    init(parameters: [(String, String)]) throws(ControlFailure) {
        for (name, value) in parameters {
            switch name {
            case "format":
                guard let format = Format(rawValue: value) else {
                    throw ControlFailure(status: 400, message: "format '\(value)' is not sse or jsonl")
                }
                self.format = format
            case "since":
                guard let since = Since(value) else {
                    throw ControlFailure(
                        status: 400,
                        message: "since '\(value)' is neither a duration (10m, 90s) nor an ISO 8601 time"
                    )
                }
                self.since = since
            case "daemon":
                daemons.append(value)
            case "records", "follow":
                guard let flag = Self.flag(value) else {
                    throw ControlFailure(status: 400, message: "\(name) '\(value)' is not true or false")
                }
                if name == "records" { records = flag } else { follow = flag }
            default:
                continue
            }
        }
    }

    /// The query string (without `?`) that asks for this.
    public var queryString: String {
        var parts: [String] = []
        if format != .sse { parts.append("format=\(format.rawValue)") }
        if let since { parts.append("since=" + PercentEncoding.encodeQueryValue(since.text)) }
        parts += daemons.map { "daemon=" + PercentEncoding.encodeQueryValue($0) }
        if !records { parts.append("records=false") }
        if !follow { parts.append("follow=false") }
        return parts.joined(separator: "&")
    }

    /// Whether `event` is one the client asked for: about a daemon named, or a copy of one (`web` for web#2).
    func includes(_ event: SupervisorEvent) -> Bool {
        guard !daemons.isEmpty else { return true }
        guard let daemon = event.daemon else { return false }
        return daemons.contains(daemon) || daemons.contains(String(DaemonSpec.group(of: daemon)))
    }

    static func flag(_ value: String) -> Bool? {
        switch value {
        case "true", "1": true
        case "false", "0": false
        default: nil
        }
    }
}
