import DaemonKit
import FoundationEssentials
import Manifest

/// `orchestrate export kubernetes`: a manifest as Kubernetes objects, one pod per daemon, each running orchestrate
/// for that daemon alone from a ConfigMap holding the manifest.
///
/// A periodic daemon whose schedule cron can say becomes a CronJob running `orchestrate run NAME`; every other
/// daemon a Deployment of one pod running `orchestrate up --only NAME --no-deps`, with a Service when it has a
/// network endpoint. What does not carry over, or carries over differently, is a warning.
public struct KubernetesExport {
    /// What the command line chooses.
    public struct Options: Sendable {
        /// The image holding `orchestrate` and the daemons' programs.
        public var image: String
        /// The namespace of every object; nil leaves it to kubectl.
        public var namespace: String?
        /// Variables the pods read from the Secret rather than from the ConfigMap (besides the API keys' variables).
        public var secrets: [String]
        /// The image's folder holding the project, which relative paths are resolved from.
        public var workingDirectory: String
        /// The application's name, which every object's name and label carries; nil for the manifest folder's.
        public var name: String?
        /// The zone orchestrate reads cron expressions in here, for the CronJobs; nil when not known.
        public var timeZone: String?
        /// The manifest as the command line names it, for the comment in the ConfigMap.
        public var source: String

        /// Options with the defaults for the rest.
        public init(
            image: String,
            source: String,
            namespace: String? = nil,
            secrets: [String] = [],
            workingDirectory: String = "/app",
            name: String? = nil,
            timeZone: String? = nil
        ) {
            self.image = image
            self.source = source
            self.namespace = namespace
            self.secrets = secrets
            self.workingDirectory = workingDirectory
            self.name = name
            self.timeZone = timeZone
        }
    }

    /// Where the ConfigMap is mounted in every pod, as a folder (a subPath mount would not follow its updates).
    static let configFolder = "/etc/orchestrate"
    /// The manifest every pod's orchestrate reads.
    static let manifestPath = configFolder + "/daemons.yaml"
    /// The state folder, an emptyDir of each pod.
    static let stateFolder = "/var/lib/orchestrate"
    /// The image of the init containers that wait for a dependency's Service.
    static let waitImage = "busybox:1.36"
    /// Seconds of `terminationGracePeriodSeconds` beyond the daemon's stop_timeout, for the supervisor to stop.
    static let graceMargin = 5
    /// The annotation holding the daemon's name as the manifest writes it.
    static let daemonAnnotation = "orchestrate/daemon"

    /// What one enabled daemon becomes.
    struct Plan {
        /// The daemon.
        var daemon: DaemonSpec
        /// The name of its CronJob or Deployment, and of its Service.
        var objectName: String
        /// A CronJob's schedule; nil for a Deployment.
        var schedule: String?
        /// The port its Service forwards; nil when it has none.
        var servicePort: Int?
    }

    let loaded: LoadedManifest
    let options: Options
    /// The application's name, a DNS-1123 label.
    let app: String
    /// The variables the Secret holds.
    let secrets: Set<String>
    /// The enabled daemons, in the manifest's order.
    var plans: [Plan] = []
    var warnings: [ExportOutput.Warning] = []

    /// The objects for `loaded` with `options`, and the warnings.
    public static func export(_ loaded: LoadedManifest, options: Options) -> ExportOutput {
        var export = KubernetesExport(loaded, options: options)
        return export.run()
    }

    private init(_ loaded: LoadedManifest, options: Options) {
        self.loaded = loaded
        self.options = options
        let folder = loaded.manifest.directory.split(separator: "/").last.map(String.init) ?? "orchestrate"
        app = KubernetesNames.label(options.name ?? folder)
        var secrets = Set(options.secrets)
        for daemon in loaded.manifest.declaredDaemons {
            if let key = daemon.settings(as: RPCSpec.self)?.apiKeyEnvironment { secrets.insert(key) }
        }
        if Self.keepsControl(loaded.manifest), let key = loaded.manifest.control?.apiKeyEnvironment {
            secrets.insert(key)
        }
        self.secrets = secrets
    }

    /// Whether `control` stays in the pods' manifest: when its TCP address is not loopback, each pod's supervisor
    /// serves it on the pod's addresses (loopback would be out of reach but for `kubectl port-forward`).
    var keepsControl: Bool { Self.keepsControl(loaded.manifest) }

    private static func keepsControl(_ manifest: Manifest) -> Bool {
        manifest.control?.http.map { !$0.isLoopback } ?? false
    }

    /// The labels of one object (and of its pods, which its Deployment or Service selects by the first two).
    func labels(_ name: String) -> [String: String] {
        [
            "app.kubernetes.io/name": name,
            "app.kubernetes.io/part-of": app,
            "app.kubernetes.io/managed-by": "orchestrate",
        ]
    }

    func metadata(_ name: String, daemon: String?) -> KubernetesObjects.Metadata {
        KubernetesObjects.Metadata(
            name: name,
            namespace: options.namespace,
            labels: labels(name),
            annotations: daemon.map { [Self.daemonAnnotation: $0] }
        )
    }

    private mutating func run() -> ExportOutput {
        warnManifestWide()
        plan()
        var files: [ExportOutput.File] = []
        let manifest = KubernetesClusterManifest(
            resolved: ConfigRenderer(loaded).json,
            manifest: loaded.manifest,
            workingDirectory: options.workingDirectory,
            secrets: secrets,
            retriedByJob: Set(plans.filter { $0.schedule != nil }.map(\.daemon.name)),
            keepsControl: keepsControl
        )
        let configMap = KubernetesObjects.ConfigMap(
            metadata: metadata(app + "-manifest", daemon: nil),
            data: ["daemons.yaml": manifest.render(source: options.source)]
        )
        files.append(file(configMap, kind: configMap.kind, name: configMap.metadata.name))
        for plan in plans {
            files += objects(for: plan)
        }
        warnSecretLookingVariables()
        return ExportOutput(files: files.sorted { $0.name < $1.name }, warnings: warnings, notes: secretNotes())
    }

    /// Names every enabled daemon's objects and finds its schedule and Service port; a disabled one is skipped with
    /// a warning.
    private mutating func plan() {
        var names = KubernetesNames()
        for daemon in loaded.manifest.declaredDaemons {
            guard daemon.enabled else {
                warnings.append(.init(daemon: daemon.name, "disabled: no object is written for it"))
                continue
            }
            if let count = loaded.manifest.declaredReplicas[daemon.name] {
                warnings.append(
                    .init(
                        daemon: daemon.name,
                        "its \(count) replicas run in one pod, under that pod's supervisor (as `up --only` runs them): "
                            + "to spread copies over nodes, set replicas: 1 and scale the Deployment instead"
                    )
                )
            }
            var schedule: String?
            if let periodic = daemon.settings(as: PeriodicSpec.self) {
                switch periodic.schedule {
                case .cron(let cron): schedule = cron.expression
                case .interval(let interval): schedule = KubernetesSchedule.cron(forInterval: interval)
                }
            }
            let name = names.unique(
                daemon.name,
                maximumLength: schedule == nil ? KubernetesNames.maximumLength : KubernetesNames.maximumCronJobLength
            )
            plans.append(Plan(daemon: daemon, objectName: name, schedule: schedule, servicePort: servicePort(daemon)))
        }
    }

    /// The port a daemon's Service forwards: an rpc daemon's TCP port, or the port of a process's probe on a
    /// non-loopback address (where it evidently serves). Nil for a Unix socket, port 0, or no endpoint.
    private func servicePort(_ daemon: DaemonSpec) -> Int? {
        if let rpc = daemon.settings(as: RPCSpec.self) {
            guard case .tcp(_, let port) = rpc.listen, port > 0 else { return nil }
            return port
        }
        guard let process = daemon.settings(as: ProcessSpec.self) else { return nil }
        for probe in [process.ready, process.liveness].compactMap(\.self) {
            if let endpoint = KubernetesProbes.endpoint(of: probe.check), !endpoint.isLoopback {
                return endpoint.port
            }
        }
        return nil
    }

    /// The warnings about the manifest as a whole: control, env_file, the logs.
    private mutating func warnManifestWide() {
        let manifest = loaded.manifest
        if let http = manifest.control?.http {
            warnings.append(
                .init(
                    daemon: nil,
                    keepsControl
                        ? "control.http \(http) is served by each pod's supervisor, for its one daemon, on the pod's "
                            + "addresses (no Service): reach one with kubectl port-forward"
                        : "control.http \(http) is left out (loopback in a pod): ask a pod's supervisor with kubectl "
                            + "exec POD -- orchestrate -f \(Self.manifestPath) status"
                )
            )
        }
        if let envFile = manifest.envFile {
            warnings.append(
                .init(
                    daemon: nil,
                    "env_file \(Paths.relative(envFile, to: manifest.directory)) is left out: the values it gave "
                        + "were interpolated into the ConfigMap (mark secret ones with --secret VAR)"
                )
            )
        }
        warnings.append(
            .init(
                daemon: nil,
                "log rotation applies to the log files in each pod's emptyDir (\(Self.stateFolder)/logs), which "
                    + "go with the pod; kubectl logs shows the container's output: `up` in the foreground mirrors "
                    + "its daemon's output, `run` prints its run's"
            )
        )
    }

    /// A warning for each variable of an enabled daemon whose name looks secret but that is not marked as one.
    private mutating func warnSecretLookingVariables() {
        var seen: Set<String> = []
        for plan in plans {
            for name in plan.daemon.environment.keys.sorted() where !secrets.contains(name) && Self.looksSecret(name) {
                guard seen.insert(name).inserted else { continue }
                warnings.append(
                    .init(
                        daemon: nil,
                        "env \(name) looks like a secret, but its value is written into the ConfigMap and the pods' "
                            + "env: pass --secret \(name) to read it from the Secret \(app)-secrets instead"
                    )
                )
            }
        }
    }

    /// Whether a variable's name says it holds a secret: a password, secret, token, credential or key.
    static func looksSecret(_ name: String) -> Bool {
        let upper = name.uppercased()
        return ["PASSWORD", "PASSWD", "SECRET", "TOKEN", "CREDENTIAL", "PRIVATE", "APIKEY"].contains {
            upper.contains($0)
        } || upper.hasSuffix("_KEY") || upper.contains("_KEY_") || upper == "KEY"
    }

    /// The Secret to create before applying the objects, when a pod reads one: its name, keys and the command.
    private func secretNotes() -> [String] {
        let used = Set(plans.flatMap { secretVariables(of: $0.daemon) }).sorted()
        guard !used.isEmpty else { return [] }
        let namespace = options.namespace.map { " --namespace \($0)" } ?? ""
        return [
            "The pods read \(used.joined(separator: ", ")) from the Secret \(app)-secrets, which is not written "
                + "here; create it before applying the objects:",
            "  kubectl create secret generic \(app)-secrets\(namespace) "
                + used.map { "--from-literal=\($0)=…" }.joined(separator: " "),
        ]
    }

    /// The Secret's variables a daemon's pod reads: those of its env, its own API key's, the control API's key, and
    /// each `--secret` no daemon's env names (which its commands may read from the supervisor's environment).
    func secretVariables(of daemon: DaemonSpec) -> [String] {
        var names = Set(daemon.environment.keys.filter(secrets.contains))
        if let key = daemon.settings(as: RPCSpec.self)?.apiKeyEnvironment { names.insert(key) }
        if keepsControl, let key = loaded.manifest.control?.apiKeyEnvironment { names.insert(key) }
        let named = Set(loaded.manifest.declaredDaemons.flatMap(\.environment.keys))
        names.formUnion(options.secrets.filter { !named.contains($0) })
        return names.sorted()
    }

    /// `object` as one YAML file, `kind-name.yaml`, with a comment saying where it comes from.
    func file(_ object: some Encodable, kind: String, name: String) -> ExportOutput.File {
        ExportOutput.File(
            name: "\(kind.lowercased())-\(name).yaml",
            contents: "# Generated by `orchestrate export kubernetes` from \(options.source).\n"
                + KubernetesObjects.yaml(object)
        )
    }
}
