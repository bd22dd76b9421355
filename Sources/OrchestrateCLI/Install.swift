import ArgumentParser
import DaemonKit
import FoundationEssentials
import Manifest
import Orchestrator

struct Install: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install",
        abstract: "Install a systemd unit that runs the manifest's supervisor (orchestrate up).",
        discussion: """
            Writes orchestrate-FOLDER.service, named after the manifest's folder: ExecStart runs `orchestrate -f MANIFEST \
            up`, ExecReload sends it SIGHUP (a reload), KillMode=mixed lets the supervisor stop its daemons in order, and \
            TimeoutStopSec covers the slowest stop along depends_on. With --user it goes into \
            $XDG_CONFIG_HOME/systemd/user (~/.config/systemd/user), else into /etc/systemd/system, which needs root; \
            system units run as the manifest's owner when root installs them. A different file already there is \
            replaced only with --force. The systemctl commands that enable it are printed, never run.

            Exit status: 0 written (or printed, or already the same); 1 not root without --user, a different unit is \
            there without --force, or the file cannot be written; 2 the manifest is not valid.

            Examples:
              orchestrate install --user
              orchestrate install --print
              sudo orchestrate -f /srv/app/daemons.yaml install --binary /usr/local/bin/orchestrate
            """
    )

    @OptionGroup var manifest: ManifestOptions

    @Flag(help: "Install for the user's service manager (systemctl --user) rather than the system's.")
    var user = false

    @Flag(name: .customLong("print"), help: "Print the unit instead of writing it.")
    var printOnly = false

    @Flag(help: "Replace a different unit of the same name.")
    var force = false

    @Option(help: "The absolute path of orchestrate in the unit (default: this executable's).")
    var binary: String?

    func run() throws {
        let loaded = try manifest.load()
        let options = try ExportSystemd.options(
            user: user,
            binary: binary,
            set: manifest.set,
            manifest: loaded.manifest,
            outputFolder: nil
        )
        let unit = SupervisorUnit(manifest: loaded.manifest, options: options)
        guard unit.folderIsWritable else {
            throw CommandFailure.failure(
                "\(unit.folder) cannot be a WorkingDirectory= (a line break or a trailing blank)"
            )
        }
        let file = unit.file
        if printOnly {
            Terminal.out(file.contents)
            return
        }
        let folder = try destinationFolder()
        let path = folder + "/" + file.name
        let systemctl = user ? "systemctl --user" : "systemctl"
        if let existing = FileManager.default.contents(atPath: path) {
            if existing == Data(file.contents.utf8) {
                note("\(path) is already this unit")
                return
            }
            guard force else {
                throw CommandFailure.failure(
                    "\(path) exists and differs; see the new unit with --print, and replace it with --force"
                )
            }
        }
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try Data(file.contents.utf8).write(to: URL(fileURLWithPath: path))
        } catch {
            throw CommandFailure.failure("cannot write \(path): \(error)")
        }
        note("wrote \(path)")
        if !user, let owner = options.owner {
            note("it runs as User=\(owner.user) Group=\(owner.group), the owner of \(loaded.manifest.file)")
        }
        note("to start it now and at every \(user ? "login" : "boot"):")
        note("  \(systemctl) daemon-reload")
        note("  \(systemctl) enable --now \(file.name.contains("\\") ? "'\(file.name)'" : file.name)")
        if user { note("  loginctl enable-linger \"$USER\"   # to keep it running with no login session open") }
    }

    /// Where the unit goes; not being root is an error for the system's folder.
    private func destinationFolder() throws -> String {
        if user {
            guard let folder = SystemdHost.userUnitFolder(environment: ProcessInfo.processInfo.environment) else {
                throw CommandFailure.failure("neither XDG_CONFIG_HOME nor HOME is set: no folder for user units")
            }
            return folder
        }
        guard SystemdHost.isRoot else {
            throw CommandFailure.failure(
                "only root may write \(SystemdHost.systemUnitFolder): run it with sudo, or install a user unit with --user"
            )
        }
        return SystemdHost.systemUnitFolder
    }

    private func note(_ line: String) { FileBytes.write(Array((line + "\n").utf8), to: 2) }
}
