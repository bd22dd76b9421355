import DaemonKit
import Manifest

/// `orchestrate export systemd`: a manifest as systemd units, one or two per enabled daemon, with a warning for each
/// thing that does not carry over.
///
/// A periodic daemon becomes a timer and a oneshot service running `orchestrate run NAME` (which applies its cwd,
/// env, timeout and retry); a process daemon a service running its command itself; every other kind (watcher, rpc, a
/// kind from a Swift package) a service running a supervisor of that daemon alone, `orchestrate up --only NAME`, with
/// a state folder of its own since one supervisor alone may hold a state folder's lock.
public struct SystemdExport {
    /// How the units are written.
    public struct Options: Sendable, Hashable {
        /// Units for the user's service manager (`systemctl --user`) rather than the system's.
        public var user: Bool
        /// The absolute path of orchestrate that the units run.
        public var binary: String
        /// `--set` arguments given to the export, passed on to every orchestrate command the units run.
        public var setArguments: [String]
        /// The user and group system units run as; nil for none.
        public var owner: SystemdHost.Owner?
        /// The `PATH` a command's program is looked up in, at export time.
        public var searchPath: String
        /// The folder the files are written into (`-o`), for the install commands; nil when printed.
        public var outputFolder: String?

        public init(
            user: Bool,
            binary: String,
            setArguments: [String] = [],
            owner: SystemdHost.Owner? = nil,
            searchPath: String = "/usr/local/bin:/usr/bin:/bin",
            outputFolder: String? = nil
        ) {
            self.user = user
            self.binary = binary
            self.setArguments = setArguments
            self.owner = owner
            self.searchPath = searchPath
            self.outputFolder = outputFolder
        }
    }

    /// The manifest, loaded.
    public let manifest: Manifest
    /// How the units are written.
    public let options: Options
    /// The files so far.
    var files: [ExportOutput.File] = []
    /// The warnings so far.
    var warnings: [ExportOutput.Warning] = []

    public init(manifest: Manifest, options: Options) {
        self.manifest = manifest
        self.options = options
    }

    /// The units, warnings and install notes.
    public func export() -> ExportOutput {
        var export = self
        var journaled: [String] = []
        for daemon in manifest.declaredDaemons {
            guard daemon.enabled else {
                export.warn(daemon, "disabled: no unit written")
                continue
            }
            if let periodic = daemon.settings(as: PeriodicSpec.self) {
                export.addPeriodic(daemon, periodic)
                journaled.append(daemon.name)
            } else if let process = daemon.settings(as: ProcessSpec.self), process.watch == nil,
                manifest.declaredReplicas[daemon.name] == nil
            {
                // A process that restarts when its files change keeps its watch under a supervisor of its own, and
                // one run as copies keeps them (and `orchestrate scale`) under one too.
                export.addProcess(daemon, process)
                journaled.append(daemon.name)
            } else {
                export.addSupervised(daemon)
            }
            export.warnAboutCommonFields(daemon, runsDirectly: journaled.last == daemon.name)
        }
        if !journaled.isEmpty {
            let journalctl = options.user ? "journalctl --user -u" : "journalctl -u"
            let units = journaled.map { "\(journalctl) \(Self.shellWord(Self.serviceName($0)))" }
            export.warnings.append(
                ExportOutput.Warning(
                    daemon: nil,
                    "log: the output of \(journaled.joined(separator: ", ")) goes to the journal (\(units.joined(separator: ", "))), "
                        + "not to rotated files: journald's limits (SystemMaxUse= in journald.conf) replace max_size "
                        + "and keep, and `orchestrate logs` does not show it"
                )
            )
        }
        return ExportOutput(files: export.files, warnings: export.warnings, notes: export.notes())
    }

    // MARK: - Names

    /// The service unit of daemon `name`.
    public static func serviceName(_ name: String) -> String { UnitFile.escapedName(name) + ".service" }

    /// The timer unit of daemon `name`.
    public static func timerName(_ name: String) -> String { UnitFile.escapedName(name) + ".timer" }

    /// `word` as one shell word, in single quotes when it holds anything but safe characters.
    static func shellWord(_ word: String) -> String {
        let safe = word.unicodeScalars.allSatisfy { scalar in
            scalar.properties.isAlphabetic && scalar.isASCII || ("0"..."9").contains(scalar)
                || "-_.:/@+=,".unicodeScalars.contains(scalar)
        }
        return safe && !word.isEmpty ? word : "'" + word.replacing("'", with: "'\\''") + "'"
    }

    // MARK: - Shared pieces

    mutating func warn(_ daemon: DaemonSpec, _ message: String) {
        warnings.append(ExportOutput.Warning(daemon: daemon.name, message))
    }

    /// The target units are installed into: the user's default target, or the system's multi-user target.
    var wantedBy: String { options.user ? "default.target" : "multi-user.target" }

    /// `orchestrate -f MANIFEST [--set …] ARGUMENTS`, as the units run it.
    func orchestrate(_ arguments: [String]) -> [String] {
        [options.binary, "-f", manifest.file] + options.setArguments.flatMap { ["--set", $0] } + arguments
    }

    /// A unit's start: its comment and `[Unit]` with its description and, for a service, its dependencies' ordering
    /// (a timer has none: starting it must not start them, its service's run does).
    func unitHeader(
        _ daemon: DaemonSpec,
        comment: [String],
        ordered: Bool = true,
        extra: (inout UnitFile) -> Void = { _ in }
    ) -> UnitFile {
        var unit = UnitFile(comment: comment)
        unit.section("Unit")
        unit.plain("Description", "orchestrate: \(daemon.name) (\(daemon.kindTitle)) of \(manifest.file)")
        let dependencies = ordered ? daemon.dependencies.map { Self.serviceName($0.name) } : []
        if !dependencies.isEmpty {
            unit.raw("After", dependencies.joined(separator: " "))
            unit.raw("Requires", dependencies.joined(separator: " "))
        }
        extra(&unit)
        return unit
    }

    /// `User=`/`Group=` for system units, when an owner was chosen.
    func addOwner(to unit: inout UnitFile) {
        guard !options.user, let owner = options.owner else { return }
        unit.plain("User", owner.user)
        unit.plain("Group", owner.group)
    }

    /// The environment in a stable order, so that an export of the same manifest is the same file.
    static func sortedEnvironment(_ environment: [String: String]) -> [(String, String)] {
        environment.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// Warnings for the fields every kind has: restart_with_dependencies, notify hooks, and a dependency whose
    /// readiness systemd cannot wait for.
    mutating func warnAboutCommonFields(_ daemon: DaemonSpec, runsDirectly: Bool) {
        if daemon.restartWithDependencies {
            warn(
                daemon,
                "restart_with_dependencies does not carry over: Requires= restarts this unit when a dependency is "
                    + "restarted with systemctl, not when systemd restarts a failed dependency by itself"
            )
        }
        if runsDirectly, daemon.notify != nil {
            warn(
                daemon,
                "notify hooks do not carry over: no supervisor runs them (systemd's OnFailure= could start a unit "
                    + "of yours when this one fails)"
            )
        }
        for dependency in daemon.dependencies where dependency.condition == .ready {
            guard manifest.members(of: dependency.name).first?.kind.readinessTimeout != nil else { continue }
            warn(
                daemon,
                "depends_on \(dependency.name) (ready): systemd starts this unit once \(dependency.name)'s has "
                    + "started, not once it is ready"
            )
        }
    }

    /// The commands to install the units, printed for the user to run.
    func notes() -> [String] {
        guard !files.isEmpty else { return [] }
        let systemctl = options.user ? "systemctl --user" : "systemctl"
        let folder = options.user ? "~/.config/systemd/user" : SystemdHost.systemUnitFolder
        var notes: [String] = []
        if !options.user {
            notes.append(
                options.owner.map {
                    "the units run as User=\($0.user) Group=\($0.group), the owner of \(manifest.file)"
                }
                    ?? "no User= in the units: they run as root (exported by root, they run as the manifest's owner "
                    + "unless root owns it)"
            )
        }
        notes.append("to install the units\(options.user ? "" : " (as root)"):")
        if let output = options.outputFolder {
            let paths = files.map { Self.shellWord((output.hasSuffix("/") ? output : output + "/") + $0.name) }
            notes.append("  mkdir -p \(folder) && cp \(paths.joined(separator: " ")) \(folder)/")
        } else {
            notes.append("  save each unit above as \(folder)/NAME (its # NAME line), then:")
        }
        notes.append("  \(systemctl) daemon-reload")
        let started = files.map(\.name).filter { name in
            name.hasSuffix(".timer") || !files.contains { $0.name == name.dropLast(".service".count) + ".timer" }
        }
        notes.append("  \(systemctl) enable --now \(started.map(Self.shellWord).joined(separator: " "))")
        if options.user {
            notes.append("  loginctl enable-linger \"$USER\"   # to keep them running with no login session open")
        }
        return notes
    }
}
