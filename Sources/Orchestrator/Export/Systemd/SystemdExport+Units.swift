import DaemonKit
import Manifest

/// The units of each kind.
extension SystemdExport {
    /// What systemd waits beyond a supervisor's own stop_timeout before it kills what is left: the supervisor stops
    /// its daemon first and exits, which takes a moment more than the daemon's stop.
    static let stopMargin = Duration.seconds(5)

    // MARK: - periodic

    /// A timer with the schedule, and a oneshot service for one run.
    mutating func addPeriodic(_ daemon: DaemonSpec, _ periodic: PeriodicSpec) {
        var timer = unitHeader(
            daemon,
            comment: ["The schedule of \(daemon.name); each run is \(Self.serviceName(daemon.name))."],
            ordered: false
        )
        timer.section("Timer")
        switch periodic.schedule {
        case .interval(let interval):
            // OnActiveSec= counts from the timer's start, OnUnitActiveSec= from the last run's start: no drift.
            timer.raw("OnActiveSec", periodic.runOnStart ? "0" : UnitFile.timeSpan(interval))
            timer.raw("OnUnitActiveSec", UnitFile.timeSpan(interval))
            timer.raw("AccuracySec", UnitFile.timeSpan(Self.accuracy(for: interval)))
        case .cron(let cron):
            if periodic.runOnStart { timer.raw("OnActiveSec", "0") }
            let events = CronCalendar.events(for: cron)
            if events.count > 1 {
                timer.comment("cron '\(cron.expression)' runs on either day field, systemd on both: one event each.")
            }
            for event in events { timer.raw("OnCalendar", event) }
            timer.raw("AccuracySec", "1s")
            // A run missed while the machine was off happens at the next boot.
            timer.raw("Persistent", "true")
        }
        if periodic.jitter > .zero { timer.raw("RandomizedDelaySec", UnitFile.timeSpan(periodic.jitter)) }
        timer.section("Install")
        timer.raw("WantedBy", "timers.target")
        files.append(ExportOutput.File(name: Self.timerName(daemon.name), contents: timer.text))

        var service = unitHeader(
            daemon,
            comment: [
                "One run of \(daemon.name), started by \(Self.timerName(daemon.name)). `orchestrate run` applies its",
                "cwd, env, timeout and retry. overlap: systemd does not start a oneshot service again while it runs,",
                "so a timer elapsing during a run is dropped, as overlap: skip does.",
            ]
        )
        service.section("Service")
        service.raw("Type", "oneshot")
        addOwner(to: &service)
        service.command("ExecStart", orchestrate(["run", daemon.name]))
        // The daemon's stop signal reaches the command itself; SIGKILL follows after stop_timeout, as in orchestrate.
        service.raw("KillMode", "control-group")
        service.raw("KillSignal", daemon.stopSignal.name)
        service.raw("TimeoutStopSec", UnitFile.timeSpan(daemon.stopTimeout))
        files.append(ExportOutput.File(name: Self.serviceName(daemon.name), contents: service.text))
        if periodic.overlap != .skip {
            warn(
                daemon,
                "overlap: \(periodic.overlap.rawValue) does not carry over: systemd does not start a run while the "
                    + "last one runs, so the timer's elapse is dropped (overlap: skip)"
            )
        }
    }

    /// How late a timer may elapse: systemd's default of a minute is too coarse for short intervals.
    static func accuracy(for interval: Duration) -> Duration {
        interval >= .seconds(10) ? .seconds(1) : max(.milliseconds(1), interval / 10)
    }

    // MARK: - process

    /// A service running the command itself, restarted by systemd.
    mutating func addProcess(_ daemon: DaemonSpec, _ process: ProcessSpec) {
        let restart = daemon.restart
        // A daemon others wait to see completed is a oneshot: systemd orders them after it has exited.
        let completes = manifest.declaredDaemons.contains { other in
            other.enabled && other.dependencies.contains { $0.name == daemon.name && $0.condition.needsAnEnd }
        }
        var service = unitHeader(daemon, comment: ["\(daemon.name): the command itself, kept up by systemd."]) {
            $0.raw("StartLimitBurst", "\(restart.burst)")
            $0.raw("StartLimitIntervalSec", UnitFile.timeSpan(restart.window))
        }
        service.section("Service")
        if completes {
            service.comment("Others wait for it to complete: a oneshot that stays active once it has exited 0.")
            service.raw("Type", "oneshot")
            service.raw("RemainAfterExit", "yes")
        } else {
            // Started, not ready: systemd has no readiness probe to wait for.
            service.raw("Type", "exec")
        }
        addOwner(to: &service)
        if UnitFile.cannotBePlain(daemon.workingDirectory) {
            warn(daemon, "cwd \(daemon.workingDirectory) cannot be written in a unit: no WorkingDirectory=")
        } else {
            service.plain("WorkingDirectory", daemon.workingDirectory)
        }
        service.environment(Self.sortedEnvironment(daemon.environment))
        var arguments = process.command.arguments
        if let program = arguments.first {
            let path = SystemdHost.absolutePath(
                of: program,
                in: daemon.workingDirectory,
                searchPath: options.searchPath
            )
            if let path {
                arguments[0] = path
            } else {
                warn(
                    daemon,
                    "\(program) is not in PATH at export time: systemd looks it up in its own fixed PATH when the "
                        + "unit starts"
                )
            }
        }
        service.command("ExecStart", arguments)
        let mode: String
        switch restart.mode {
        case .always where !completes: mode = "always"
        case .never: mode = "no"
        default: mode = "on-failure"
        }
        service.raw("Restart", mode)
        service.raw("RestartSec", UnitFile.timeSpan(restart.initialBackoff))
        service.raw("KillMode", "control-group")
        service.raw("KillSignal", daemon.stopSignal.name)
        service.raw("TimeoutStopSec", UnitFile.timeSpan(daemon.stopTimeout))
        service.section("Install")
        service.raw("WantedBy", wantedBy)
        files.append(ExportOutput.File(name: Self.serviceName(daemon.name), contents: service.text))

        if restart.mode != .never, restart.maxBackoff > restart.initialBackoff {
            warn(
                daemon,
                "restart backoff: systemd 252 waits a fixed RestartSec=\(UnitFile.timeSpan(restart.initialBackoff)) "
                    + "before each restart; it does not grow to \(restart.maxBackoff.shortText)"
            )
        }
        if process.ready != nil {
            warn(
                daemon,
                "ready probe does not carry over: the unit is active once its command has started (Type=exec), "
                    + "and units after it start then"
            )
        }
        if process.liveness != nil {
            warn(
                daemon,
                "liveness probe does not carry over: systemd does not check the process, nor restart it when it "
                    + "stops answering"
            )
        }
    }

    // MARK: - every other kind

    /// A service running a supervisor of this daemon alone, with a state folder of its own.
    mutating func addSupervised(_ daemon: DaemonSpec) {
        var service = unitHeader(
            daemon,
            comment: [
                "\(daemon.name) under a supervisor of its own (`up --only`), with a state folder of its own: only one",
                "supervisor may hold a state folder's lock. It restarts the daemon by the manifest's policy and runs",
                "its hooks; systemd restarts the supervisor. SIGTERM goes to the supervisor alone (KillMode=mixed),",
                "which stops its daemon's process group with the daemon's stop_signal and stop_timeout.",
            ]
        )
        service.section("Service")
        service.raw("Type", "exec")
        addOwner(to: &service)
        service.environment([("ORCHESTRATE__STATE_DIR", manifest.stateDirectory + "/units/" + daemon.name)])
        service.command("ExecStart", orchestrate(["up", "--only", daemon.name, "--no-deps"]))
        service.raw("Restart", "on-failure")
        service.raw("RestartSec", "5s")
        // Exit status 2 is a manifest that is not valid: starting again would fail the same way.
        service.raw("RestartPreventExitStatus", "2")
        service.raw("KillMode", "mixed")
        service.raw("KillSignal", "SIGTERM")
        service.raw("TimeoutStopSec", UnitFile.timeSpan(daemon.stopTimeout + Self.stopMargin))
        service.section("Install")
        service.raw("WantedBy", wantedBy)
        files.append(ExportOutput.File(name: Self.serviceName(daemon.name), contents: service.text))
    }
}
