import DaemonKit
import Manifest

/// The `http-check` kind: GET a URL every `interval`; `misses` failed checks in a row fail the daemon.
///
/// ```yaml
/// api-check:
///   kind: http-check
///   url: http://127.0.0.1:8000/health
///   interval: 10s
///   timeout: 2s
///   misses: 3
/// ```
public struct HTTPCheckSpec: DaemonKind {
    public static let name = "http-check"

    /// Read letter by letter: "an http-check daemon".
    public static let article = "an"

    public static let fields = [
        Property(
            "url",
            .scalar(.httpURL),
            "The URL to GET; a 2xx answer passes the check.",
            example: .string("http://127.0.0.1:8080/health"),
            required: true
        ),
        Property("interval", .duration(min: .milliseconds(10)), "Time between checks.", default: .string("30s")),
        Property(
            "timeout",
            .duration(min: .milliseconds(1), max: .seconds(3_600)),
            "How long one check may take.",
            default: .string("5s")
        ),
        Property(
            "misses",
            .integer(min: 1, max: 1_000),
            "Failed checks in a row that fail the daemon; its restart policy decides what follows.",
            default: .int(3)
        ),
    ]

    /// The URL checked.
    public var url: String
    /// Time between the starts of two checks.
    public var interval: Duration
    /// How long one check may take.
    public var timeout: Duration
    /// Failed checks in a row that fail the daemon.
    public var misses: Int

    public init(fields: ResolvedFields) {
        url = fields.string("url")!
        interval = fields.duration("interval")!
        timeout = fields.duration("timeout")!
        misses = fields.int("misses")!
    }

    /// A check ends before the next one is due.
    public static func check(_ daemon: inout DaemonCheck) {
        guard let interval = daemon.fields.duration("interval"), let timeout = daemon.fields.duration("timeout"),
            timeout > interval
        else { return }
        daemon.fail(
            "timeout",
            "timeout (\(DurationText.format(timeout))) is longer than the interval (\(DurationText.format(interval)))",
            suggestion: "a check must end before the next one is due"
        )
    }

    public func makeService(for daemon: DaemonSpec, stateFolder: StateFolder) -> any DaemonService {
        HTTPCheckDaemon(name: daemon.name, check: self)
    }
}
