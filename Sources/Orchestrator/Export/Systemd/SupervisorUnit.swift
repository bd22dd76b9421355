import DaemonKit
import Manifest

/// `orchestrate install`'s unit: one service running the whole supervisor (`orchestrate up`), as
/// examples/systemd/orchestrate.service does by hand; its comments explain each line.
public struct SupervisorUnit {
    /// What the supervisor needs beyond the slowest stop in the manifest before systemd kills what is left.
    public static let stopMargin = Duration.seconds(10)

    /// The manifest, loaded.
    public let manifest: Manifest
    /// How the unit is written (user or system, the binary, the owner, `--set` arguments).
    public let options: SystemdExport.Options

    public init(manifest: Manifest, options: SystemdExport.Options) {
        self.manifest = manifest
        self.options = options
    }

    /// The manifest's folder: the base of its relative paths, and what the unit is named after.
    public var folder: String {
        let file = manifest.file
        guard let slash = file.lastIndex(of: "/") else { return "/" }
        return slash == file.startIndex ? "/" : String(file[..<slash])
    }

    /// `orchestrate-<folder name>.service`, the folder's name escaped as `systemd-escape` does (`-` kept).
    public var name: String {
        let base = folder.split(separator: "/").last.map(String.init) ?? "root"
        return "orchestrate-" + UnitFile.escapedName(base) + ".service"
    }

    /// The longest stop: `orchestrate down` stops dependents before their dependencies, each within its
    /// stop_timeout, so the slowest chain along depends_on is the sum of its daemons' stop_timeouts.
    public var longestStop: Duration {
        var memo: [String: Duration] = [:]
        let enabled = manifest.declaredDaemons.filter(\.enabled)
        // Dependents of each daemon: what is stopped before it.
        var dependents: [String: [String]] = [:]
        for daemon in enabled {
            for dependency in daemon.dependencies { dependents[dependency.name, default: []].append(daemon.name) }
        }
        func chain(_ name: String, depth: Int) -> Duration {
            if let known = memo[name] { return known }
            let own = enabled.first { $0.name == name }?.stopTimeout ?? .zero
            // The manifest's checks refuse cycles; the depth bound keeps a bad graph from recursing forever.
            let before =
                depth > enabled.count
                ? .zero : (dependents[name] ?? []).map { chain($0, depth: depth + 1) }.max() ?? .zero
            memo[name] = own + before
            return own + before
        }
        return enabled.map { chain($0.name, depth: 0) }.max() ?? .zero
    }

    /// The unit file.
    public var file: ExportOutput.File {
        let binary = options.binary
        let sets = options.setArguments.flatMap { ["--set", $0] }
        var unit = UnitFile(comment: [
            "orchestrate under systemd: the daemons of \(manifest.file), written by `orchestrate install`.",
            "examples/systemd/orchestrate.service (and docs/cookbook.md) explain each line.",
        ])
        unit.section("Unit")
        unit.plain("Description", "orchestrate: the daemons of \(manifest.file)")
        unit.section("Service")
        unit.comment(
            "`orchestrate up` stays in the foreground: it is the main process, and its daemons are its children."
        )
        unit.raw("Type", "exec")
        if !options.user, let owner = options.owner {
            unit.plain("User", owner.user)
            unit.plain("Group", owner.group)
        }
        unit.plain("WorkingDirectory", folder)
        unit.command("ExecStart", [binary, "-f", manifest.file] + sets + ["up"])
        unit.comment(
            "SIGHUP makes the supervisor apply the manifest; the plan, or the errors of a manifest that is not"
        )
        unit.comment("valid (the daemons then keep running), land in the journal and in `orchestrate status`.")
        unit.raw("ExecReload", "/bin/kill -HUP $MAINPID")
        unit.comment("SIGTERM to the supervisor alone: it stops every daemon as `orchestrate down` does (dependents")
        unit.comment("first, each with its stop_signal, SIGKILL after its stop_timeout), then exits 0.")
        unit.raw("KillMode", "mixed")
        unit.raw("KillSignal", "SIGTERM")
        unit.comment("The slowest stop along depends_on (\(longestStop.shortText)) and a margin.")
        unit.raw("TimeoutStopSec", UnitFile.timeSpan(longestStop + Self.stopMargin))
        unit.raw("Restart", "on-failure")
        unit.raw("RestartSec", "5s")
        unit.comment("Exit status 2 is a manifest that is not valid: starting again would fail the same way.")
        unit.raw("RestartPreventExitStatus", "2")
        unit.section("Install")
        unit.raw("WantedBy", options.user ? "default.target" : "multi-user.target")
        return ExportOutput.File(name: name, contents: unit.text)
    }

    /// Whether the folder can be the unit's `WorkingDirectory=` (see ``UnitFile/cannotBePlain(_:)``).
    public var folderIsWritable: Bool { !UnitFile.cannotBePlain(folder) }
}
