import DaemonKit
import Foundation

/// Checks that span several fields or daemons, run on a tree the shape validator accepted.
struct ManifestChecks {
    /// The manifest's absolute path.
    let file: String
    /// The manifest's folder, which relative paths start from.
    var folder: String { (file as NSString).deletingLastPathComponent }
    private(set) var errors: [ManifestError] = []

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
            let path = "daemons.\(key.text)"
            checkDurations(daemon, path: path)
            checkAuth(daemon, path: path)
            checkSocket(daemon, path: path, stateDirectory: stateDirectory)
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

    private mutating func checkDurations(_ daemon: YAMLNode, path: String) {
        if daemon["kind"]?.scalarText == "watcher", let debounce = daemon["debounce"], let maxWait = daemon["max_wait"],
            let short = debounce.scalarText.flatMap(DurationText.parse),
            let long = maxWait.scalarText.flatMap(DurationText.parse),
            long < short
        {
            fail(
                .invalidValue,
                maxWait.origin,
                path + ".max_wait",
                "max_wait (\(DurationText.format(long))) must be at least the debounce (\(DurationText.format(short)))"
            )
        }
        if let backoff = daemon["restart"]?["backoff"], let initial = backoff["initial"], let max = backoff["max"],
            let first = initial.scalarText.flatMap(DurationText.parse),
            let last = max.scalarText.flatMap(DurationText.parse),
            last < first
        {
            fail(
                .invalidValue,
                max.origin,
                path + ".restart.backoff.max",
                "the longest backoff (\(DurationText.format(last))) is shorter than the first (\(DurationText.format(first)))"
            )
        }
    }

    /// A path the supervisor writes (its state folder, an rpc daemon's socket) must not be in the state folder of
    /// another manifest, however it gets there (`..`, an absolute path, a symbolic link).
    private mutating func checkOwnFolder(_ absolute: String, _ node: YAMLNode, path: String, subject: String) {
        guard let other = StateFolderOwner.otherOwner(of: absolute, manifest: file) else { return }
        fail(
            .invalidValue,
            node.origin,
            path,
            "\(subject) is in \(other.folder), the state folder of another manifest (\(other.manifest))",
            "two manifests cannot share a state folder; use a path of this manifest's own, such as the default .orchestrate"
        )
    }

    /// An rpc daemon's Unix socket must not be the supervisor's own control socket: whichever bound second would
    /// fail, and the supervisor stops without its control socket. Nor may it be in another manifest's state folder.
    private mutating func checkSocket(_ daemon: YAMLNode, path: String, stateDirectory: String) {
        guard daemon["kind"]?.scalarText == "rpc", let listen = daemon["listen"],
            case .unix(let socket)? = listen.scalarText.flatMap(ListenAddress.init(parsing:))
        else { return }
        guard Paths.absolute(socket, from: folder) == ControlSocket.path(stateDirectory: stateDirectory) else {
            checkOwnFolder(
                Paths.absolute(socket, from: folder),
                listen,
                path: path + ".listen",
                subject: "unix:\(socket)"
            )
            return
        }
        fail(
            .invalidValue,
            listen.origin,
            path + ".listen",
            "unix:\(socket) is the supervisor's own control socket",
            "choose another path, such as unix:\(Paths.relative(stateDirectory, to: folder))/\(path.split(separator: ".").last ?? "rpc").sock"
        )
    }

    private mutating func checkAuth(_ daemon: YAMLNode, path: String) {
        guard daemon["kind"]?.scalarText == "rpc", let listen = daemon["listen"],
            let address = listen.scalarText.flatMap(ListenAddress.init(parsing:)), !address.isLoopback
        else { return }
        let auth = daemon["auth"]
        if auth?["api_key_env"] == nil, auth?["insecure"]?.scalarText != "true" {
            fail(
                .invalidValue,
                listen.origin,
                path + ".listen",
                "listening on \(address), which is not loopback, needs auth.api_key_env",
                "set auth: {api_key_env: NAME}, or auth: {insecure: true} to allow it without a key"
            )
        }
    }

    private mutating func checkDependencies(_ daemons: [YAMLNode.Pair]) {
        let byName = Dictionary(daemons.map { ($0.key.text, $0.value) }, uniquingKeysWith: { first, _ in first })
        var graph: [String: [String]] = [:]
        for pair in daemons {
            let (key, daemon) = (pair.key, pair.value)
            let path = "daemons.\(key.text).depends_on"
            let enabled = daemon["enabled"]?.scalarText != "false"
            for (name, condition, origin) in Self.dependencies(of: daemon) {
                guard let target = byName[name] else {
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
                if condition == "completed",
                    target["kind"]?.scalarText != "process" || target["restart"]?["policy"]?.scalarText == "always"
                {
                    fail(
                        .reference,
                        origin,
                        path,
                        "'completed' needs '\(name)' to be a process that can finish (restart policy 'never' or 'on-failure')"
                    )
                }
                graph[key.text, default: []].append(name)
            }
        }
        for cycle in Self.cycles(in: graph, order: daemons.map(\.key.text)) {
            let first = cycle[0]
            let origin = byName[first]?["depends_on"]?.origin ?? .builtInDefault
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
        for name in order where state[name] == nil { visit(name) }
        return found
    }

    private mutating func checkPorts(_ root: YAMLNode, _ daemons: [YAMLNode.Pair]) {
        var taken: [Int: String] = [:]
        var listeners: [(String, YAMLNode)] = daemons.compactMap { pair in
            let (key, daemon) = (pair.key, pair.value)
            guard daemon["kind"]?.scalarText == "rpc", daemon["enabled"]?.scalarText != "false",
                let listen = daemon["listen"]
            else { return nil }
            return ("daemons.\(key.text).listen", listen)
        }
        if let http = root["control"]?["http"] { listeners.insert(("control.http", http), at: 0) }
        for (path, node) in listeners {
            guard case .tcp(_, let port)? = node.scalarText.flatMap(ListenAddress.init(parsing:)), port != 0 else {
                continue
            }
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
