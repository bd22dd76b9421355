import ArgumentParser
import FoundationEssentials
import Manifest
import Orchestrator

struct ExportKubernetes: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kubernetes",
        abstract: "Write the manifest as Kubernetes objects: a ConfigMap, CronJobs, Deployments and Services.",
        discussion: """
            Each enabled daemon gets a pod of its own running orchestrate for that daemon alone, from a ConfigMap \
            APP-manifest holding the resolved manifest (mounted as a folder at /etc/orchestrate, so the supervisor's \
            hot reload follows its updates): a periodic daemon whose schedule cron can say becomes a CronJob running \
            `orchestrate run NAME`; every other daemon a Deployment of one pod running `orchestrate up --only NAME \
            --no-deps`, with a Service when it has a network endpoint (an rpc daemon's port, a process probed on a \
            non-loopback address) and an init container waiting for each dependency's Service. Secret variables (API \
            keys' and --secret's) come from the Secret APP-secrets, which is not written: a note says how to create \
            it. What does not carry over is a warning on stderr.

            Without -o, one YAML stream (documents separated by ---) goes to stdout; with -o DIR, one file per \
            object, KIND-NAME.yaml.

            Exit status: 0 written (warnings or not); 1 the folder cannot be written; 2 the manifest is not valid, or \
            a wrong option.

            Examples:
              orchestrate export kubernetes --image tools:1.4 | kubectl apply -f -
              orchestrate export kubernetes --image tools:1.4 --namespace tools -o k8s
              orchestrate export kubernetes --image tools:1.4 --secret DATABASE_URL --workdir /srv/app
            """
    )

    @OptionGroup var manifest: ManifestOptions
    @OptionGroup var destination: ExportDestination

    @Option(help: "The container image holding orchestrate and the daemons' programs (required).")
    var image: String

    @Option(help: "The namespace of every object (default: none, kubectl's current one).")
    var namespace: String?

    @Option(
        name: .customLong("secret"),
        help: ArgumentHelp(
            "A variable the pods read from the Secret APP-secrets, never written in the ConfigMap (repeatable; API "
                + "keys' variables are secret already).",
            valueName: "VAR"
        )
    )
    var secrets: [String] = []

    @Option(
        name: .customLong("workdir"),
        help: ArgumentHelp(
            "The image's folder holding the project (its scripts): the pods' working folder, which relative paths "
                + "are resolved from.",
            valueName: "DIR"
        )
    )
    var workingDirectory = "/app"

    @Option(
        name: .customLong("name"),
        help: ArgumentHelp(
            "The application's name, in every object's name and labels (default: the manifest folder's name).",
            valueName: "APP"
        )
    )
    var name: String?

    func validate() throws {
        guard workingDirectory.hasPrefix("/") else {
            throw ValidationError("--workdir must be an absolute path, such as /app")
        }
        if let namespace, KubernetesNames.label(namespace) != namespace {
            throw ValidationError(
                "--namespace \(namespace): expected a DNS-1123 label (lowercase letters, digits and '-'), such as "
                    + KubernetesNames.label(namespace)
            )
        }
        for variable in secrets
        where variable.isEmpty || variable.first!.isNumber
            || !variable.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
        {
            throw ValidationError("--secret \(variable): expected a variable name (letters, digits and '_')")
        }
    }

    func run() throws {
        let loaded = try manifest.load()
        let source = (try? ManifestLocator().locate(explicit: manifest.file).label) ?? loaded.manifest.file
        let timezoneFile = try? String(contentsOfFile: "/etc/timezone", encoding: .utf8)
        let options = KubernetesExport.Options(
            image: image,
            source: source,
            namespace: namespace,
            secrets: secrets,
            workingDirectory: workingDirectory,
            name: name,
            timeZone: KubernetesSchedule.localTimeZone(
                environment: ProcessInfo.processInfo.environment["TZ"],
                timezoneFile: timezoneFile
            )
        )
        try destination.write(KubernetesExport.export(loaded, options: options)) { _ in "---\n" }
    }
}
