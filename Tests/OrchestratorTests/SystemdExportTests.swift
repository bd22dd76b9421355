import DaemonKit
import Foundation
import Manifest
import OrchestrateTesting
import Orchestrator
import Testing

@Suite("systemd export")
struct SystemdExportTests {
    private func manifest(_ yaml: String) throws -> Manifest {
        try ManifestLoader(file: "/srv/app/daemons.yaml", fileLabel: "daemons.yaml", kinds: .builtIn, environment: [:])
            .load(bytes: Array(yaml.utf8)).manifest
    }

    private func export(_ yaml: String, user: Bool = false) throws -> ExportOutput {
        let options = SystemdExport.Options(user: user, binary: "/usr/local/bin/orchestrate", searchPath: "/bin")
        return SystemdExport(manifest: try manifest(yaml), options: options).export()
    }

    private func file(_ name: String, in export: ExportOutput) throws -> String {
        try #require(export.files.first { $0.name == name }).contents
    }

    // MARK: - cron

    /// Crons of every form, and the calendar events they become.
    static let crons: [(String, [String])] = [
        ("*/15 * * * *", ["*-*-* *:00/15:00"]),
        ("0 9-17 * * mon-fri", ["Mon..Fri *-*-* 09..17:00:00"]),
        ("5,35 */6 * * *", ["*-*-* 00/6:05,35:00"]),
        ("0-30/10 8 * * *", ["*-*-* 08:00,10,20,30:00"]),
        ("30 2 1,15 * sat,sun", ["*-*-01,15 02:30:00", "Sat,Sun *-*-* 02:30:00"]),
        ("0 0 */2 * 0-2", ["Mon,Tue,Sun *-*-01/2 00:00:00"]),
        ("0 12 13 * 5", ["*-*-13 12:00:00", "Fri *-*-* 12:00:00"]),
        ("0 0 1 jan-mar,oct *", ["*-01..03,10-01 00:00:00"]),
        ("15 3 * * 7", ["Sun *-*-* 03:15:00"]),
        ("0 6 1-7 * 1-5", ["*-*-01..07 06:00:00", "Mon..Fri *-*-* 06:00:00"]),
        ("0 0 5 * 0-6", ["*-*-* 00:00:00"]),
        ("@hourly", ["*-*-* *:00:00"]),
        ("@weekly", ["Sun *-*-* 00:00:00"]),
        ("@yearly", ["*-01-01 00:00:00"]),
    ]

    @Test(arguments: crons)
    func cronBecomesCalendarEvents(cron: String, events: [String]) throws {
        #expect(CronCalendar.events(for: try CronSchedule(parsing: cron)) == events)
    }

    /// systemd's next elapses of the events (the earliest of each, for two) are the cron's next runs.
    @Test(.enabled(if: SystemdTools.available), arguments: crons.map(\.0))
    func systemdElapsesWhenTheCronRuns(cron: String) throws {
        let schedule = try CronSchedule(parsing: cron)
        let utc = try #require(TimeZone(identifier: "UTC"))
        let base = Date(timeIntervalSince1970: 1_767_225_600)  // 2026-01-01 00:00:00 UTC, a Thursday
        var expected: [Date] = []
        var last = base
        for _ in 0..<6 {
            guard let next = schedule.next(after: last, in: utc) else { break }
            expected.append(next)
            last = next
        }
        var elapses: [Date] = []
        for event in CronCalendar.events(for: schedule) {
            elapses += try SystemdTools.elapses(of: event, after: base, count: 6)
        }
        #expect(Array(Set(elapses).sorted().prefix(6)) == expected, "\(cron)")
    }

    // MARK: - names and quoting

    @Test(.enabled(if: SystemdTools.available))
    func unitNamesAreEscapedAsSystemdEscapeDoes() throws {
        for name in ["web", "a b", "ünï", ".hidden", "x%y$z", "q\"uote\\", "tab\there", "a:b_c.d", "a-b"] {
            let result = try TestProcess.run(["/usr/bin/systemd-escape", "--", name])
            let expected = result.stdout.trimmingCharacters(in: .newlines).replacingOccurrences(of: "\\x2d", with: "-")
            #expect(UnitFile.escapedName(name) == expected, "\(name)")
        }
        #expect(UnitFile.escapedName("a-b", keepDashes: false) == "a\\x2db")
    }

    /// What systemd reads from a unit written here is what was written: every argument and every variable.
    @Test(.enabled(if: SystemdTools.available))
    func quotedValuesRoundTripThroughSystemd() throws {
        let hard = [
            "plain", "two words", "say \"hi\"", "50% off %n", "$HOME and $$ and ${X}", "back\\slash\\", "ünïcödé ✓",
            "tab\there", "", ";", "'single'", "trailing space ",
        ]
        var unit = UnitFile()
        unit.section("Unit")
        unit.plain("Description", "100% \"quoted\" \\x41 ünï")
        unit.section("Service")
        unit.raw("Type", "exec")
        unit.plain("WorkingDirectory", "/tmp/a b%c/ü")
        unit.environment(hard.enumerated().map { ("V\($0.offset)", $0.element) })
        // Line breaks and other control characters too: the dump shows them as C escapes.
        let argv = ["/bin/echo"] + hard + ["line\nbreak", "bell\u{7}", "a`b"]
        unit.command("ExecStart", argv)
        let folder = try TemporaryDirectory(prefix: "systemd-quoting")
        defer { folder.remove() }
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder.path)
        _ = try folder.write("quoting.service", unit.text)
        let settings = try SystemdTools.settings(of: "quoting.service", in: folder.path)
        #expect(SystemdTools.values("Description", in: settings) == ["100% \"quoted\" \\x41 ünï"])
        #expect(SystemdTools.values("WorkingDirectory", in: settings) == ["/tmp/a b%c/ü"])
        #expect(
            SystemdTools.values("Environment", in: settings) == hard.enumerated().map { "V\($0.offset)=\($0.element)" }
        )
        let commandLine = try #require(SystemdTools.values("Command Line", in: settings).first)
        #expect(SystemdTools.argv(ofCommandLine: commandLine) == argv)
    }

    @Test func controlCharactersAreEscapedInQuotes() {
        #expect(UnitFile.quotedArgument("a\nb\u{1}c$%") == "\"a\\nb\\x01c$$%%\"")
        var unit = UnitFile()
        unit.environment([("K", "a\nb $X")])
        #expect(unit.text == "Environment=\"K=a\\nb $X\"\n")
        #expect(UnitFile.cannotBePlain("/srv/a\nb"))
        #expect(UnitFile.cannotBePlain("/srv/trailing "))
        #expect(!UnitFile.cannotBePlain("/srv/with space/ü"))
    }

    // MARK: - mapping

    @Test func periodicIntervalBecomesATimerAndAOneshotService() throws {
        let output = try export(
            """
            daemons:
              sync: {kind: periodic, interval: 30s, jitter: 2s, run_on_start: true, command: [sh, x.sh]}
              slow: {kind: periodic, interval: 2s, command: "true", depends_on: [sync]}
            """
        )
        // A run waits for its dependencies; starting the timer does not start them.
        #expect(!(try file("slow.timer", in: output)).contains("After="))
        #expect(try file("slow.service", in: output).contains("\nAfter=sync.service\nRequires=sync.service\n"))
        #expect(output.files.map(\.name) == ["sync.timer", "sync.service", "slow.timer", "slow.service"])
        let timer = try file("sync.timer", in: output)
        #expect(timer.contains("\nOnActiveSec=0\nOnUnitActiveSec=30s\nAccuracySec=1s\nRandomizedDelaySec=2s\n"))
        #expect(!timer.contains("Persistent"))
        #expect(timer.hasSuffix("[Install]\nWantedBy=timers.target\n"))
        let slow = try file("slow.timer", in: output)
        #expect(slow.contains("\nOnActiveSec=2s\nOnUnitActiveSec=2s\nAccuracySec=200ms\n"))
        let service = try file("sync.service", in: output)
        #expect(service.contains("\nType=oneshot\n"))
        #expect(
            service.contains(
                "\nExecStart=\"/usr/local/bin/orchestrate\" \"-f\" \"/srv/app/daemons.yaml\" \"run\" \"sync\"\n"
            )
        )
        #expect(!service.contains("[Install]"))
    }

    @Test func processMapsRestartLimitsAndSignals() throws {
        let output = try export(
            """
            daemons:
              web:
                kind: process
                command: [sh, -c, "exec sleep 100"]
                restart: {policy: always, backoff: {initial: 3s, max: 3s}, limit: {burst: 7, window: 2m}}
                stop_signal: SIGINT
                stop_timeout: 20s
                env: {B: "2", A: "1"}
              once: {kind: process, command: "echo hi", restart: {policy: never}}
              after: {kind: process, command: [true], depends_on: {once: completed, web: started}}
            """,
            user: true
        )
        let web = try file("web.service", in: output)
        for line in [
            "StartLimitBurst=7", "StartLimitIntervalSec=120s", "Type=exec", "Restart=always", "RestartSec=3s",
            "KillMode=control-group", "KillSignal=SIGINT", "TimeoutStopSec=20s", "WantedBy=default.target",
            "Environment=\"A=1\"\nEnvironment=\"B=2\"", "ExecStart=\"/bin/sh\" \"-c\" \"exec sleep 100\"",
        ] {
            #expect(web.contains("\n" + line + "\n"), "\(line)")
        }
        let once = try file("once.service", in: output)
        #expect(once.contains("\nType=oneshot\nRemainAfterExit=yes\n"))
        #expect(once.contains("\nRestart=no\n"))
        #expect(once.contains("\nExecStart=\"/bin/sh\" \"-c\" \"echo hi\"\n"))
        let after = try file("after.service", in: output)
        #expect(after.contains("\nAfter=once.service web.service\nRequires=once.service web.service\n"))
    }

    @Test func aProgramNotOnPathAndAnUnwritableFolderAreWarnings() throws {
        let output = try export(
            """
            daemons:
              odd: {kind: process, command: [no-such-program, x], cwd: "trailing ", restart: {policy: never}}
            """
        )
        let odd = try file("odd.service", in: output)
        #expect(odd.contains("\nExecStart=\"no-such-program\" \"x\"\n"))
        #expect(!odd.contains("WorkingDirectory="))
        #expect(
            output.warnings.map(\.description) == [
                "odd: cwd /srv/app/trailing  cannot be written in a unit: no WorkingDirectory=",
                "odd: no-such-program is not in PATH at export time: systemd looks it up in its own fixed PATH when "
                    + "the unit starts",
                "log: the output of odd goes to the journal (journalctl -u odd.service), not to rotated files: "
                    + "journald's limits (SystemMaxUse= in journald.conf) replace max_size and keep, and "
                    + "`orchestrate logs` does not show it",
            ]
        )
    }

    @Test func otherKindsRunASupervisorOfTheirOwn() throws {
        let output = try export(
            """
            state_dir: /var/lib/app
            daemons:
              core: {kind: rpc, listen: 127.0.0.1:8420, stop_timeout: 7s}
            """
        )
        let core = try file("core.service", in: output)
        for line in [
            "Environment=\"ORCHESTRATE__STATE_DIR=/var/lib/app/units/core\"",
            "ExecStart=\"/usr/local/bin/orchestrate\" \"-f\" \"/srv/app/daemons.yaml\" \"up\" \"--only\" \"core\" \"--no-deps\"",
            "Restart=on-failure", "RestartPreventExitStatus=2", "KillMode=mixed", "TimeoutStopSec=12s",
            "WantedBy=multi-user.target",
        ] {
            #expect(core.contains("\n" + line + "\n"), "\(line)")
        }
        #expect(output.warnings.isEmpty)
    }

    /// `--set` given to the export is given to every orchestrate command the units run, which read the manifest again.
    @Test func setArgumentsArePassedOn() throws {
        let options = SystemdExport.Options(user: true, binary: "/opt/orchestrate", setArguments: ["env.A=1 2"])
        let yaml = "daemons:\n  tick: {kind: periodic, interval: 1m, command: [\"true\"]}\n"
        let output = SystemdExport(manifest: try manifest(yaml), options: options).export()
        let expected =
            "ExecStart=\"/opt/orchestrate\" \"-f\" \"/srv/app/daemons.yaml\" \"--set\" \"env.A=1 2\" \"run\" \"tick\"\n"
        #expect(try file("tick.service", in: output).contains("\n" + expected))
        let unit = SupervisorUnit(manifest: try manifest(yaml), options: options).file.contents
        #expect(unit.contains("\"--set\" \"env.A=1 2\" \"up\"\n"))
        #expect(unit.contains("\nExecReload=/bin/kill -HUP $MAINPID\n"))
    }

    @Test func installUnitCoversTheSlowestStopChain() throws {
        let manifest = try manifest(
            """
            daemons:
              db: {kind: process, command: [sleep, "1"], stop_timeout: 30s}
              api: {kind: process, command: [sleep, "1"], stop_timeout: 20s, depends_on: [db]}
              web: {kind: process, command: [sleep, "1"], stop_timeout: 5s, depends_on: [api]}
              other: {kind: process, command: [sleep, "1"], stop_timeout: 50s}
            """
        )
        let unit = SupervisorUnit(
            manifest: manifest,
            options: SystemdExport.Options(user: false, binary: "/opt/orchestrate")
        )
        #expect(unit.longestStop == .seconds(55))
        #expect(unit.name == "orchestrate-app.service")
        #expect(unit.file.contents.contains("\nTimeoutStopSec=65s\n"))
        #expect(
            unit.file.contents.contains("\nExecStart=\"/opt/orchestrate\" \"-f\" \"/srv/app/daemons.yaml\" \"up\"\n")
        )
        #expect(unit.file.contents.contains("\nWorkingDirectory=/srv/app\n"))
    }
}

extension SystemdExportTests {
    /// A process with replicas keeps its copies (and `orchestrate scale`) under a supervisor of its own; a dependent
    /// orders after that one unit.
    @Test func aProcessWithReplicasRunsUnderItsOwnSupervisor() throws {
        let output = try export(
            """
            daemons:
              worker: {kind: process, replicas: 3, command: [sleep, '60']}
              dispatcher: {kind: process, command: [sleep, '60'], depends_on: [worker]}
            """
        )
        #expect(output.files.map(\.name).sorted() == ["dispatcher.service", "worker.service"])
        let worker = try file("worker.service", in: output)
        #expect(
            worker.contains(
                #"ExecStart="/usr/local/bin/orchestrate" "-f" "/srv/app/daemons.yaml" "up" "--only" "worker" "--no-deps""#
            ),
            "\(worker)"
        )
        #expect(try file("dispatcher.service", in: output).contains("After=worker.service\n"))
    }
}
