import DaemonKit
import Manifest

/// The watcher kind: a `watcher` daemon's fields, which ``WatcherDaemon`` runs.
public struct WatcherSpec: DaemonKind {
    /// How changes are noticed.
    public enum Mode: String, Hashable, Sendable, CaseIterable {
        case events, poll
    }

    /// What changes do while the command runs.
    public enum OnBusy: String, Hashable, Sendable, CaseIterable {
        case queue, restart, skip
    }

    public static let name = "watcher"

    public static let fields = [
        RunFields.command,
        Property(
            "paths",
            .list(.scalar(.path), minCount: 1),
            "Folders (or files) watched recursively, relative to cwd.",
            default: .array([.string(".")]),
            example: .array([.string("src"), .string("config/app.toml")])
        ),
        Property(
            "patterns",
            .list(.scalar(.glob), minCount: 0),
            "Globs a changed file must match, relative to each path; none means every file.",
            default: .array([]),
            example: .array([.string("**/*.py"), .string("**/*.pyi")])
        ),
        Property(
            "ignore",
            .list(.scalar(.glob), minCount: 0),
            "Globs of files and folders to leave out.",
            default: .array([]),
            example: .array([.string("**/__pycache__/**"), .string("**/*.tmp")])
        ),
        Property(
            "gitignore",
            .boolean,
            "Also leave out what the tree's .gitignore files ignore.",
            default: .bool(false),
            example: .bool(true)
        ),
        Property(
            "debounce",
            .duration(max: .seconds(3_600)),
            "Quiet time after the last change before a run.",
            default: .string("100ms"),
            example: .string("300ms")
        ),
        Property(
            "max_wait",
            .duration(min: .milliseconds(1), max: .seconds(86_400)),
            "Longest a run waits while changes keep coming.",
            default: .string("10s"),
            example: .string("1m")
        ),
        Property(
            "mode",
            .choice(Mode.allCases.map(\.rawValue)),
            "inotify events, or polling for file systems without them.",
            default: .string(Mode.events.rawValue),
            example: .string(Mode.poll.rawValue)
        ),
        Property(
            "poll_interval",
            .duration(min: .milliseconds(10), max: .seconds(86_400)),
            "Time between scans in poll mode.",
            default: .string("1s"),
            example: .string("5s")
        ),
        Property(
            "on_busy",
            .choice(OnBusy.allCases.map(\.rawValue)),
            "What changes do while the command runs.",
            default: .string(OnBusy.queue.rawValue),
            example: .string(OnBusy.restart.rawValue)
        ),
        RunFields.runOnStart,
        RunFields.timeout,
        RunFields.retry,
    ]

    public static let runsOnTrigger = true

    /// What each run executes.
    public var command: Command
    /// The files watched and how.
    public var watch: FileWatch
    /// The files covered, as the scanner and the watcher read them (absolute paths).
    public var files: FileScanner.Configuration { watch.files }
    /// Quiet time after the last change before a run.
    public var debounce: Duration { watch.debounce }
    /// Longest a run waits while changes keep coming.
    public var maxWait: Duration { watch.maxWait }
    /// inotify or polling.
    public var mode: Mode { watch.mode }
    /// Time between scans in poll mode.
    public var pollInterval: Duration { watch.pollInterval }
    /// What changes do while the command runs.
    public var onBusy: OnBusy
    /// Whether it runs once at start.
    public var runOnStart: Bool
    /// A run taking longer is stopped.
    public var timeout: Duration?
    /// Retries of a failed run.
    public var retry: RetryPolicy

    public init(fields: ResolvedFields) throws {
        command = fields.command("command")!
        watch = try FileWatch(fields: fields)
        onBusy = OnBusy(rawValue: fields.string("on_busy")!)!
        runOnStart = fields.bool("run_on_start")!
        timeout = fields.duration("timeout")
        retry = RunFields.retry(fields)
    }

    /// `max_wait` is at least the debounce.
    public static func check(_ daemon: inout DaemonCheck) {
        guard let short = daemon.fields.duration("debounce"), let long = daemon.fields.duration("max_wait"),
            long < short
        else { return }
        daemon.fail(
            "max_wait",
            "max_wait (\(DurationText.format(long))) must be at least the debounce (\(DurationText.format(short)))"
        )
    }

    public func makeService(for daemon: DaemonSpec, stateFolder: StateFolder) -> any DaemonService {
        WatcherDaemon(spec: daemon, stateFolder: stateFolder)
    }
}
