import DaemonKit
import Manifest

/// The fields of the kinds that run their command now and then, periodic and watcher: the command, the run on
/// start, a run's timeout and the retries of a failed run.
enum RunFields {
    static let command = Property(
        "command",
        .command,
        "What each run executes: an argv list, or a string for /bin/sh -c.",
        example: .array([.string("python3"), .string("scripts/sync.py"), .string("--full")]),
        required: true
    )

    static let runOnStart = Property(
        "run_on_start",
        .boolean,
        "Run once as soon as the daemon starts.",
        default: .bool(false),
        example: .bool(true)
    )

    static let timeout = Property(
        "timeout",
        .duration(min: .milliseconds(1)),
        "A run taking longer is stopped (stop_signal to its process group, SIGKILL after stop_timeout).",
        example: .string("5m")
    )

    static let retry = Property(
        "retry",
        .object(
            ObjectShape(
                title: "run retry",
                properties: [
                    Property(
                        "attempts",
                        .integer(min: 0, max: 100),
                        "How many times a failed run is retried before the schedule goes on.",
                        default: .int(0),
                        example: .int(3)
                    ),
                    Property(
                        "backoff",
                        .duration(min: .zero, max: .seconds(86_400)),
                        "Delay before each retry.",
                        default: .string("1s"),
                        example: .string("10s")
                    ),
                ]
            )
        ),
        "Retries of a failed run.",
        default: .object([])
    )

    /// The retries `fields` set.
    static func retry(_ fields: ResolvedFields) -> RetryPolicy {
        let retry = fields.object("retry")!
        return RetryPolicy(attempts: retry.int("attempts")!, backoff: retry.duration("backoff")!)
    }
}
