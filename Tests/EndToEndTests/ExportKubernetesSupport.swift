import Foundation
import OrchestrateTesting
import Testing

/// The checks of ExportKubernetesTests: kubernetes-validate and PyYAML from the tests' Python, and a manifest using
/// every field `export kubernetes` reads, with what each becomes.
enum Kubernetes {
    /// The newest Kubernetes whose schemas kubernetes-validate ships.
    static let version = "1.37.0"

    /// Runs kubernetes-validate in strict mode (unknown fields are errors) on a YAML stream; fails unless every
    /// object passes.
    static func validate(_ stream: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("objects.yaml", stream)
        let result = try TestProcess.run(
            [try E2E.python(), "-m", "kubernetes_validate", "-k", version, "--strict", file]
        )
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)", sourceLocation: sourceLocation)
        #expect(!result.stdout.contains("ERROR"), "\(result.stdout)", sourceLocation: sourceLocation)
        #expect(result.stdout.contains("passed"), "\(result.stdout)", sourceLocation: sourceLocation)
    }

    /// The documents of a YAML stream, read by PyYAML.
    static func documents(_ stream: String) throws -> [[String: Any]] {
        let script = "import sys, json, yaml; json.dump([d for d in yaml.safe_load_all(sys.stdin) if d], sys.stdout)"
        let result = try TestProcess.run([try E2E.python(), "-c", script], stdin: stream)
        #expect(result.status == 0, "\(result.stderr)")
        let value = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
        return try #require(value as? [[String: Any]])
    }

    /// The warnings of `stderr`, without `warning: `.
    static func warnings(_ stderr: String) -> [String] {
        stderr.split(separator: "\n").filter { $0.hasPrefix("warning: ") }.map { String($0.dropFirst(9)) }
    }

    static func name(_ object: [String: Any]) -> String {
        (object["metadata"] as? [String: Any])?["name"] as? String ?? ""
    }

    static func object(_ kind: String, _ name: String, in objects: [[String: Any]]) throws -> [String: Any] {
        try #require(
            objects.first { $0["kind"] as? String == kind && self.name($0) == name },
            "no \(kind) \(name) in \(objects.map { "\($0["kind"]!)/\(self.name($0))" })"
        )
    }

    /// The value at a path of keys (strings) and indexes (integers).
    static func dig(_ value: Any?, _ path: Any...) -> Any? {
        var current = value
        for step in path {
            if let key = step as? String {
                current = (current as? [String: Any])?[key]
            } else if let index = step as? Int, let array = current as? [Any], array.indices.contains(index) {
                current = array[index]
            } else {
                return nil
            }
        }
        return current
    }

    /// The pod spec of a Deployment or CronJob.
    static func pod(_ object: [String: Any]) throws -> [String: Any] {
        let path: [String] =
            object["kind"] as? String == "CronJob"
            ? ["spec", "jobTemplate", "spec", "template", "spec"] : ["spec", "template", "spec"]
        var current: Any? = object
        for key in path { current = (current as? [String: Any])?[key] }
        return try #require(current as? [String: Any])
    }

    /// The `orchestrate` container of a Deployment or CronJob.
    static func container(_ object: [String: Any]) throws -> [String: Any] {
        try #require(dig(try pod(object), "containers", 0) as? [String: Any])
    }

    /// A container's env as name → value, or `secret:KEY` for a Secret's key.
    static func env(_ container: [String: Any]) -> [String: String] {
        var env: [String: String] = [:]
        for variable in container["env"] as? [[String: Any]] ?? [] {
            let name = variable["name"] as? String ?? ""
            if let value = variable["value"] as? String {
                env[name] = value
            } else if let secret = dig(variable, "valueFrom", "secretKeyRef") as? [String: String] {
                env[name] = "secret:\(secret["name"] ?? "")/\(secret["key"] ?? "")"
            }
        }
        return env
    }

    /// Every field export kubernetes reads, in a manifest whose folder has web/, sub/, src/, run/ and .env.
    static let everyField = """
        version: 1
        env_file: .env
        env:
          LOG_LEVEL: debug
        control:
          http: 127.0.0.1:8400
        daemons:
          nightly:
            kind: periodic
            cron: "30 2 * * *"
            timeout: 90s
            retry: {attempts: 2, backoff: 5s}
            overlap: queue
            jitter: 10s
            run_on_start: true
            env: {SYNC_TOKEN: "${SYNC_TOKEN}"}
            command: ["sh", "-c", "echo $$HOME"]
            depends_on: [api]
          Issues_Sync.v2:
            kind: periodic
            interval: 5m
            overlap: replace
            command: ["true"]
            depends_on: [nightly]
          fast:
            kind: periodic
            interval: 45s
            command: ["true"]
          api:
            kind: rpc
            listen: 127.0.0.1:9000
            auth: {api_key_env: API_KEY}
            env: {DB_PASSWORD: hunter2, EXTRA_TOKEN: t0k}
          open:
            kind: rpc
            listen: localhost:9100
          sock:
            kind: rpc
            listen: unix:run/api.sock
          web:
            kind: process
            cwd: web
            command: ["python3", "-m", "http.server", "8080"]
            ready: {http: "http://0.0.0.0:8080/healthz?full=1", period: 2s, timeout: 20s}
            liveness: {tcp: "127.0.0.1:8080", period: 15s, timeout: 3s, failures: 4}
            stop_timeout: 30s
            depends_on: [api, open]
            notify: {command: ["true"]}
            restart_with_dependencies: true
          local:
            kind: process
            command: ["sleep", "1000"]
            ready: {tcp: "127.0.0.1:7000"}
            liveness: {exec: ["test", "-f", "ok"]}
            stop_timeout: 1500ms
          logger:
            kind: process
            command: ["sleep", "1000"]
            ready: {log_line: "started"}
            liveness: {http: "http://localhost:7100/live"}
          checker:
            kind: process
            cwd: sub
            command: ["sleep", "1000"]
            ready: {exec: "test -f ready"}
          files:
            kind: watcher
            paths: [src]
            command: ["true"]
          off:
            kind: process
            enabled: false
            command: ["true"]
        """

    static let everyFieldWarnings: Set<String> = [
        "control.http 127.0.0.1:8400 is left out (loopback in a pod): ask a pod's supervisor with kubectl exec POD "
            + "-- orchestrate -f /etc/orchestrate/daemons.yaml status",
        "env_file .env is left out: the values it gave were interpolated into the ConfigMap (mark secret ones with "
            + "--secret VAR)",
        "log rotation applies to the log files in each pod's emptyDir (/var/lib/orchestrate/logs), which go with the "
            + "pod; kubectl logs shows the container's output: `up` in the foreground mirrors its daemon's output, "
            + "`run` prints its run's",
        "off: disabled: no object is written for it",
        "nightly: jitter 10s does not carry over: a CronJob starts on time",
        "nightly: run_on_start does not carry over: the CronJob runs at its schedule only (run it now with kubectl "
            + "create job nightly-now --from=cronjob/nightly)",
        "nightly: overlap: queue has no CronJob equivalent: concurrencyPolicy Forbid skips a run due while the last "
            + "one runs",
        "nightly: retry: the Job retries a failed run in a new pod (backoffLimit 2) after Kubernetes' own delay "
            + "(10s, doubling), not retry.backoff 5s",
        "Issues_Sync.v2: depends on nightly, which has no Service to wait for: its pod starts without waiting",
        "fast: interval 45s is not a cron schedule (a CronJob starts at whole minutes of the clock): it runs as a "
            + "Deployment whose supervisor keeps the interval (up --only fast --no-deps)",
        "api: listen 127.0.0.1:9000 is rewritten to 0.0.0.0:9000 in the ConfigMap: its Service reaches the pod's IP, "
            + "not its loopback",
        "open: listen localhost:9100 is rewritten to 0.0.0.0:9100 in the ConfigMap: its Service reaches the pod's "
            + "IP, not its loopback",
        "open: it has no auth.api_key_env, so the ConfigMap sets auth.insecure: true: whatever reaches its Service "
            + "may call it (set auth.api_key_env, or restrict it with a NetworkPolicy)",
        "sock: listen unix:/app/run/api.sock is a socket inside its pod: no Service is written, only the pod "
            + "reaches it",
        "web: restart_with_dependencies does not carry over: its pod does not restart with a dependency's",
        "web: notify hooks keep working inside its pod, for this daemon's events only",
        "web: liveness probe 127.0.0.1:8080 checks loopback, which the kubelet cannot (it probes the pod's IP): the "
            + "livenessProbe asks the pod's supervisor instead (orchestrate status web --ready), which runs the "
            + "probe itself",
        "local: ready probe 127.0.0.1:7000 checks loopback, which the kubelet cannot (it probes the pod's IP): the "
            + "readinessProbe asks the pod's supervisor instead (orchestrate status local --ready), which runs the "
            + "probe itself",
        "logger: liveness probe http://localhost:7100/live checks loopback, which the kubelet cannot (it probes the "
            + "pod's IP): the livenessProbe asks the pod's supervisor instead (orchestrate status logger --ready), "
            + "which runs the probe itself",
        "files: a watcher sees its own pod's files (/app/src, from the image), which change only when something in "
            + "the pod writes them: mount a volume there, shared with what writes them",
        "env SYNC_TOKEN looks like a secret, but its value is written into the ConfigMap and the pods' env: pass "
            + "--secret SYNC_TOKEN to read it from the Secret tools-app-secrets instead",
        "env EXTRA_TOKEN looks like a secret, but its value is written into the ConfigMap and the pods' env: pass "
            + "--secret EXTRA_TOKEN to read it from the Secret tools-app-secrets instead",
    ]
}
