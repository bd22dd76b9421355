import DaemonKit

/// The manifest's model, field by field: types, defaults, bounds and what each field is for.
///
/// This is the single description that decoding, validation, overrides, `config` and the JSON Schema
/// read. A field added here (or to a kind's ``DaemonKind/fields``) is accepted, validated, overridable and
/// documented at once. The daemons' part depends on the kinds a program knows: ``Kinds`` is made for each
/// ``DaemonKinds`` list.
enum ManifestShape {
    static let environment = Shape.dictionary(key: ScalarFormat.environmentName, value: .scalar(.text))

    static let restart = ObjectShape(
        title: "restart policy",
        properties: [
            Property(
                "policy",
                .choice(RestartPolicy.Mode.all.map(\.name)),
                "Which exits of the service restart it.",
                default: .string("on-failure"),
                example: .string("always")
            ),
            Property(
                "backoff",
                .object(
                    ObjectShape(
                        title: "restart backoff",
                        properties: [
                            Property(
                                "initial",
                                .duration(min: .milliseconds(1), max: .seconds(86_400)),
                                "The first delay before a restart; it doubles after each failure.",
                                default: .string("1s"),
                                example: .string("500ms")
                            ),
                            Property(
                                "max",
                                .duration(min: .milliseconds(1), max: .seconds(86_400)),
                                "The longest delay; the backoff resets after the service is healthy this long.",
                                default: .string("1m"),
                                example: .string("5m")
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
                                default: .int(5),
                                example: .int(10)
                            ),
                            Property(
                                "window",
                                .duration(min: .seconds(1), max: .seconds(86_400)),
                                "The window failures are counted in.",
                                default: .string("1m"),
                                example: .string("10m")
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
                default: .string("10MiB"),
                example: .string("50MiB")
            ),
            Property(
                "keep",
                .integer(min: 0, max: 1_000),
                "How many rotated files are kept.",
                default: .int(5),
                example: .int(2)
            ),
        ]
    )

    static let dependencies = Shape.either([
        .list(.scalar(ScalarFormat.daemonName), minCount: 0),
        .dictionary(
            key: ScalarFormat.daemonName,
            value: .choice(DaemonSpec.Dependency.Condition.allCases.map(\.rawValue))
        ),
    ])

    /// How many copies of a daemon run, for the kinds that take it (``DaemonKind/takesReplicas``).
    static let replicas = Property(
        "replicas",
        .integer(min: 1, max: Manifest.maximumReplicas),
        "How many copies of the daemon run, named NAME#1…NAME#N, each with ORCHESTRATE_REPLICA (1…N) in its "
            + "environment and its own readiness, restarts and log; a daemon depending on NAME waits for all of them. "
            + "`orchestrate scale NAME N` changes it live, and a save of a new N starts or stops only the difference.",
        example: .int(3)
    )

    /// Fields every daemon has, and the only fields `defaults` may set.
    static let commonProperties: [Property] = [
        Property("enabled", .boolean, "Whether the daemon runs.", default: .bool(true), example: .bool(false)),
        Property(
            "cwd",
            .scalar(.path),
            "Working folder of its commands, relative to the manifest's folder.",
            default: .string("."),
            example: .string("services/api")
        ),
        Property(
            "env_file",
            .either([.scalar(.path), .list(.scalar(.path), minCount: 1)]),
            "Dotenv files (docker compose's rules) whose variables its commands get, over the top-level env and under its "
                + "own env; relative to the manifest's folder. Saving one restarts the daemons that use it.",
            example: .string(".env.web")
        ),
        Property(
            "env",
            environment,
            "Environment variables for its commands, over the top-level env and its env_file.",
            example: .object([("PORT", .string("8000")), ("DEBUG", .string("1"))])
        ),
        Property("restart", .object(restart), "Restart policy of the service.", default: .object([])),
        Property(
            "stop_signal",
            .scalar(.signal),
            "Signal sent to the process group to stop it.",
            default: .string("SIGTERM"),
            example: .string("SIGINT")
        ),
        Property(
            "stop_timeout",
            .duration(min: .zero, max: .seconds(3_600)),
            "How long a stop waits before SIGKILL.",
            default: .string("10s"),
            example: .string("30s")
        ),
        Property("log", .object(log), "Rotation of the daemon's log file.", default: .object([])),
        Property(
            "depends_on",
            dependencies,
            "Daemons that must be ready (or started, or completed) before this one starts.",
            default: .array([]),
            example: .object([("db", .string("ready")), ("migrate", .string("completed"))])
        ),
        Property(
            "restart_with_dependencies",
            .boolean,
            "Restart this daemon when a dependency is restarted.",
            default: .bool(false),
            example: .bool(true)
        ),
        Property(
            "notify",
            .object(notify),
            "Hooks: a command to run, or a URL to post to, when the daemon fails, recovers or restarts.",
            example: .object([
                ("on", .array([.string("run_failed"), .string("recovered")])),
                ("webhook", .string("https://ntfy.sh/my-alerts")),
            ])
        ),
    ]

    static let notify = ObjectShape(
        title: "notify",
        properties: [
            Property(
                "on",
                .list(.choice(NotifySpec.Event.allCases.map(\.rawValue)), minCount: 1),
                "The events that run the hooks.",
                default: .array([.string("failed"), .string("recovered")]),
                example: .array([.string("run_failed"), .string("exited"), .string("recovered")])
            ),
            Property(
                "command",
                .command,
                "Run for each event, with ORCHESTRATE_EVENT, ORCHESTRATE_DAEMON, ORCHESTRATE_LOG_FILE and more set.",
                example: .array([.string("sh"), .string("scripts/alert.sh")])
            ),
            Property(
                "webhook",
                .scalar(.webhookURL),
                "Gets a POST of each event as JSON (5 s timeout, 3 tries).",
                example: .string("https://ntfy.sh/my-alerts")
            ),
            Property(
                "timeout",
                .duration(min: .milliseconds(100), max: .seconds(3_600)),
                "How long a hook's command may run before it is killed.",
                default: .string("30s"),
                example: .string("10s")
            ),
        ]
    )

    static let defaults = ObjectShape(title: "defaults", properties: commonProperties)

    static let control = ObjectShape(
        title: "control",
        properties: [
            Property(
                "http",
                .scalar(.listen(allowUnix: false)),
                "Also serve the control API on this TCP address (loopback, or with api_key_env).",
                example: .string("127.0.0.1:8400")
            ),
            Property(
                "api_key_env",
                .scalar(ScalarFormat.environmentName),
                "Environment variable holding the key every request to control.http must carry.",
                example: .string("ORCHESTRATE_CONTROL_KEY")
            ),
        ]
    )

    /// The manifest, with `daemon` as the shape of each daemon.
    static func root(daemon: Shape) -> ObjectShape {
        ObjectShape(
            title: "the manifest",
            properties: [
                Property(
                    "version",
                    .choice(["1"]),
                    "Version of the manifest format.",
                    default: .int(1),
                    example: .int(1)
                ),
                Property(
                    "include",
                    .list(.scalar(.nonEmptyText), minCount: 0),
                    "Fragments whose daemons join this file's: paths or globs relative to this folder, each a YAML file "
                        + "of daemons, with env and defaults of its own for its own daemons; their relative paths are "
                        + "read from their own folder.",
                    example: .array([.string("daemons.d/*.yaml")])
                ),
                Property(
                    "state_dir",
                    .scalar(.path),
                    "PID lock, control socket and logs, relative to the manifest's folder.",
                    default: .string(".orchestrate"),
                    example: .string(".state/orchestrate")
                ),
                Property(
                    "env_file",
                    .scalar(.path),
                    "A dotenv file whose variables interpolation can use.",
                    example: .string(".env")
                ),
                Property(
                    "env",
                    environment,
                    "Environment variables given to every command.",
                    default: .object([]),
                    example: .object([
                        ("LOG_LEVEL", .string("info")), ("API_URL", .string("${API_URL:-http://127.0.0.1:8420}")),
                    ])
                ),
                Property(
                    "reload",
                    .choice(["auto", "manual"]),
                    "auto: apply saves of this file; manual: only `orchestrate reload` or SIGHUP.",
                    default: .string("auto"),
                    example: .string("manual")
                ),
                Property(
                    "auto_start",
                    .boolean,
                    "Commands that need the supervisor start one in the background first.",
                    default: .bool(false),
                    example: .bool(true)
                ),
                Property("control", .object(control), "The control API over TCP."),
                Property(
                    "defaults",
                    .object(defaults),
                    "Fields merged under every daemon.",
                    default: .object([]),
                    example: .object([
                        ("restart", .object([("backoff", .object([("initial", .string("2s"))]))])),
                        ("stop_timeout", .string("30s")),
                    ])
                ),
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

    /// The shapes that depend on the kinds: each kind's daemon shape, the tagged shape of a daemon, the root.
    struct Kinds: Sendable {
        /// Each kind's name and the shape of its daemons, in the list's order.
        let variants: [(tag: String, shape: ObjectShape)]
        /// A daemon: a mapping whose `kind` picks the variant.
        let daemon: Shape
        /// The manifest.
        let root: ObjectShape

        init(_ kinds: [any DaemonKind.Type]) {
            let kindProperty = Property(
                "kind",
                .choice(kinds.map { $0.name }),
                "What the daemon is.",
                required: true
            )
            variants = kinds.map { kind in
                let shape = ObjectShape(
                    title: kind.title,
                    properties: [kindProperty] + kind.fields + (kind.takesReplicas ? [replicas] : [])
                        + commonProperties,
                    allowsExtensions: true,
                    exactlyOneOf: kind.exactlyOneOf
                )
                return (kind.name, shape)
            }
            daemon = .tagged(TaggedShape(key: kindProperty.name, variants: variants))
            root = ManifestShape.root(daemon: daemon)
        }
    }
}
