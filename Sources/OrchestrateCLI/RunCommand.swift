import ArgumentParser
import DaemonKit
import Manifest
import Orchestrator

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract:
            "Run a periodic or watcher daemon once in the foreground, without a supervisor; exit with its status.",
        discussion: """
            The command runs as the daemon's runs do under a supervisor: in its cwd, with its environment, \
            ORCHESTRATE_DAEMON, ORCHESTRATE_RUN=1 and ORCHESTRATE_ATTEMPT, stopped after its timeout, retried as its \
            retry says. A watcher's run is a full rescan: ORCHESTRATE_RESCAN=1 and an empty ORCHESTRATE_CHANGED_FILE. \
            Its output goes to this terminal (standard output and error apart), not to the daemon's log. No supervisor \
            is needed or started, and one running for the manifest is not told: this is for CI jobs, cron, systemd \
            timers and Kubernetes CronJobs (see `orchestrate export`). Ctrl-C or SIGTERM stops the run's process group \
            with the daemon's stop_signal, then SIGKILL after its stop_timeout.

            Exit status: the last attempt's: its own status, 124 when it timed out, 128+N when signal N ended it, 127 \
            when it could not start; 2 when the daemon is not periodic or watcher, or the manifest is not valid.

            Examples:
              orchestrate run issues-sync
              orchestrate --set daemons.issues-sync.timeout=1m run issues-sync
            """
    )

    @OptionGroup var manifest: ManifestOptions

    @Argument(
        help: "The periodic or watcher daemon.",
        completion: .daemonNames { $0.kind is PeriodicSpec || $0.kind is WatcherSpec }
    )
    var name: String

    func run() async throws {
        let loaded = try manifest.load().manifest
        guard let daemon = loaded[daemon: name] else {
            let hint = Suggestion.didYouMean(name, among: loaded.daemons.map(\.name)).map { "; \($0)" } ?? ""
            throw CommandFailure.usage("no daemon named '\(name)'\(hint)")
        }
        let single: SingleRun
        do {
            single = try SingleRun(daemon: daemon)
        } catch {
            throw CommandFailure.usage(error.message)
        }
        if !daemon.enabled { Terminal.warning("'\(name)' is disabled in the manifest; running it once anyway") }
        let status = await single.run(
            output: { FileBytes.write(Array($0), to: 1) },
            errorOutput: { FileBytes.write(Array($0), to: 2) },
            note: { Terminal.error($0) }
        )
        guard status == 0 else { throw ExitCode(status) }
    }
}
