import DaemonKit

extension ManifestShape {
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
}
