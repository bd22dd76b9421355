import ArgumentParser
import Manifest
import Orchestrator

struct ExportKubernetes: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kubernetes",
        abstract: "Write the manifest as Kubernetes objects: a ConfigMap, CronJobs, Deployments and Services."
    )

    @OptionGroup var manifest: ManifestOptions
    @OptionGroup var destination: ExportDestination

    @Option(help: "The container image that holds orchestrate and the daemons' programs.")
    var image: String

    @Option(help: "The namespace of every object (default: none, kubectl's current one).")
    var namespace: String?

    func run() throws {
        let loaded = try manifest.load()
        // SCAFFOLD: the helper replaces this with KubernetesExport.
        _ = loaded
        throw CommandFailure.failure("export kubernetes: not built yet")
    }
}
