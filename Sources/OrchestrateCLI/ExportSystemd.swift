import ArgumentParser
import Manifest
import Orchestrator

struct ExportSystemd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "systemd",
        abstract: "Write the manifest as systemd units: timers and services."
    )

    @OptionGroup var manifest: ManifestOptions
    @OptionGroup var destination: ExportDestination

    @Flag(help: "Units for the user's service manager (systemctl --user) rather than the system's.")
    var user = false

    func run() throws {
        let loaded = try manifest.load()
        // SCAFFOLD: the helper replaces this with SystemdExport.
        _ = loaded
        throw CommandFailure.failure("export systemd: not built yet")
    }
}
