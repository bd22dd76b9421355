import DaemonKit
import Manifest

/// The periodic kind: a `periodic` daemon's fields, which ``PeriodicDaemon`` runs.
public struct PeriodicSpec: DaemonKind {
    public static let name = "periodic"

    public static let fields = [
        RunFields.command,
        Property(
            "interval",
            .duration(min: .milliseconds(1)),
            "Time between runs, anchored to the start (no drift).",
            example: .string("30s")
        ),
        Property("cron", .scalar(.cron), "A 5-field cron expression, in local time.", example: .string("*/5 * * * *")),
        Property(
            "jitter",
            .duration(),
            "A random delay of up to this much before each run.",
            default: .string("0s"),
            example: .string("10s")
        ),
        RunFields.runOnStart,
        RunFields.timeout,
        Property(
            "overlap",
            .choice(OverlapPolicy.allCases.map(\.rawValue)),
            "What a tick does while the last run still runs.",
            default: .string(OverlapPolicy.skip.rawValue),
            example: .string(OverlapPolicy.queue.rawValue)
        ),
        RunFields.retry,
    ]

    public static let exactlyOneOf = ["interval", "cron"]

    public static let runsOnTrigger = true

    /// What each run executes.
    public var command: Command
    /// When it runs.
    public var schedule: Schedule
    /// Up to this much random delay before each run.
    public var jitter: Duration
    /// Whether it runs once at start.
    public var runOnStart: Bool
    /// A run taking longer is stopped.
    public var timeout: Duration?
    /// What a tick does while the last run still runs.
    public var overlap: OverlapPolicy
    /// Retries of a failed run.
    public var retry: RetryPolicy

    public init(fields: ResolvedFields) {
        command = fields.command("command")!
        schedule =
            fields.duration("interval").map(Schedule.interval)
            ?? .cron(try! CronSchedule(parsing: fields.string("cron")!))
        jitter = fields.duration("jitter")!
        runOnStart = fields.bool("run_on_start")!
        timeout = fields.duration("timeout")
        overlap = OverlapPolicy(rawValue: fields.string("overlap")!)!
        retry = RunFields.retry(fields)
    }

    public func makeService(for daemon: DaemonSpec, stateFolder: StateFolder) -> any DaemonService {
        PeriodicDaemon(spec: daemon)
    }
}
