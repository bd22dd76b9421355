import DaemonKit
import Foundation

extension Manifest {
    /// Builds the typed manifest from a tree the ``ShapeValidator`` resolved without errors.
    ///
    /// Validation has already checked every value, so reading here cannot fail; a value that does not
    /// read is a bug in the shape, and traps.
    init(resolved root: YAMLNode, file: String, environment processEnvironment: [String: String]) {
        let directory = (file as NSString).deletingLastPathComponent
        let fields = Fields(root)
        self.file = file
        self.directory = directory
        version = fields.int("version") ?? 1
        stateDirectory = Paths.absolute(fields.string("state_dir")!, from: directory)
        envFile = fields.string("env_file").map { Paths.absolute($0, from: directory) }
        environment = fields.environment("env", processEnvironment)
        reload = ReloadMode(rawValue: fields.string("reload")!)!
        autoStart = fields.bool("auto_start")!
        control = fields.object("control").map { control in
            Control(
                http: control.string("http").flatMap(ListenAddress.init(parsing:)),
                apiKeyEnvironment: control.string("api_key_env")
            )
        }
        let topEnvironment = environment
        daemons = (root["daemons"]?.pairs ?? []).map { pair in
            DaemonSpec(
                name: pair.key.text,
                fields: Fields(pair.value),
                directory: directory,
                topEnvironment: topEnvironment,
                processEnvironment: processEnvironment
            )
        }
    }
}

extension DaemonSpec {
    fileprivate init(
        name: String,
        fields: Fields,
        directory: String,
        topEnvironment: [String: String],
        processEnvironment: [String: String]
    ) {
        self.name = name
        enabled = fields.bool("enabled")!
        workingDirectory = Paths.absolute(fields.string("cwd")!, from: directory)
        environment = topEnvironment.merging(fields.environment("env", processEnvironment)) { _, own in own }
        let restartFields = fields.object("restart")!
        let backoff = restartFields.object("backoff")!
        let limit = restartFields.object("limit")!
        restart = RestartPolicy(
            mode: RestartPolicy.Mode.all.first { $0.name == restartFields.string("policy") }!,
            initialBackoff: backoff.duration("initial")!,
            maxBackoff: backoff.duration("max")!,
            burst: limit.int("burst")!,
            window: limit.duration("window")!
        )
        stopSignal = Signal(name: fields.string("stop_signal")!)!
        stopTimeout = fields.duration("stop_timeout")!
        let logFields = fields.object("log")!
        log = LogRotation(maxSize: logFields.size("max_size")!, keep: logFields.int("keep")!)
        dependencies = Fields.dependencies(fields.node["depends_on"])
        restartWithDependencies = fields.bool("restart_with_dependencies")!
        let cwd = workingDirectory
        switch fields.string("kind")! {
        case "periodic":
            kind = .periodic(
                PeriodicSpec(
                    command: fields.command("command")!,
                    schedule: fields.duration("interval").map(Schedule.interval)
                        ?? .cron(try! CronSchedule(parsing: fields.string("cron")!)),
                    jitter: fields.duration("jitter")!,
                    runOnStart: fields.bool("run_on_start")!,
                    timeout: fields.duration("timeout"),
                    overlap: PeriodicSpec.Overlap(rawValue: fields.string("overlap")!)!,
                    retry: fields.retry()
                )
            )
        case "watcher":
            kind = .watcher(
                WatcherSpec(
                    command: fields.command("command")!,
                    files: FileScanner.Configuration(
                        paths: fields.strings("paths").map { Paths.absolute($0, from: cwd) },
                        patterns: fields.strings("patterns").map { try! GlobCache.shared.glob($0) },
                        ignore: fields.strings("ignore").map { try! GlobCache.shared.glob($0) },
                        gitignore: fields.bool("gitignore")!
                    ),
                    debounce: fields.duration("debounce")!,
                    maxWait: fields.duration("max_wait")!,
                    mode: WatcherSpec.Mode(rawValue: fields.string("mode")!)!,
                    pollInterval: fields.duration("poll_interval")!,
                    onBusy: WatcherSpec.OnBusy(rawValue: fields.string("on_busy")!)!,
                    runOnStart: fields.bool("run_on_start")!,
                    timeout: fields.duration("timeout"),
                    retry: fields.retry()
                )
            )
        case "rpc":
            let auth = fields.object("auth")!
            let cache = fields.object("cache")!
            var listen = ListenAddress(parsing: fields.string("listen")!)!
            if case .unix(let path) = listen { listen = .unix(path: Paths.absolute(path, from: directory)) }
            kind = .rpc(
                RPCSpec(
                    listen: listen,
                    apiKeyEnvironment: auth.string("api_key_env"),
                    insecure: auth.bool("insecure")!,
                    methods: (fields.node["methods"]?.pairs ?? []).map { pair in
                        let method = Fields(pair.value)
                        return RPCSpec.Method(
                            name: pair.key.text,
                            command: method.command("command")!,
                            timeout: method.duration("timeout")!,
                            description: method.string("description")
                        )
                    }.sorted { $0.name < $1.name },
                    cacheMaxEntries: cache.int("max_entries")!,
                    cacheMaxBytes: cache.size("max_bytes")!,
                    maxConcurrency: fields.int("max_concurrency"),
                    maxQueue: fields.int("max_queue")!,
                    maxBody: fields.size("max_body")!
                )
            )
        default:
            kind = .process(
                ProcessSpec(
                    command: fields.command("command")!,
                    ready: fields.object("ready").map { $0.probe() },
                    liveness: fields.object("liveness").map { $0.probe() }
                )
            )
        }
    }
}

/// Typed reads of a resolved mapping node.
private struct Fields {
    let node: YAMLNode

    init(_ node: YAMLNode) { self.node = node }

    func string(_ key: String) -> String? { node[key].flatMap { $0.isNull ? nil : $0.scalarText } }
    func int(_ key: String) -> Int? { string(key).flatMap(CoreSchema.integer) }
    func bool(_ key: String) -> Bool? { string(key).flatMap(CoreSchema.boolean) }
    func duration(_ key: String) -> Duration? { string(key).flatMap(DurationText.parse) }
    func size(_ key: String) -> Int? { string(key).flatMap(SizeText.parse) }
    func object(_ key: String) -> Fields? { node[key].flatMap { $0.pairs == nil ? nil : Fields($0) } }
    func strings(_ key: String) -> [String] { node[key]?.items?.compactMap(\.scalarText) ?? [] }

    func command(_ key: String) -> Command? {
        guard let value = node[key] else { return nil }
        if let items = value.items { return .argv(items.compactMap(\.scalarText)) }
        return value.scalarText.map(Command.shell)
    }

    /// A mapping of variables; a null value takes the variable from the supervisor's environment.
    func environment(_ key: String, _ processEnvironment: [String: String]) -> [String: String] {
        var result: [String: String] = [:]
        for pair in node[key]?.pairs ?? [] {
            if pair.value.isNull {
                if let value = processEnvironment[pair.key.text] { result[pair.key.text] = value }
            } else if let text = pair.value.scalarText {
                result[pair.key.text] = text
            }
        }
        return result
    }

    func retry() -> RetryPolicy {
        let retry = object("retry")!
        return RetryPolicy(attempts: retry.int("attempts")!, backoff: retry.duration("backoff")!)
    }

    func probe() -> Probe {
        let check: Probe.Check =
            if let url = string("http") {
                .http(url)
            } else if let address = string("tcp") {
                .tcp(ListenAddress(parsing: address)!)
            } else if let command = command("exec") {
                .exec(command)
            } else {
                .logLine(string("log_line")!)
            }
        return Probe(
            check: check,
            period: duration("period")!,
            timeout: duration("timeout")!,
            failures: int("failures")
        )
    }

    /// `[a, b]` (each must be ready) or `{a: ready, b: completed}`.
    static func dependencies(_ node: YAMLNode?) -> [DaemonSpec.Dependency] {
        if let items = node?.items {
            return items.compactMap(\.scalarText).map { DaemonSpec.Dependency(name: $0, condition: .ready) }
        }
        return (node?.pairs ?? []).map { pair in
            DaemonSpec.Dependency(
                name: pair.key.text,
                condition: .init(rawValue: pair.value.scalarText ?? "ready") ?? .ready
            )
        }
    }
}

/// Path helpers for resolving the manifest's relative paths.
enum Paths {
    /// `path` made absolute against `base` when relative, with `.` and `..` folded.
    static func absolute(_ path: String, from base: String) -> String {
        let joined = path.hasPrefix("/") ? path : base + "/" + path
        // Folded lexically, like Go's filepath.Clean: symlinks are left alone, as the user wrote them.
        var parts: [Substring] = []
        for part in joined.split(separator: "/") {
            switch part {
            case ".": continue
            case "..": if !parts.isEmpty { parts.removeLast() }
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// `path` relative to `base` when it lies beneath it, else `path` unchanged.
    static func relative(_ path: String, to base: String) -> String {
        if path == base { return "." }
        let prefix = base.hasSuffix("/") ? base : base + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
    }
}
