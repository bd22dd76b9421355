import DaemonKit
import FoundationEssentials

/// Loads a `daemons.yaml`: YAML with source marks, interpolation, environment and `--set` overrides,
/// `defaults` merged under each daemon, then validation against the model, all problems at once.
///
/// Loading reads files and nothing else: it starts no process and touches no state folder.
public struct ManifestLoader: Sendable {
    /// The manifest file.
    public var file: String
    /// How the file is named in messages (as the user gave it, or relative to the current folder).
    public var fileLabel: String
    /// The kinds daemons may be of.
    public var kinds: DaemonKinds
    /// The environment interpolation and `ORCHESTRATE__…` overrides are read from.
    public var environment: [String: String]
    /// `--set path=value` arguments, applied after the environment's overrides.
    public var setArguments: [String]
    /// The daemons kept (`up --only`, `--except`); every daemon by default.
    public var selection: DaemonSelection
    /// The copies `orchestrate scale` asked for, by daemon, each with the `replicas` the manifest said then: a scale
    /// holds over later loads until the manifest's own `replicas` of the daemon changes (a newer decision).
    public var scales: [String: ReplicaScale] = [:]

    /// Makes a loader for daemons of `kinds`; by default it reads the process environment.
    public init(
        file: String,
        fileLabel: String? = nil,
        kinds: DaemonKinds,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        setArguments: [String] = [],
        selection: DaemonSelection = DaemonSelection()
    ) {
        self.file = Paths.absolute(file, from: FileManager.default.currentDirectoryPath)
        self.fileLabel = fileLabel ?? file
        self.kinds = kinds
        self.environment = environment
        self.setArguments = setArguments
        self.selection = selection
    }

    /// Loads and validates the manifest, or throws every problem found.
    public func load() throws(ManifestErrors) -> LoadedManifest {
        var isDirectory = false
        let exists = FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory)
        guard exists, !isDirectory, let data = FileManager.default.contents(atPath: file) else {
            let reason = !exists ? "does not exist" : isDirectory ? "is a folder" : "cannot be read"
            throw ManifestErrors([
                ManifestError(code: .unreadable, origin: nil, path: "", message: "\(fileLabel) \(reason)")
            ])
        }
        return try load(bytes: Array(data))
    }

    /// Loads a manifest from `bytes` as if they were the content of ``file``.
    public func load(bytes: [UInt8]) throws(ManifestErrors) -> LoadedManifest {
        var errors: [ManifestError] = []
        var warnings: [String] = []
        let (parsed, parseErrors) = YAMLParser(fileLabel: fileLabel).parse(bytes)
        guard parseErrors.isEmpty else { throw ManifestErrors(parseErrors) }
        guard var root = parsed, !root.isNull else {
            throw ManifestErrors([
                ManifestError(
                    code: .missingKey,
                    origin: .file(path: fileLabel, line: 1, column: 1),
                    path: "",
                    message: "the manifest is empty; it needs at least a 'daemons:' mapping"
                )
            ])
        }
        guard root.pairs != nil else {
            throw ManifestErrors([
                ManifestError(
                    code: .invalidValue,
                    origin: root.origin,
                    path: "",
                    message: "expected a mapping at the top of the manifest, found \(root.found)"
                )
            ])
        }
        let (environmentOverrides, argumentOverrides, overrideErrors) = overrides()
        errors += overrideErrors

        // Interpolation reads the process environment, then the env_file; the process wins, as in compose.
        let directory = PathText.folder(of: file)
        var fileVariables: [String: String] = [:]
        if let envFile = envFileNode(root, overrides: environmentOverrides + argumentOverrides) {
            var resolver = Interpolator(lookup: { environment[$0] })
            if let path = resolver.substitute(envFile, path: ["env_file"]) {
                fileVariables = readEnvFile(path, origin: envFile.origin, directory: directory, errors: &errors)
            }
            errors += resolver.errors
        }
        let lookup = { (name: String) in environment[name] ?? fileVariables[name] }
        var interpolator = Interpolator(lookup: lookup)
        interpolator.interpolate(&root, path: [])
        errors += interpolator.errors
        warnings += interpolator.warnings
        let shapes = kinds.shapes
        // An override of `include` names the fragments to read, so it applies before they are read (its errors are
        // reported once, by the full pass below, which sets the same value again).
        let includeOverrides = (environmentOverrides + argumentOverrides).filter { override in
            override.segments.map(Suggestion.normalize) == ["include"]
        }
        if !includeOverrides.isEmpty {
            var early = OverrideApplier(shape: shapes.root)
            early.apply(includeOverrides, to: &root)
        }
        let included = include(into: &root, lookup: lookup)
        errors += included.errors
        warnings += included.warnings

        var applier = OverrideApplier(shape: shapes.root)
        applier.apply(environmentOverrides + argumentOverrides, to: &root)
        errors += applier.errors

        // `defaults` is checked on its own first and merged only when valid, so that a bad default is
        // reported once, not once per daemon.
        if let defaults = root["defaults"], !defaults.isNull {
            var defaultsValidator = ShapeValidator()
            _ = defaultsValidator.resolve(defaults, as: .object(ManifestShape.defaults), path: ["defaults"])
            if defaultsValidator.errors.isEmpty { root = Self.mergingDefaults(defaults, into: root) }
        }
        var validator = ShapeValidator()
        let resolved = validator.resolve(root, as: .object(shapes.root), path: [])
        // A value whose interpolation failed is already reported; its raw text would only add a second error.
        errors += validator.errors.filter { error in !interpolator.failed.contains { $0 == error.origin } }
        var checks = ManifestChecks(file: file, kinds: kinds)
        checks.check(resolved)
        errors += checks.errors
        guard errors.isEmpty else { throw ManifestErrors(errors) }
        var whole = try Manifest(resolved: resolved, file: file, environment: environment, kinds: kinds)
        whole.includedFiles = included.files
        whole.includedFolders = included.folders
        var (manifest, selectionWarnings) = try selection.apply(to: whole)
        var keptScales: [String: ReplicaScale] = [:]
        for (name, scale) in scales where manifest.declaredReplicas[name] == scale.declared {
            guard let spec = manifest.members(of: name).first, type(of: spec.kind).takesReplicas,
                let scaled = manifest.scaled(name, to: scale.count)
            else { continue }
            manifest = scaled
            keptScales[name] = scale
        }
        return LoadedManifest(
            manifest: manifest,
            resolved: resolved,
            warnings: warnings + selectionWarnings,
            scales: keptScales
        )
    }

    private func overrides() -> ([Override], [Override], [ManifestError]) {
        let fromArguments = Override.fromArguments(setArguments)
        return (Override.fromEnvironment(environment), fromArguments.overrides, fromArguments.errors)
    }

    /// The `env_file` value, taking an override of it into account (it is needed before overrides apply).
    private func envFileNode(_ root: YAMLNode, overrides: [Override]) -> YAMLNode? {
        let override = overrides.last { $0.segments.map(Suggestion.normalize) == ["env_file"] }
        if let override { return YAMLNode(.scalar(override.value, .quoted), origin: override.origin) }
        guard let node = root["env_file"], !node.isNull else { return nil }
        return node
    }

    private func readEnvFile(
        _ path: String,
        origin: ValueOrigin,
        directory: String,
        errors: inout [ManifestError]
    ) -> [String: String] {
        let absolute = Paths.absolute(path, from: directory)
        do {
            guard let variables = try DotEnv.variables(ofFile: absolute, lookup: { environment[$0] }) else {
                errors.append(
                    ManifestError(
                        code: .envFile,
                        origin: origin,
                        path: "env_file",
                        message: "env_file '\(path)' cannot be read"
                    )
                )
                return [:]
            }
            return variables
        } catch {
            let label = Paths.relative(absolute, to: FileManager.default.currentDirectoryPath)
            errors.append(
                ManifestError(
                    code: .envFile,
                    origin: .file(path: label, line: error.line, column: error.column),
                    path: "",
                    message: error.message
                )
            )
            return [:]
        }
    }

    /// Each daemon with `defaults` merged under it: mappings merge key by key, the daemon's own values win.
    static func mergingDefaults(_ defaults: YAMLNode, into root: YAMLNode) -> YAMLNode {
        guard let daemons = root["daemons"], let pairs = daemons.pairs else { return root }
        var result = root
        let merged = pairs.map { pair in
            YAMLNode.Pair(pair.key, pair.value.pairs == nil ? pair.value : deepMerge(base: defaults, over: pair.value))
        }
        result.set("daemons", to: YAMLNode(.mapping(merged), origin: daemons.origin))
        return result
    }

    static func deepMerge(base: YAMLNode, over: YAMLNode) -> YAMLNode {
        guard let basePairs = base.pairs, var overPairs = over.pairs else { return over }
        overPairs.reserveCapacity(overPairs.count + basePairs.count)
        for pair in basePairs {
            if let index = overPairs.firstIndex(where: { $0.key.text == pair.key.text }) {
                if !overPairs[index].value.isNull {
                    overPairs[index].value = deepMerge(base: pair.value, over: overPairs[index].value)
                }
            } else {
                overPairs.append(pair)
            }
        }
        return YAMLNode(.mapping(overPairs), origin: over.origin)
    }
}

/// The result of loading: the typed manifest, the resolved tree `config` prints, and warnings.
public struct LoadedManifest: Sendable {
    /// The typed, validated manifest.
    public var manifest: Manifest
    /// The tree after interpolation, overrides, `defaults` and built-in defaults.
    public var resolved: YAMLNode
    /// Things worth saying that are not errors, such as variables that were not set.
    public var warnings: [String]
    /// The loader's ``ManifestLoader/scales`` that still hold (the daemon is there, with the same `replicas`).
    public var scales: [String: ReplicaScale] = [:]
}

/// Interpolates every scalar value of a tree (keys are left alone, as docker compose does).
struct Interpolator {
    let interpolation: Interpolation
    var errors: [ManifestError] = []
    var warnings: [String] = []
    /// Where interpolation failed.
    var failed: [ValueOrigin] = []
    private var trail: [String] = []
    private var warned: Set<String> = []

    init(lookup: @escaping (String) -> String?) { interpolation = Interpolation(lookup: lookup) }

    mutating func interpolate(_ node: inout YAMLNode, path: [String]) {
        trail = path
        interpolate(&node)
    }

    /// Most of a manifest has no `$`: only the collections on the way to a `$` are visited. A collection lets go
    /// of its children while they change, so that they change in place rather than being copied; the path is a
    /// stack rather than a new array per node.
    private mutating func interpolate(_ node: inout YAMLNode) {
        guard node.containsDollar else { return }
        switch node.content {
        case .scalar(let text, let style):
            guard text.utf8.contains(UInt8(ascii: "$")), let value = substitute(node, path: trail), value != text else {
                return
            }
            node = YAMLNode(.scalar(value, style), origin: node.origin)
        case .sequence(var items):
            node.content = .sequence([])
            for index in items.indices {
                trail.append(ShapeValidator.segment(index))
                interpolate(&items[index])
                trail.removeLast()
            }
            node.content = .sequence(items)
        case .mapping(var pairs):
            node.content = .mapping([])
            for index in pairs.indices {
                trail.append(pairs[index].key.text)
                interpolate(&pairs[index].value)
                trail.removeLast()
            }
            node.content = .mapping(pairs)
        }
    }

    mutating func substitute(_ node: YAMLNode, path: [String]) -> String? {
        guard let text = node.scalarText else { return nil }
        do {
            let result = try interpolation.substitute(text)
            for name in result.unsetVariables where warned.insert(name).inserted {
                var warning = "\(node.origin.label): the \(name) variable is not set; defaulting to a blank string"
                if CommandVariable(name: name) != nil {
                    // Compose's rule stands (it is interpolated now), but what was surely meant is the run's value.
                    warning +=
                        "; \(name) is set by orchestrate when the command runs; write $$\(name) to pass it to the command"
                }
                warnings.append(warning)
            }
            return result.value
        } catch {
            failed.append(node.origin)
            errors.append(
                ManifestError(
                    code: .interpolation,
                    origin: node.origin,
                    path: ShapeValidator.dotted(path),
                    message: error.message
                )
            )
            return nil
        }
    }
}
