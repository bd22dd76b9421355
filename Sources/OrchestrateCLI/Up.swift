import ArgumentParser
import DaemonKit
import FoundationEssentials
import Logging
import Manifest
import Orchestrator

#if canImport(Glibc)
import Glibc
#endif

struct Up: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Start the supervisor and every daemon of the manifest (Ctrl-C stops them).",
        discussion: """
            In the foreground, every daemon's output is shown with its name in front (`NAME | line`), and Ctrl-C, SIGTERM or \
            `orchestrate down` stop every daemon, then the supervisor. With -d the supervisor runs in the background and the \
            command returns once it answers on its control socket. The supervisor holds STATE_DIR/orchestrate.pid locked, \
            serves the control API on STATE_DIR/orchestrate.sock and writes each daemon's output to STATE_DIR/logs/NAME.log.

            Exit status: 0 when the supervisor stopped (in the foreground) or answers (with -d); 1 when one already runs for \
            this manifest, it cannot start, or with --wait a daemon did not become ready (the supervisor keeps running); 2 \
            when the manifest is not valid.

            Examples:
              orchestrate up
              orchestrate up -d --wait
              orchestrate --set daemons.issues-sync.interval=5s up -d
              orchestrate up --only web            # web and what it depends on
              orchestrate up --only web --no-deps  # web alone, as in a container of its own
            """
    )

    @OptionGroup var manifest: ManifestOptions

    @Flag(name: [.customShort("d"), .customLong("detach")], help: "Run in the background; return once it answers.")
    var detach = false

    @Flag(
        help:
            "With -d, also wait until every daemon is ready (processes: their ready probe passed); exit 1 naming those that failed."
    )
    var wait = false

    @Option(
        parsing: .upToNextOption,
        help: ArgumentHelp(
            "Run only these daemons, and what they depend on unless --no-deps; hot reload keeps the selection.",
            valueName: "name"
        ),
        completion: .daemonNames()
    )
    var only: [String] = []

    @Option(
        parsing: .upToNextOption,
        help: ArgumentHelp(
            "Run every daemon but these (a daemon that depends on one starts without it).",
            valueName: "name"
        ),
        completion: .daemonNames()
    )
    var except: [String] = []

    @Flag(help: "With --only, leave out what the named daemons depend on (they start without waiting for it).")
    var noDeps = false

    /// The daemons this supervisor runs.
    var selection: DaemonSelection {
        DaemonSelection(only: only, except: except, withDependencies: !noDeps)
    }

    func run() async throws {
        let loaded = try manifest.load(selection: selection)
        let client = SupervisorClient(manifest: loaded.manifest)
        if client.isRunning {
            let pid = client.pid.map { " (pid \($0))" } ?? ""
            throw CommandFailure.failure("orchestrate is already running for \(loaded.manifest.file)\(pid)")
        }
        if detach {
            try Self.detach(loaded.manifest, options: manifest, selection: selection, waitForDaemons: wait)
            return
        }
        try await runInForeground(loaded.manifest)
    }

    private func runInForeground(_ manifest: Manifest) async throws {
        let detached = ProcessInfo.processInfo.environment[Detacher.childVariable] == "1"
        let supervisorLog: RotatingLogFile
        do {
            supervisorLog = try RotatingLogFile(path: manifest.stateFolder.supervisorLog)
        } catch {
            throw CommandFailure.failure("cannot open the supervisor's log: \(error)")
        }
        LoggingSystem.bootstrap { label in
            var file = LogFileHandler(file: supervisorLog)
            file.logLevel = .info
            guard !detached else { return file }
            var terminal = StreamLogHandler.standardError(label: label)
            terminal.logLevel = .info
            return MultiplexLogHandler([file, terminal])
        }
        let logger = Logger(label: "orchestrate")
        let width = manifest.daemons.map(\.name.count).max() ?? 0
        var mirror: (@Sendable (String, [UInt8]) -> Void)? = nil
        if !detached {
            mirror = { name, line in
                // The line starts with its timestamp; the terminal shows the daemon's name instead.
                let text = line.drop { $0 != UInt8(ascii: " ") }.dropFirst()
                FileBytes.write(Array((name.padded(to: width) + " | ").utf8) + text, to: 1)
            }
        }
        let supervisor = Supervisor(
            manifest: manifest,
            logger: logger,
            mirror: mirror,
            adoptsOrphans: true,
            source: self.manifest.source(for: manifest, selection: selection),
            ownLog: supervisorLog,
            webhookTLS: CommandKinds.webhookTLS?()
        )
        do {
            try await supervisor.run {
                if !detached {
                    Terminal.error(
                        "running \(manifest.summary); logs in \(manifest.stateDirectory)/logs; Ctrl-C stops"
                    )
                }
            }
        } catch let error as DaemonKitError where error.code == .alreadyRunning {
            throw CommandFailure.failure(error.message)
        } catch {
            throw CommandFailure.failure("\(error)")
        }
    }
}

extension Up {
    /// Starts a supervisor in the background (``Detacher``) and says so, unless `quiet`; with `waitForDaemons`,
    /// fails naming the daemons that did not become ready.
    static func detach(
        _ manifest: Manifest,
        options: ManifestOptions,
        selection: DaemonSelection = DaemonSelection(),
        waitForDaemons: Bool,
        quiet: Bool = false
    ) throws {
        let started: Detacher.Started
        do {
            started = try Detacher(manifest: manifest, setArguments: options.set, upArguments: selection.arguments)
                .start(waitForDaemons: waitForDaemons)
        } catch {
            throw CommandFailure.failure(error.message)
        }
        if !quiet {
            let logs = manifest.stateFolder.logs
            Terminal.out("orchestrate: started (pid \(started.pid)), \(manifest.summary); logs in \(logs)\n")
        }
        guard started.notReady.isEmpty else {
            let lines = started.notReady.map { record in
                let why = record.health["waiting_for"].map { "waiting for " + $0 } ?? record.lastError
                return "  \(record.name): \(record.state)" + (why.map { ", " + $0 } ?? "")
            }
            throw CommandFailure.failure(
                (started.settled ? "" : "gave up waiting; ")
                    + "these daemons are not ready (the supervisor keeps running):\n" + lines.joined(separator: "\n")
            )
        }
    }
}
