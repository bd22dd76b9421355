import ArgumentParser
import FoundationEssentials
import Manifest
import Orchestrator

struct ExportSystemd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "systemd",
        abstract: "Write the manifest as systemd units: timers and services.",
        discussion: """
            For each enabled daemon: a periodic one becomes NAME.timer (OnCalendar= from cron, OnUnitActiveSec= from \
            interval) and a oneshot NAME.service running `orchestrate run NAME`; a process one a NAME.service running its \
            command, restarted by systemd; any other kind a NAME.service running `orchestrate up --only NAME --no-deps` with \
            a state folder of its own. Without -o every unit is printed, each after a `# NAME.service` line; with -o, one \
            file each. What does not carry over (probes, hooks, log rotation, a growing backoff) is a warning on stderr, \
            followed by the commands that install the units: printed, never run.

            Exit status: 0 written; 1 the folder cannot be written; 2 the manifest is not valid, or --binary is not an \
            absolute path.

            Examples:
              orchestrate export systemd
              orchestrate export systemd --user -o ~/.config/systemd/user
              sudo orchestrate -f /srv/app/daemons.yaml export systemd --binary /usr/local/bin/orchestrate -o units
            """
    )

    @OptionGroup var manifest: ManifestOptions
    @OptionGroup var destination: ExportDestination

    @Flag(help: "Units for the user's service manager (systemctl --user) rather than the system's.")
    var user = false

    @Option(help: "The absolute path of orchestrate in the units (default: this executable's).")
    var binary: String?

    func run() throws {
        let loaded = try manifest.load()
        let options = try Self.options(
            user: user,
            binary: binary,
            set: manifest.set,
            manifest: loaded.manifest,
            outputFolder: destination.output
        )
        let export = SystemdExport(manifest: loaded.manifest, options: options).export()
        // A blank line between printed units, none before the first.
        try destination.write(export) { ($0 == export.files.first ? "" : "\n") + "# \($0.name)\n" }
    }

    /// The options of `export systemd` and `install`: the binary checked, the owner and PATH read from this machine.
    static func options(
        user: Bool,
        binary: String?,
        set: [String],
        manifest: Manifest,
        outputFolder: String?
    ) throws -> SystemdExport.Options {
        let binary = binary ?? SystemdHost.executable
        guard binary.hasPrefix("/") else {
            throw CommandFailure.usage("--binary \(binary): systemd needs an absolute path")
        }
        return SystemdExport.Options(
            user: user,
            binary: binary,
            setArguments: set,
            owner: user ? nil : SystemdHost.owner(of: manifest.file),
            searchPath: ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin",
            outputFolder: outputFolder
        )
    }
}
