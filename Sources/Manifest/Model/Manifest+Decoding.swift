import DaemonKit
import FoundationEssentials

extension Manifest {
    /// Builds the typed manifest from a tree the ``ShapeValidator`` resolved without errors, each daemon's kind
    /// fields decoded by its kind of `kinds`.
    ///
    /// Validation has already checked every value, so reading here cannot fail; a value that does not
    /// read is a bug in the shape, and traps. A kind may still refuse its fields (``DaemonKind/init(fields:)``
    /// throws): the errors of every daemon are thrown together.
    init(
        resolved root: YAMLNode,
        file: String,
        environment processEnvironment: [String: String],
        kinds: DaemonKinds
    ) throws(ManifestErrors) {
        let directory = PathText.folder(of: file)
        let fields = ResolvedFields(root, manifestDirectory: directory, workingDirectory: directory)
        self.file = file
        self.directory = directory
        self.kinds = kinds
        version = fields.int("version") ?? 1
        stateDirectory = fields.path("state_dir")!
        envFile = fields.path("env_file")
        environment = fields.environment("env", processEnvironment)
        reload = ReloadMode(rawValue: fields.string("reload")!)!
        autoStart = fields.bool("auto_start")!
        control = fields.object("control").map { control in
            Control(http: control.listenAddress("http"), apiKeyEnvironment: control.string("api_key_env"))
        }
        var daemons: [DaemonSpec] = []
        var errors: [ManifestError] = []
        for pair in root["daemons"]?.pairs ?? [] {
            if let count = pair.value[ManifestShape.replicas.name]?.scalarText.flatMap({ Int($0) }) {
                declaredReplicas[pair.key.text] = count
            }
            do {
                daemons.append(
                    try DaemonSpec(
                        name: pair.key.text,
                        node: pair.value,
                        directory: directory,
                        topEnvironment: environment,
                        processEnvironment: processEnvironment,
                        kinds: kinds
                    )
                )
            } catch {
                errors.append(
                    ManifestError(
                        code: .invalidValue,
                        origin: pair.value.origin,
                        path: "daemons.\(pair.key.text)",
                        message: "\(error)"
                    )
                )
            }
        }
        guard errors.isEmpty else { throw ManifestErrors(errors) }
        self.daemons = daemons
        positions = Self.positionsByName(daemons)
        expandReplicas()
    }
}

extension DaemonSpec {
    fileprivate init(
        name: String,
        node: YAMLNode,
        directory: String,
        topEnvironment: [String: String],
        processEnvironment: [String: String],
        kinds: DaemonKinds
    ) throws {
        let common = ResolvedFields(node, manifestDirectory: directory, workingDirectory: directory)
        let workingDirectory = common.path("cwd")!
        let fields = ResolvedFields(node, manifestDirectory: directory, workingDirectory: workingDirectory)
        let restartFields = fields.object("restart")!
        let backoff = restartFields.object("backoff")!
        let limit = restartFields.object("limit")!
        let logFields = fields.object("log")!
        let policy = restartFields.string("policy")
        let files =
            fields.node["env_file"].map { node in
                (node.items ?? [node]).compactMap(\.scalarText).map { Paths.absolute($0, from: directory) }
            } ?? []
        var environment = topEnvironment
        for file in files {
            environment.merge(try Self.environment(of: file, processEnvironment)) { _, fromFile in fromFile }
        }
        environment.merge(fields.environment("env", processEnvironment)) { _, own in own }
        self.init(
            name: name,
            kind: try kinds.kind(named: fields.string("kind")!)!.init(fields: fields),
            enabled: fields.bool("enabled")!,
            workingDirectory: workingDirectory,
            environment: environment,
            restart: RestartPolicy(
                mode: RestartPolicy.Mode.all.first { $0.name == policy }!,
                initialBackoff: backoff.duration("initial")!,
                maxBackoff: backoff.duration("max")!,
                burst: limit.int("burst")!,
                window: limit.duration("window")!
            ),
            stopSignal: Signal(name: fields.string("stop_signal")!)!,
            stopTimeout: fields.duration("stop_timeout")!,
            log: LogRotation(maxSize: logFields.size("max_size")!, keep: logFields.int("keep")!),
            dependencies: Self.dependencies(fields["depends_on"]),
            restartWithDependencies: fields.bool("restart_with_dependencies")!,
            notify: fields.object("notify").map(Self.notify)
        )
        environmentFiles = files
    }

    /// The variables of the dotenv file at `path`, read by docker compose's rules (`${VAR}` in it reads the process
    /// environment); a sentence naming the file, line and column when it cannot be read.
    static func environment(of path: String, _ processEnvironment: [String: String]) throws -> [String: String] {
        let label = Paths.relative(path, to: FileManager.default.currentDirectoryPath)
        let variables: [String: String]?
        do {
            variables = try DotEnv.variables(ofFile: path, lookup: { processEnvironment[$0] })
        } catch {
            throw EnvironmentFileError(description: "env_file \(label):\(error.line):\(error.column): \(error.message)")
        }
        guard let variables else { throw EnvironmentFileError(description: "env_file '\(label)' cannot be read") }
        return variables
    }

    /// The hooks of a `notify` object.
    static func notify(_ fields: ResolvedFields) -> NotifySpec {
        NotifySpec(
            events: Set(fields.strings("on").compactMap(NotifySpec.Event.init(rawValue:))),
            command: fields.command("command"),
            webhook: fields.string("webhook"),
            timeout: fields.duration("timeout")!
        )
    }

    /// `[a, b]` (each must be ready) or `{a: ready, b: completed}`.
    static func dependencies(_ node: YAMLNode?) -> [Dependency] {
        if let items = node?.items {
            return items.compactMap(\.scalarText).map { Dependency(name: $0, condition: .ready) }
        }
        return (node?.pairs ?? []).map { pair in
            Dependency(name: pair.key.text, condition: .init(rawValue: pair.value.scalarText ?? "ready") ?? .ready)
        }
    }
}

/// Why a daemon's `env_file` could not be read, in a sentence.
struct EnvironmentFileError: Error, CustomStringConvertible {
    var description: String
}
