import ArgumentParser
import DaemonKit
import FoundationEssentials
import Manifest
import Orchestrator

struct DashboardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "Print the dashboard's URL (served on control.http).",
        discussion: """
            The supervisor serves a live dashboard at / of control.http: every daemon with its state, runs, last and \
            next run, its log, and buttons to trigger, start, stop and restart it, and to reload. Without \
            control.http in the manifest, nothing is served, and this says how to turn it on. With \
            control.api_key_env, the page asks for the key once.

            Exit status: 0 printed; 1 control.http is not set; 3 no supervisor runs for this manifest (the URL is \
            printed still).
            """
    )

    @OptionGroup var manifest: ManifestOptions

    func run() throws {
        let loaded = try manifest.load().manifest
        guard let control = loaded.control, case .tcp(let host, let port)? = control.http else {
            throw CommandFailure.failure(
                "the dashboard is served on control.http, which \(PathText.name(of: loaded.file)) does not set; add "
                    + "`control: {http: 127.0.0.1:9400}` to it, then restart the supervisor "
                    + "(orchestrate down, then orchestrate up -d)"
            )
        }
        let shown = host == "0.0.0.0" || host == "::" || host.isEmpty ? "127.0.0.1" : host
        Terminal.out("http://\(shown.contains(":") ? "[\(shown)]" : shown):\(port)/\n")
        if let variable = control.apiKeyEnvironment {
            Terminal.warning(
                "the page asks for the control API key, the value of \(variable) in the supervisor's environment"
            )
        }
        guard PIDLock.isRunning(path: loaded.stateFolder.lockFile) else {
            throw CommandFailure(
                message: "no supervisor runs for this manifest yet; start one with `orchestrate up -d`",
                status: 3
            )
        }
    }
}
