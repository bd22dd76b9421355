import DaemonKit
import FoundationEssentials

/// Checks that span several fields or daemons, run on the resolved tree (whether or not the shape validator found
/// errors in it): those of the manifest, and each kind's own (``DaemonKind/check(_:)``).
struct ManifestChecks {
    /// The manifest's absolute path.
    let file: String
    /// The kinds the daemons are of.
    let kinds: DaemonKinds
    /// The manifest's folder, which relative paths start from.
    let folder: String
    private(set) var errors: [ManifestError] = []

    init(file: String, kinds: DaemonKinds) {
        self.file = file
        self.kinds = kinds
        folder = PathText.folder(of: file)
    }

    mutating func check(_ root: YAMLNode) {
        let daemons = root["daemons"]?.pairs ?? []
        let stateDirectory = Paths.absolute(root["state_dir"]?.scalarText ?? ".orchestrate", from: folder)
        if let node = root["state_dir"] {
            checkOwnFolder(
                stateDirectory,
                node,
                path: "state_dir",
                subject: node.scalarText ?? stateDirectory
            )
        }
        for pair in daemons {
            let (key, daemon) = (pair.key, pair.value)
            checkBackoff(daemon, name: key.text)
            if let notify = daemon["notify"], notify["command"] == nil, notify["webhook"] == nil {
                fail(
                    .missingKey,
                    notify.origin,
                    "daemons.\(key.text).notify",
                    "notify needs a command, a webhook, or both",
                    "add command: [...] or webhook: https://..."
                )
            }
            guard let kind = kind(of: daemon) else { continue }
            var check = DaemonCheck(
                name: key.text,
                fields: fields(daemon),
                manifestFile: file,
                stateFolder: StateFolder(stateDirectory)
            )
            kind.check(&check)
            errors += check.errors
        }
        checkDependencies(daemons)
        checkPorts(root, daemons)
        if let http = root["control"]?["http"], let address = http.scalarText.flatMap(ListenAddress.init(parsing:)),
            !address.isLoopback, root["control"]?["api_key_env"] == nil
        {
            fail(
                .invalidValue,
                http.origin,
                "control.http",
                "serving the control API on \(address), which is not loopback, needs control.api_key_env",
                "set control: {http: ..., api_key_env: NAME}, or listen on 127.0.0.1"
            )
        }
    }

    /// The registered kind of a daemon node, if its `kind` names one.
    private func kind(of daemon: YAMLNode) -> (any DaemonKind.Type)? {
        daemon["kind"]?.scalarText.flatMap(kinds.kind(named:))
    }

    /// A daemon node's fields, paths read from the manifest's folder.
    private func fields(_ daemon: YAMLNode) -> ResolvedFields {
        ResolvedFields(daemon, manifestDirectory: folder, workingDirectory: folder)
    }

    private mutating func checkBackoff(_ daemon: YAMLNode, name: String) {
        if let backoff = daemon["restart"]?["backoff"], let initial = backoff["initial"], let max = backoff["max"],
            let first = initial.scalarText.flatMap(DurationText.parse),
            let last = max.scalarText.flatMap(DurationText.parse),
            last < first
        {
            fail(
                .invalidValue,
                max.origin,
                "daemons.\(name).restart.backoff.max",
                "the longest backoff (\(DurationText.format(last))) is shorter than the first (\(DurationText.format(first)))"
            )
        }
    }

    /// A path the supervisor writes (its state folder, an rpc daemon's socket) must not be in the state folder of
    /// another manifest, however it gets there (`..`, an absolute path, a symbolic link).
    private mutating func checkOwnFolder(_ absolute: String, _ node: YAMLNode, path: String, subject: String) {
        if let error = Self.otherStateFolder(absolute, node, path: path, subject: subject, manifestFile: file) {
            errors.append(error)
        }
    }

    /// The error for `absolute`, set by `node` at `path`, when it lies in the state folder of another manifest
    /// than `manifestFile`.
    static func otherStateFolder(
        _ absolute: String,
        _ node: YAMLNode,
        path: String,
        subject: String,
        manifestFile: String
    ) -> ManifestError? {
        guard let other = StateFolder.otherOwner(of: absolute, manifest: manifestFile) else { return nil }
        return ManifestError(
            code: .invalidValue,
            origin: node.origin,
            path: path,
            message: "\(subject) is in \(other.folder), the state folder of another manifest (\(other.manifest))",
            suggestion:
                "two manifests cannot share a state folder; use a path of this manifest's own, such as the default .orchestrate"
        )
    }

    private mutating func checkDependencies(_ daemons: [YAMLNode.Pair]) {
        // Each name's position in `daemons`: positions, unlike nodes, are copied for nothing.
        var byName: [String: Int] = [:]
        byName.reserveCapacity(daemons.count)
        for index in daemons.indices where byName[daemons[index].key.text] == nil {
            byName[daemons[index].key.text] = index
        }
        var graph: [String: [String]] = [:]
        for pair in daemons {
            let (key, daemon) = (pair.key, pair.value)
            let dependencies = Self.dependencies(of: daemon)
            guard !dependencies.isEmpty else { continue }
            let path = "daemons.\(key.text).depends_on"
            let enabled = daemon["enabled"]?.scalarText != "false"
            for (name, condition, origin) in dependencies {
                guard let target = byName[name].map({ daemons[$0].value }) else {
                    fail(
                        .reference,
                        origin,
                        path,
                        "depends on '\(name)', which is not a daemon of this manifest",
                        Suggestion.didYouMean(name, among: byName.keys.sorted())
                    )
                    continue
                }
                if name == key.text {
                    fail(.reference, origin, path, "a daemon cannot depend on itself")
                    continue
                }
                if enabled, target["enabled"]?.scalarText == "false" {
                    fail(
                        .reference,
                        origin,
                        path,
                        "depends on '\(name)', which is disabled",
                        "enable '\(name)' or disable '\(key.text)' too"
                    )
                }
                if condition == "completed" || condition == "completed_successfully",
                    kind(of: target)?.canComplete != true || target["restart"]?["policy"]?.scalarText == "always"
                {
                    let finishing = kinds.filter { $0.canComplete }.map { "\($0.article) \($0.name)" }
                    fail(
                        .reference,
                        origin,
                        path,
                        "'\(condition)' needs '\(name)' to be \(finishing.isEmpty ? "a daemon" : finishing.joined(separator: " or "))"
                            + " that can finish (restart policy 'never' or 'on-failure')"
                    )
                }
                graph[key.text, default: []].append(name)
            }
        }
        for cycle in Self.cycles(in: graph, order: daemons.map(\.key.text)) {
            let first = cycle[0]
            let origin = byName[first].map { daemons[$0].value }?["depends_on"]?.origin ?? .builtInDefault
            fail(
                .cycle,
                origin,
                "daemons.\(first).depends_on",
                "dependency cycle: " + (cycle + [first]).joined(separator: " → ")
            )
        }
    }

    /// The dependencies of a daemon node: name, condition and where each is written.
    static func dependencies(of daemon: YAMLNode) -> [(String, String, ValueOrigin)] {
        guard let node = daemon["depends_on"] else { return [] }
        if let items = node.items {
            return items.compactMap { item in item.scalarText.map { ($0, "ready", item.origin) } }
        }
        return (node.pairs ?? []).map { ($0.key.text, $0.value.scalarText ?? "ready", $0.key.origin) }
    }

    /// Each elementary cycle reachable in `graph`, reported once, starting at its first daemon in manifest order.
    static func cycles(in graph: [String: [String]], order: [String]) -> [[String]] {
        var state: [String: Int] = [:]  // 1: on the stack, 2: done
        var stack: [String] = []
        var found: [[String]] = []
        func visit(_ name: String) {
            state[name] = 1
            stack.append(name)
            for next in graph[name] ?? [] {
                if state[next] == 1, let start = stack.firstIndex(of: next) {
                    found.append(Array(stack[start...]))
                } else if state[next] == nil {
                    visit(next)
                }
            }
            stack.removeLast()
            state[name] = 2
        }
        // A daemon that depends on none is on no cycle: it is visited only from the daemons that depend on it.
        for name in order where graph[name] != nil && state[name] == nil { visit(name) }
        return found
    }

    private mutating func checkPorts(_ root: YAMLNode, _ daemons: [YAMLNode.Pair]) {
        var taken: [Int: String] = [:]
        var listeners: [(path: String, port: Int, node: YAMLNode)] = daemons.compactMap { pair in
            let (key, daemon) = (pair.key, pair.value)
            guard daemon["enabled"]?.scalarText != "false", let kind = kind(of: daemon),
                let (field, port) = kind.listeningPort(in: fields(daemon)), let node = daemon[field]
            else { return nil }
            return ("daemons.\(key.text).\(field)", port, node)
        }
        if let http = root["control"]?["http"],
            case .tcp(_, let port)? = http.scalarText.flatMap(ListenAddress.init(parsing:))
        {
            listeners.insert(("control.http", port, http), at: 0)
        }
        for (path, port, node) in listeners where port != 0 {
            if let other = taken[port] {
                fail(.invalidValue, node.origin, path, "port \(port) is already used by \(other)")
            } else {
                taken[port] = path
            }
        }
    }

    private mutating func fail(
        _ code: ManifestError.Code,
        _ origin: ValueOrigin,
        _ path: String,
        _ message: String,
        _ suggestion: String? = nil
    ) {
        errors.append(ManifestError(code: code, origin: origin, path: path, message: message, suggestion: suggestion))
    }
}
