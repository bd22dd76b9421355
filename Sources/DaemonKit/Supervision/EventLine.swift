import FoundationEssentials

/// One event of the supervisor's stream as a JSON object on a line of its own: what `orchestrate events --json`
/// prints and `GET /v1/events?format=jsonl` streams. `{"id", "time", "event", "daemon", "data"}`: `event` is the
/// event's name (`state`, `run.started`, …, ``SupervisorEvent/name``), `daemon` the daemon it is about (null for a
/// reload or the supervisor), `data` what the event stream's `data:` line holds for it. Fields may be added, never
/// renamed.
public struct EventLine: Codable, Sendable {
    /// The event's data, by the event's name.
    public enum Payload: Encodable, Sendable {
        case record(DaemonRecord)
        case state(StateChange)
        case run(RunReport)
        case reload(ReloadReport)
        case supervisor(SupervisorNotice)
        case note(SupervisorEvent.Note)
        /// `missed`: the client fell behind and lost that many events.
        case missed(MissedEvents)
    }

    /// The event's number (0 for a record a stream starts with, and for `missed`).
    public var id: UInt64
    /// When it was published: written to the millisecond (``Timestamp``), whatever the encoder does with dates.
    public var time: Date
    /// Its name.
    public var event: String
    /// The daemon it is about.
    public var daemon: String?
    /// Its data.
    public var data: Payload

    /// The line of `event`.
    public init(_ event: SupervisorEvent) {
        id = event.id
        time = event.time
        self.event = event.name
        daemon = event.daemon
        data = Payload(event.kind)
    }

    /// The line that tells a client it lost `count` events.
    public init(missed count: Int, at time: Date) {
        id = 0
        self.time = time
        event = "missed"
        daemon = nil
        data = .missed(MissedEvents(count: count))
    }

    enum CodingKeys: String, CodingKey {
        case id, time, event, daemon, data
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(UInt64.self, forKey: .id)
        let time = try container.decode(String.self, forKey: .time)
        guard let parsed = Timestamp.parse(time) else {
            throw DecodingError.dataCorruptedError(
                forKey: .time,
                in: container,
                debugDescription: "not a time: \(time)"
            )
        }
        self.time = parsed
        event = try container.decode(String.self, forKey: .event)
        daemon = try container.decodeIfPresent(String.self, forKey: .daemon)
        data =
            switch event {
            case "daemon": .record(try container.decode(DaemonRecord.self, forKey: .data))
            case "state", "removed": .state(try container.decode(StateChange.self, forKey: .data))
            case "run.started", "run.finished": .run(try container.decode(RunReport.self, forKey: .data))
            case "reload": .reload(try container.decode(ReloadReport.self, forKey: .data))
            case "supervisor": .supervisor(try container.decode(SupervisorNotice.self, forKey: .data))
            case "note", "restart": .note(try container.decode(SupervisorEvent.Note.self, forKey: .data))
            case "missed": .missed(try container.decode(MissedEvents.self, forKey: .data))
            default:
                throw DecodingError.dataCorruptedError(
                    forKey: .event,
                    in: container,
                    debugDescription: "unknown event '\(event)'"
                )
            }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(Timestamp.text(time), forKey: .time)
        try container.encode(event, forKey: .event)
        try container.encode(daemon, forKey: .daemon)
        try container.encode(data, forKey: .data)
    }
}

extension EventLine.Payload {
    /// The data of an event of `kind`.
    public init(_ kind: SupervisorEvent.Kind) {
        self =
            switch kind {
            case .daemon(let record): .record(record)
            case .removed(let name): .state(StateChange(name: name, state: "removed"))
            case .stateChanged(let change): .state(change)
            case .runStarted(let run), .runFinished(let run): .run(run)
            case .reload(let report): .reload(report)
            case .supervisor(let notice): .supervisor(notice)
            case .note(let daemon, let text), .restarting(let daemon, let text):
                .note(SupervisorEvent.Note(daemon: daemon, text: text))
            }
    }

    /// The value as it is: the payload adds no level of its own to the JSON.
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .record(let record): try record.encode(to: encoder)
        case .state(let change): try change.encode(to: encoder)
        case .run(let run): try run.encode(to: encoder)
        case .reload(let report): try report.encode(to: encoder)
        case .supervisor(let notice): try notice.encode(to: encoder)
        case .note(let note): try note.encode(to: encoder)
        case .missed(let missed): try missed.encode(to: encoder)
        }
    }
}

/// Told to a client of the event stream that fell behind: how many events it lost (`{"count"}`).
public struct MissedEvents: Codable, Sendable, Hashable {
    /// How many.
    public var count: Int

    /// Makes the notice.
    public init(count: Int) { self.count = count }
}
