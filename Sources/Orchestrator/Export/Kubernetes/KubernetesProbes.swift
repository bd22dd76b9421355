import DaemonKit
import Manifest

/// A process's `ready` and `liveness` probes as the kubelet runs them. The kubelet probes the pod's IP, never its
/// loopback: an HTTP or TCP probe of a loopback address, and a `log_line` probe (the kubelet does not read the
/// output that way), ask the pod's supervisor instead, which runs the probe itself (`orchestrate status NAME
/// --ready`).
enum KubernetesProbes {
    /// The host and port an HTTP or TCP probe connects to.
    struct Endpoint: Hashable {
        var host: String
        var port: Int
        var scheme = "HTTP"
        var path = "/"

        /// Whether only the pod itself reaches it: `localhost`, 127.0.0.0/8 or `::1`.
        var isLoopback: Bool { ListenAddress.tcp(host: host, port: port).isLoopback }
    }

    /// What an HTTP or TCP probe connects to; nil for the others, or a URL without a host.
    static func endpoint(of check: Probe.Check) -> Endpoint? {
        switch check {
        case .http(let url): return endpoint(url: url)
        case .tcp(.tcp(let host, let port)): return Endpoint(host: host, port: port)
        default: return nil
        }
    }

    /// `http://host:port/path?query` read as an endpoint: port 80 (443 for https) when none is written, path `/`.
    static func endpoint(url: String) -> Endpoint? {
        let lower = url.lowercased()
        let secure = lower.hasPrefix("https://")
        guard secure || lower.hasPrefix("http://") else { return nil }
        let rest = url.dropFirst(secure ? 8 : 7)
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var path = String(rest[authorityEnd...].prefix { $0 != "#" })
        if path.isEmpty || path.hasPrefix("?") { path = "/" + path }
        let defaultPort = secure ? 443 : 80
        let host: Substring
        var port = defaultPort
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { port = Int(after.dropFirst()) ?? defaultPort }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            port = Int(authority[authority.index(after: colon)...]) ?? defaultPort
        } else {
            host = authority
        }
        guard !host.isEmpty else { return nil }
        return Endpoint(host: String(host), port: port, scheme: secure ? "HTTPS" : "HTTP", path: path)
    }

    /// The kubelet's probe for `probe` of the daemon `name`, and whether it asks the supervisor because the probe
    /// checks loopback. `directory` is the daemon's cwd in the pod, where an exec probe runs (the container's
    /// `workingDir` is `workingDirectory`).
    static func probe(
        _ probe: Probe,
        daemon name: String,
        liveness: Bool,
        initialDelay: Int?,
        directory: String,
        workingDirectory: String
    ) -> (probe: KubernetesObjects.Probe, asksSupervisorForLoopback: Bool) {
        let period = max(1, seconds(probe.period))
        var result = KubernetesObjects.Probe(
            initialDelaySeconds: initialDelay,
            periodSeconds: period,
            // Readiness's `timeout` is how long the process may take to become ready, which the supervisor in the
            // pod enforces itself; one check may take a period (a command more, as it starts a program).
            timeoutSeconds: liveness ? max(1, seconds(probe.timeout)) : period,
            failureThreshold: liveness ? probe.failures : nil
        )
        var asksSupervisor = false
        switch probe.check {
        case .http, .tcp:
            if let endpoint = endpoint(of: probe.check), !endpoint.isLoopback {
                if case .http = probe.check {
                    result.httpGet = .init(path: endpoint.path, port: endpoint.port, scheme: endpoint.scheme)
                } else {
                    result.tcpSocket = .init(port: endpoint.port)
                }
            } else {
                asksSupervisor = true
                result.exec = statusCommand(name)
            }
        case .exec(let command):
            result.exec = .init(command: inDirectory(command, directory, workingDirectory: workingDirectory))
        case .logLine:
            result.exec = statusCommand(name)
        }
        if result.exec != nil, !liveness { result.timeoutSeconds = max(period, 5) }
        return (result, asksSupervisor)
    }

    /// `orchestrate status NAME --ready`: exit 0 when the pod's supervisor finds the daemon ready.
    static func statusCommand(_ name: String) -> KubernetesObjects.ExecAction {
        .init(command: ["orchestrate", "-f", KubernetesExport.manifestPath, "status", name, "--ready"])
    }

    /// `command`'s argv, run in `directory` when that is not the container's working folder (as the supervisor runs
    /// an exec probe in the daemon's cwd).
    private static func inDirectory(_ command: Command, _ directory: String, workingDirectory: String) -> [String] {
        guard directory != workingDirectory else { return command.arguments }
        let change = "cd " + shellQuoted(directory)
        switch command {
        case .argv(let argv): return ["/bin/sh", "-c", change + " && exec \"$0\" \"$@\""] + argv
        case .shell(let line): return ["/bin/sh", "-c", change + " && " + line]
        }
    }

    private static func shellQuoted(_ text: String) -> String { "'" + text.replacing("'", with: "'\\''") + "'" }

    /// Whole seconds, rounded up.
    static func seconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return Int(seconds) + (attoseconds > 0 ? 1 : 0)
    }
}
