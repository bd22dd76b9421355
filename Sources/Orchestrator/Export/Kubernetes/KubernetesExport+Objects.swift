import DaemonKit
import Manifest

extension KubernetesExport {
    /// The objects of one enabled daemon (its CronJob or Deployment, and its Service), and the warnings about it.
    mutating func objects(for plan: Plan) -> [ExportOutput.File] {
        let daemon = plan.daemon
        warnAboutKind(plan)
        if daemon.restartWithDependencies {
            warn(daemon, "restart_with_dependencies does not carry over: its pod does not restart with a dependency's")
        }
        if daemon.notify != nil {
            warn(daemon, "notify hooks keep working inside its pod, for this daemon's events only")
        }
        let waits = waitContainers(for: plan)
        let container = container(for: plan)
        let grace = KubernetesProbes.seconds(daemon.stopTimeout) + Self.graceMargin
        let volumes = [
            KubernetesObjects.Volume(name: "manifest", configMap: .init(name: app + "-manifest")),
            KubernetesObjects.Volume(name: "state", emptyDir: .init()),
        ]
        let templateMetadata = KubernetesObjects.TemplateMetadata(
            labels: labels(plan.objectName),
            annotations: [Self.daemonAnnotation: daemon.name]
        )
        var files: [ExportOutput.File] = []
        if let schedule = plan.schedule, let periodic = daemon.settings(as: PeriodicSpec.self) {
            var timeZone: String?
            if case .cron = periodic.schedule {
                timeZone = options.timeZone
                if timeZone == nil {
                    warn(
                        daemon,
                        "the cluster reads cron \"\(schedule)\" in UTC, orchestrate in the machine's local time, "
                            + "which is not known here (set TZ when exporting, or the CronJob's spec.timeZone)"
                    )
                }
            }
            // restartPolicy Never: a failed run's pod stays, with its log, and the Job's retries are new pods that
            // backoffLimit counts; `orchestrate run` makes one try, its retries being the Job's.
            let pod = KubernetesObjects.PodSpec(
                restartPolicy: "Never",
                activeDeadlineSeconds: periodic.timeout.map {
                    KubernetesProbes.seconds($0) + KubernetesProbes.seconds(daemon.stopTimeout) + Self.graceMargin
                },
                terminationGracePeriodSeconds: grace,
                initContainers: waits.isEmpty ? nil : waits,
                containers: [container],
                volumes: volumes
            )
            let cronJob = KubernetesObjects.CronJob(
                metadata: metadata(plan.objectName, daemon: daemon.name),
                spec: .init(
                    schedule: schedule,
                    timeZone: timeZone,
                    concurrencyPolicy: periodic.overlap == .replace ? "Replace" : "Forbid",
                    jobTemplate: .init(
                        metadata: templateMetadata,
                        spec: .init(
                            backoffLimit: periodic.retry.attempts,
                            template: .init(metadata: templateMetadata, spec: pod)
                        )
                    )
                )
            )
            files.append(file(cronJob, kind: cronJob.kind, name: plan.objectName))
        } else {
            let pod = KubernetesObjects.PodSpec(
                terminationGracePeriodSeconds: grace,
                initContainers: waits.isEmpty ? nil : waits,
                containers: [container],
                volumes: volumes
            )
            let deployment = KubernetesObjects.Deployment(
                metadata: metadata(plan.objectName, daemon: daemon.name),
                spec: .init(
                    selector: .init(matchLabels: selector(plan.objectName)),
                    template: .init(metadata: templateMetadata, spec: pod)
                )
            )
            files.append(file(deployment, kind: deployment.kind, name: plan.objectName))
        }
        if let port = plan.servicePort {
            let service = KubernetesObjects.Service(
                metadata: metadata(plan.objectName, daemon: daemon.name),
                spec: .init(
                    selector: selector(plan.objectName),
                    ports: [.init(name: "main", port: port, targetPort: port)]
                )
            )
            files.append(file(service, kind: service.kind, name: plan.objectName))
        }
        return files
    }

    /// The labels a Deployment and a Service select the daemon's pod by.
    private func selector(_ name: String) -> [String: String] {
        labels(name).filter { $0.key != "app.kubernetes.io/managed-by" }
    }

    private mutating func warn(_ daemon: DaemonSpec, _ message: String) {
        warnings.append(.init(daemon: daemon.name, message))
    }

    /// What the daemon's kind does differently in the cluster.
    private mutating func warnAboutKind(_ plan: Plan) {
        let daemon = plan.daemon
        if let periodic = daemon.settings(as: PeriodicSpec.self) {
            guard plan.schedule != nil else {
                if case .interval(let interval) = periodic.schedule {
                    warn(
                        daemon,
                        "interval \(DurationText.format(interval)) is not a cron schedule (a CronJob starts at whole "
                            + "minutes of the clock): it runs as a Deployment whose supervisor keeps the interval "
                            + "(up --only \(daemon.name) --no-deps)"
                    )
                }
                return
            }
            if periodic.jitter > .zero {
                warn(
                    daemon,
                    "jitter \(DurationText.format(periodic.jitter)) does not carry over: a CronJob starts on time"
                )
            }
            if periodic.runOnStart {
                warn(
                    daemon,
                    "run_on_start does not carry over: the CronJob runs at its schedule only (run it now with "
                        + "kubectl create job \(plan.objectName)-now --from=cronjob/\(plan.objectName))"
                )
            }
            if periodic.overlap == .queue {
                warn(
                    daemon,
                    "overlap: queue has no CronJob equivalent: concurrencyPolicy Forbid skips a run due while the last one runs"
                )
            }
            if periodic.retry.attempts > 0 {
                warn(
                    daemon,
                    "retry: the Job retries a failed run in a new pod (backoffLimit \(periodic.retry.attempts)) after "
                        + "Kubernetes' own delay (10s, doubling), not retry.backoff "
                        + DurationText.format(periodic.retry.backoff)
                )
            }
        } else if let rpc = daemon.settings(as: RPCSpec.self) {
            switch rpc.listen {
            case .tcp(_, 0):
                warn(daemon, "listen port 0 takes a free port, which no Service can name: no Service is written")
            case .tcp(let host, let port) where !KubernetesClusterManifest.isWildcard(host):
                let address = ListenAddress.tcp(host: host, port: port)
                warn(
                    daemon,
                    "listen \(address) is rewritten to 0.0.0.0:\(port) in the ConfigMap: its Service reaches the pod's "
                        + "IP, " + (address.isLoopback ? "not its loopback" : "and the pod has no address \(host)")
                )
                if rpc.apiKeyEnvironment == nil, !rpc.insecure {
                    warn(
                        daemon,
                        "it has no auth.api_key_env, so the ConfigMap sets auth.insecure: true: whatever reaches its "
                            + "Service may call it (set auth.api_key_env, or restrict it with a NetworkPolicy)"
                    )
                }
            case .tcp: break
            case .unix(let path):
                warn(
                    daemon,
                    "listen unix:\(clusterPath(path)) is a socket inside its pod: no Service is written, only the pod reaches it"
                )
            }
        } else if let watcher = daemon.settings(as: WatcherSpec.self) {
            let paths = watcher.files.paths.map(clusterPath).joined(separator: ", ")
            warn(
                daemon,
                "a watcher sees its own pod's files (\(paths), from the image), which change only when something in "
                    + "the pod writes them: mount a volume there, shared with what writes them"
            )
        } else if let watch = daemon.settings(as: ProcessSpec.self)?.watch {
            let paths = watch.files.paths.map(clusterPath).joined(separator: ", ")
            warn(
                daemon,
                "its watch sees its own pod's files (\(paths), from the image), which change only when something in "
                    + "the pod writes them: mount a volume there, shared with what writes them"
            )
        }
    }

    /// `path` (absolute on this machine) where the pod has it: at the same place relative to the image's project
    /// folder as it is relative to the manifest's folder (`../src` of the manifest's folder is `/src` of `/app`), as
    /// the ConfigMap's relative paths read in the pod.
    func clusterPath(_ path: String) -> String {
        let base = loaded.manifest.directory.split(separator: "/")
        let parts = path.split(separator: "/")
        let common = zip(base, parts).prefix { $0 == $1 }.count
        let relative = Array(repeating: "..", count: base.count - common) + parts.dropFirst(common).map(String.init)
        return Paths.absolute(relative.joined(separator: "/"), from: options.workingDirectory)
    }

    /// The init containers that wait for each dependency's Service; a warning for a dependency without one.
    private mutating func waitContainers(for plan: Plan) -> [KubernetesObjects.Container] {
        var containers: [KubernetesObjects.Container] = []
        var names = KubernetesNames()
        for dependency in plan.daemon.dependencies {
            guard let target = plans.first(where: { $0.daemon.name == dependency.name }) else {
                warn(
                    plan.daemon,
                    "depends on \(dependency.name), which is not exported (disabled): it starts without waiting"
                )
                continue
            }
            guard let port = target.servicePort else {
                warn(
                    plan.daemon,
                    "depends on \(dependency.name), which has no Service to wait for: its pod starts without waiting"
                )
                continue
            }
            if dependency.condition.needsAnEnd {
                warn(plan.daemon, "waits for \(dependency.name)'s Service to answer, not for it to complete")
            }
            let service = "\(target.objectName) \(port)"
            containers.append(
                KubernetesObjects.Container(
                    name: names.unique("wait-for-" + target.objectName),
                    image: Self.waitImage,
                    command: [
                        "sh", "-c",
                        "until nc -z -w 2 \(service); do echo waiting for \(target.objectName):\(port); sleep 1; done",
                    ]
                )
            )
        }
        return containers
    }

    /// The `orchestrate` container: the image, the command for the daemon, its env, its ports, its probes.
    private mutating func container(for plan: Plan) -> KubernetesObjects.Container {
        let daemon = plan.daemon
        let arguments =
            plan.schedule == nil ? ["up", "--only", daemon.name, "--no-deps"] : ["run", daemon.name]
        let secret = Set(secretVariables(of: daemon))
        let env = Set(daemon.environment.keys).union(secret).sorted().map { name in
            secret.contains(name)
                ? KubernetesObjects.EnvVar(
                    name: name,
                    valueFrom: .init(secretKeyRef: .init(name: app + "-secrets", key: name))
                )
                : KubernetesObjects.EnvVar(name: name, value: daemon.environment[name])
        }
        var container = KubernetesObjects.Container(
            name: "orchestrate",
            image: options.image,
            workingDir: options.workingDirectory,
            command: ["orchestrate", "-f", Self.manifestPath] + arguments,
            env: env.isEmpty ? nil : env,
            ports: plan.servicePort.map { [.init(name: "main", containerPort: $0)] },
            volumeMounts: [
                .init(name: "manifest", mountPath: Self.configFolder, readOnly: true),
                .init(name: "state", mountPath: Self.stateFolder),
            ]
        )
        guard let process = daemon.settings(as: ProcessSpec.self) else { return container }
        let directory = clusterPath(daemon.workingDirectory)
        if let ready = process.ready {
            let (probe, asks) = KubernetesProbes.probe(
                ready,
                daemon: daemon.name,
                liveness: false,
                initialDelay: nil,
                directory: directory,
                workingDirectory: options.workingDirectory
            )
            container.readinessProbe = probe
            if asks { warnLoopback(daemon, "ready", ready) }
        }
        if let liveness = process.liveness {
            let (probe, asks) = KubernetesProbes.probe(
                liveness,
                daemon: daemon.name,
                liveness: true,
                // orchestrate checks liveness once the process is ready, which it gives ready.timeout to become.
                initialDelay: process.ready.map { KubernetesProbes.seconds($0.timeout) },
                directory: directory,
                workingDirectory: options.workingDirectory
            )
            container.livenessProbe = probe
            if asks { warnLoopback(daemon, "liveness", liveness) }
        }
        return container
    }

    private mutating func warnLoopback(_ daemon: DaemonSpec, _ field: String, _ probe: Probe) {
        let target: String =
            switch probe.check {
            case .http(let url): url
            case .tcp(let address): address.description
            default: ""
            }
        warn(
            daemon,
            "\(field) probe \(target) checks loopback, which the kubelet cannot (it probes the pod's IP): the "
                + "\(field == "ready" ? "readinessProbe" : "livenessProbe") asks the pod's supervisor instead "
                + "(orchestrate status \(daemon.name) --ready), which runs the probe itself"
        )
    }
}
