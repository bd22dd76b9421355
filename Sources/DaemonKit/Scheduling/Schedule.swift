/// When a periodic daemon runs.
public enum Schedule: Hashable, Sendable {
    /// Every `Duration`, anchored to the start so that runs do not drift.
    case interval(Duration)
    /// At the times a cron expression names.
    case cron(CronSchedule)
}
