import DaemonKit
import Manifest

/// The process kind: a `process` daemon's fields, which ``ProcessDaemon`` keeps up.
public struct ProcessSpec: DaemonKind {
    public static let name = "process"

    public static let fields = [
        Property(
            "command",
            .command,
            "The long-running command: an argv list, or a string for /bin/sh -c.",
            example: .array([.string("python3"), .string("-m"), .string("http.server"), .string("8000")]),
            required: true
        ),
        Property(
            "ready",
            .object(
                Probe.shape(
                    title: "readiness probe",
                    period: "250ms",
                    timeout: "30s",
                    timeoutSummary: "How long the process may take to become ready.",
                    failures: false
                )
            ),
            "How to tell the process is ready; without it, it is ready once started.",
            example: .object([("http", .string("http://127.0.0.1:8000/")), ("timeout", .string("1m"))])
        ),
        Property(
            "liveness",
            .object(
                Probe.shape(
                    title: "liveness probe",
                    period: "10s",
                    timeout: "5s",
                    timeoutSummary: "How long one check may take.",
                    failures: true
                )
            ),
            "A check that restarts the process when it stops answering.",
            example: .object([("tcp", .string("127.0.0.1:8000")), ("period", .string("30s"))])
        ),
        Property(
            "watch",
            .object(
                ObjectShape(
                    title: "process watch",
                    properties: FileWatch.fieldNames.compactMap { name in
                        WatcherSpec.fields.first { $0.name == name }
                    }
                )
            ),
            "Files whose change restarts the process gracefully (its stop_signal and stop_timeout), and the daemons "
                + "that follow it with restart_with_dependencies; the fields of the watcher kind, with its defaults.",
            example: .object([("paths", .array([.string("src")])), ("patterns", .array([.string("**/*.py")]))])
        ),
    ]

    /// A one-shot process (restart policy `never` or `on-failure`) completes when it exits 0.
    public static let canComplete = true

    /// A process may run as `replicas` copies, `NAME#1`…`NAME#N`.
    public static let takesReplicas = true

    /// The long-running command.
    public var command: Command
    /// How to tell it is ready.
    public var ready: Probe?
    /// How to tell it is still alive.
    public var liveness: Probe?
    /// The files whose change restarts it.
    public var watch: FileWatch?

    public init(fields: ResolvedFields) throws {
        command = fields.command("command")!
        ready = fields.object("ready").map(Probe.init(fields:))
        liveness = fields.object("liveness").map(Probe.init(fields:))
        watch = try fields.object("watch").map(FileWatch.init(fields:))
    }

    /// The readiness probe's timeout.
    public var readinessTimeout: Duration? { ready?.timeout }

    public func makeService(for daemon: DaemonSpec, stateFolder: StateFolder) -> any DaemonService {
        ProcessDaemon(spec: daemon, process: self)
    }
}
