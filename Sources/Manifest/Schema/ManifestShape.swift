import DaemonKit

/// The manifest's model, field by field: types, defaults, bounds and what each field is for.
///
/// This is the single description that decoding, validation, overrides, `config` and the JSON Schema
/// read. A field added here is accepted, validated, overridable and documented at once.
enum ManifestShape {
    static let kinds = ["periodic", "watcher", "rpc", "process"]

    static let command = Shape.either([
        .scalar(.nonEmptyText),
        .list(.scalar(.text), minCount: 1),
    ])

    static let environment = Shape.dictionary(key: ScalarFormat.environmentName, value: .scalar(.text))

    static func duration(min: Duration = .zero, max: Duration? = nil) -> Shape {
        .scalar(.duration(min: min, max: max))
    }

    static let restart = ObjectShape(
        title: "restart policy",
        properties: [
            Property(
                "policy",
                .choice(RestartPolicy.Mode.all.map(\.name)),
                "Which exits of the service restart it.",
                default: .string("on-failure")
            ),
            Property(
                "backoff",
                .object(
                    ObjectShape(
                        title: "restart backoff",
                        properties: [
                            Property(
                                "initial",
                                duration(min: .milliseconds(1), max: .seconds(86_400)),
                                "The first delay before a restart; it doubles after each failure.",
                                default: .string("1s")
                            ),
                            Property(
                                "max",
                                duration(min: .milliseconds(1), max: .seconds(86_400)),
                                "The longest delay; the backoff resets after the service is healthy this long.",
                                default: .string("1m")
                            ),
                        ]
                    )
                ),
                "Exponential backoff between restarts.",
                default: .object([])
            ),
            Property(
                "limit",
                .object(
                    ObjectShape(
                        title: "restart limit",
                        properties: [
                            Property(
                                "burst",
                                .integer(min: 1, max: 10_000),
                                "Failures within the window that park the daemon as failed.",
                                default: .int(5)
                            ),
                            Property(
                                "window",
                                duration(min: .seconds(1), max: .seconds(86_400)),
                                "The window failures are counted in.",
                                default: .string("1m")
                            ),
                        ]
                    )
                ),
                "When to give up restarting.",
                default: .object([])
            ),
        ]
    )

    static let log = ObjectShape(
        title: "log rotation",
        properties: [
            Property(
                "max_size",
                .scalar(.size(min: 1_024, max: 1 << 40)),
                "Size at which the daemon's log file is rotated.",
                default: .string("10MiB")
            ),
            Property(
                "keep",
                .integer(min: 0, max: 1_000),
                "How many rotated files are kept.",
                default: .int(5)
            ),
        ]
    )

    static let retry = ObjectShape(
        title: "run retry",
        properties: [
            Property(
                "attempts",
                .integer(min: 0, max: 100),
                "How many times a failed run is retried before the schedule goes on.",
                default: .int(0)
            ),
            Property(
                "backoff",
                duration(min: .zero, max: .seconds(86_400)),
                "Delay before each retry.",
                default: .string("1s")
            ),
        ]
    )

    static let dependencies = Shape.either([
        .list(.scalar(ScalarFormat.daemonName), minCount: 0),
        .dictionary(key: ScalarFormat.daemonName, value: .choice(["started", "ready", "completed"])),
    ])

    /// Fields every daemon has, and the only fields `defaults` may set.
    static let commonProperties: [Property] = [
        Property("enabled", .boolean, "Whether the daemon runs.", default: .bool(true)),
        Property(
            "cwd",
            .scalar(.path),
            "Working folder of its commands, relative to the manifest's folder.",
            default: .string(".")
        ),
        Property("env", environment, "Environment variables for its commands, over the top-level env."),
        Property("restart", .object(restart), "Restart policy of the service.", default: .object([])),
        Property(
            "stop_signal",
            .scalar(.signal),
            "Signal sent to the process group to stop it.",
            default: .string("SIGTERM")
        ),
        Property(
            "stop_timeout",
            duration(min: .zero, max: .seconds(3_600)),
            "How long a stop waits before SIGKILL.",
            default: .string("10s")
        ),
        Property("log", .object(log), "Rotation of the daemon's log file.", default: .object([])),
        Property(
            "depends_on",
            dependencies,
            "Daemons that must be ready (or started, or completed) before this one starts.",
            default: .array([])
        ),
        Property(
            "restart_with_dependencies",
            .boolean,
            "Restart this daemon when a dependency is restarted.",
            default: .bool(false)
        ),
    ]

    static let kindProperty = Property("kind", .choice(kinds), "What the daemon is.", required: true)

    static let periodic = ObjectShape(
        title: "a periodic daemon",
        properties: [kindProperty] + [
            Property(
                "command",
                command,
                "What each run executes: an argv list, or a string for /bin/sh -c.",
                required: true
            ),
            Property(
                "interval",
                duration(min: .milliseconds(1)),
                "Time between runs, anchored to the start (no drift)."
            ),
            Property("cron", .scalar(.cron), "A 5-field cron expression, in local time."),
            Property(
                "jitter",
                duration(),
                "A random delay of up to this much before each run.",
                default: .string("0s")
            ),
            Property("run_on_start", .boolean, "Run once as soon as the daemon starts.", default: .bool(false)),
            Property("timeout", duration(min: .milliseconds(1)), "A run taking longer is stopped."),
            Property(
                "overlap",
                .choice(["skip", "queue", "replace"]),
                "What a tick does while the last run still runs.",
                default: .string("skip")
            ),
            Property("retry", .object(retry), "Retries of a failed run.", default: .object([])),
        ] + commonProperties,
        allowsExtensions: true,
        exactlyOneOf: ["interval", "cron"]
    )

    static let watcher = ObjectShape(
        title: "a watcher daemon",
        properties: [kindProperty] + [
            Property(
                "command",
                command,
                "What each run executes: an argv list, or a string for /bin/sh -c.",
                required: true
            ),
            Property(
                "paths",
                .list(.scalar(.path), minCount: 1),
                "Folders (or files) watched recursively, relative to cwd.",
                default: .array([.string(".")])
            ),
            Property(
                "patterns",
                .list(.scalar(.glob), minCount: 0),
                "Globs a changed file must match, relative to each path; none means every file.",
                default: .array([])
            ),
            Property(
                "ignore",
                .list(.scalar(.glob), minCount: 0),
                "Globs of files and folders to leave out.",
                default: .array([])
            ),
            Property(
                "gitignore",
                .boolean,
                "Also leave out what the tree's .gitignore files ignore.",
                default: .bool(false)
            ),
            Property(
                "debounce",
                duration(max: .seconds(3_600)),
                "Quiet time after the last change before a run.",
                default: .string("100ms")
            ),
            Property(
                "max_wait",
                duration(min: .milliseconds(1), max: .seconds(86_400)),
                "Longest a run waits while changes keep coming.",
                default: .string("10s")
            ),
            Property(
                "mode",
                .choice(["events", "poll"]),
                "inotify events, or polling for file systems without them.",
                default: .string("events")
            ),
            Property(
                "poll_interval",
                duration(min: .milliseconds(10), max: .seconds(86_400)),
                "Time between scans in poll mode.",
                default: .string("1s")
            ),
            Property(
                "on_busy",
                .choice(["queue", "restart", "skip"]),
                "What changes do while the command runs.",
                default: .string("queue")
            ),
            Property("run_on_start", .boolean, "Run once as soon as the daemon starts.", default: .bool(false)),
            Property("timeout", duration(min: .milliseconds(1)), "A run taking longer is stopped."),
            Property("retry", .object(retry), "Retries of a failed run.", default: .object([])),
        ] + commonProperties,
        allowsExtensions: true
    )

    static let method = ObjectShape(
        title: "an rpc method",
        properties: [
            Property("command", command, "Gets params as JSON on stdin, prints the JSON result.", required: true),
            Property(
                "timeout",
                duration(min: .milliseconds(1), max: .seconds(3_600)),
                "Longest a call may take.",
                default: .string("30s")
            ),
            Property("description", .scalar(.text), "What the method does, listed by GET /methods."),
        ]
    )

    static let rpc = ObjectShape(
        title: "an rpc daemon",
        properties: [kindProperty] + [
            Property(
                "listen",
                .scalar(.listen(allowUnix: true)),
                "host:port, [::1]:port or unix:PATH.",
                required: true
            ),
            Property(
                "auth",
                .object(
                    ObjectShape(
                        title: "rpc auth",
                        properties: [
                            Property(
                                "api_key_env",
                                .scalar(ScalarFormat.environmentName),
                                "Environment variable holding the API key every route but /health requires."
                            ),
                            Property(
                                "insecure",
                                .boolean,
                                "Allow a non-loopback address without an API key.",
                                default: .bool(false)
                            ),
                        ]
                    )
                ),
                "API-key authentication.",
                default: .object([])
            ),
            Property(
                "methods",
                .dictionary(key: ScalarFormat.methodName, value: .object(method)),
                "JSON-RPC methods backed by commands.",
                default: .object([])
            ),
            Property(
                "cache",
                .object(
                    ObjectShape(
                        title: "rpc cache",
                        properties: [
                            Property(
                                "max_entries",
                                .integer(min: 0, max: 100_000_000),
                                "Most entries kept (LRU).",
                                default: .int(10_000)
                            ),
                            Property(
                                "max_bytes",
                                .scalar(.size(min: 0, max: 1 << 40)),
                                "Most bytes kept (LRU).",
                                default: .string("64MiB")
                            ),
                        ]
                    )
                ),
                "The shared cache.",
                default: .object([])
            ),
            Property(
                "max_concurrency",
                .integer(min: 1, max: 100_000),
                "Calls run at once; the default is four per core."
            ),
            Property(
                "max_queue",
                .integer(min: 0, max: 1_000_000),
                "Calls waiting beyond that before -32000 busy.",
                default: .int(1_000)
            ),
            Property(
                "max_body",
                .scalar(.size(min: 1, max: 1 << 30)),
                "Largest request body; larger gets 413.",
                default: .string("1MiB")
            ),
        ] + commonProperties,
        allowsExtensions: true
    )

    static func probe(
        title: String,
        period: String,
        timeout: String,
        timeoutSummary: String,
        failures: Bool
    )
        -> ObjectShape
    {
        var properties = [
            Property("http", .scalar(.httpURL), "Ready when this URL answers 2xx."),
            Property("tcp", .scalar(.listen(allowUnix: false)), "Ready when this host:port accepts a connection."),
            Property("exec", command, "Ready when this command exits 0."),
            Property("log_line", .scalar(.regex), "Ready when the output has a line matching this regex."),
            Property(
                "period",
                duration(min: .milliseconds(10), max: .seconds(3_600)),
                "Time between checks.",
                default: .string(period)
            ),
            Property(
                "timeout",
                duration(min: .milliseconds(1), max: .seconds(86_400)),
                timeoutSummary,
                default: .string(timeout)
            ),
        ]
        if failures {
            properties.append(
                Property(
                    "failures",
                    .integer(min: 1, max: 1_000),
                    "Consecutive failed checks that restart the process.",
                    default: .int(3)
                )
            )
        }
        return ObjectShape(title: title, properties: properties, exactlyOneOf: ["http", "tcp", "exec", "log_line"])
    }

    static let process = ObjectShape(
        title: "a process daemon",
        properties: [kindProperty] + [
            Property(
                "command",
                command,
                "The long-running command: an argv list, or a string for /bin/sh -c.",
                required: true
            ),
            Property(
                "ready",
                .object(
                    probe(
                        title: "readiness probe",
                        period: "250ms",
                        timeout: "30s",
                        timeoutSummary: "How long the process may take to become ready.",
                        failures: false
                    )
                ),
                "How to tell the process is ready; without it, it is ready once started."
            ),
            Property(
                "liveness",
                .object(
                    probe(
                        title: "liveness probe",
                        period: "10s",
                        timeout: "5s",
                        timeoutSummary: "How long one check may take.",
                        failures: true
                    )
                ),
                "A check that restarts the process when it stops answering."
            ),
        ] + commonProperties,
        allowsExtensions: true
    )

    static let daemon = Shape.tagged(
        TaggedShape(
            key: "kind",
            variants: [("periodic", periodic), ("watcher", watcher), ("rpc", rpc), ("process", process)]
        )
    )

    static let defaults = ObjectShape(title: "defaults", properties: commonProperties)

    static let control = ObjectShape(
        title: "control",
        properties: [
            Property(
                "http",
                .scalar(.listen(allowUnix: false)),
                "Also serve the control API, /metrics and the dashboard on this TCP address."
            ),
            Property(
                "api_key_env",
                .scalar(ScalarFormat.environmentName),
                "Environment variable holding the key every route but /metrics requires on control.http."
            ),
        ]
    )

    static let root = ObjectShape(
        title: "the manifest",
        properties: [
            Property("version", .choice(["1"]), "Version of the manifest format.", default: .int(1)),
            Property(
                "state_dir",
                .scalar(.path),
                "PID lock, control socket and logs, relative to the manifest's folder.",
                default: .string(".orchestrate")
            ),
            Property("env_file", .scalar(.path), "A dotenv file whose variables interpolation can use."),
            Property("env", environment, "Environment variables given to every command.", default: .object([])),
            Property(
                "reload",
                .choice(["auto", "manual"]),
                "auto: apply saves of this file; manual: only `orchestrate reload` or SIGHUP.",
                default: .string("auto")
            ),
            Property(
                "auto_start",
                .boolean,
                "Commands that need the supervisor start one in the background first.",
                default: .bool(false)
            ),
            Property("control", .object(control), "The control API over TCP."),
            Property("defaults", .object(defaults), "Fields merged under every daemon.", default: .object([])),
            Property(
                "daemons",
                .dictionary(key: ScalarFormat.daemonName, value: daemon),
                "The daemons, by name.",
                required: true
            ),
        ],
        allowsExtensions: true
    )
}
