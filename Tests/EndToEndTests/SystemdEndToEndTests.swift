import Foundation
import OrchestrateTesting
import Testing

/// `export systemd` and `install`: the units pass `systemd-analyze verify` without a word, systemd reads from them
/// what the manifest says, and the warnings are exactly those expected.
@Suite("systemd")
struct SystemdEndToEndTests {
    /// A manifest using every field the export maps, in a folder whose name needs escaping and quoting.
    static let everyField = """
        version: 1
        state_dir: .state
        env:
          SHARED: 'quote " percent % dollar $$HOME backslash \\ ünï'
        daemons:
          nightly:
            kind: periodic
            cron: "*/15 9-17 1,15 * mon-fri"
            run_on_start: true
            jitter: 30s
            timeout: 5m
            retry: {attempts: 2, backoff: 10s}
            overlap: queue
            command: ["sh", "-c", "echo nightly"]
          often:
            kind: periodic
            interval: 45s
            command: "echo often"
          weekly:
            kind: periodic
            cron: "30 2 * jan-mar,oct sun"
            overlap: replace
            command: ["true"]
          migrate:
            kind: process
            command: "echo migrating"
            restart: {policy: on-failure, backoff: {initial: 2s, max: 2s}}
          api.v2:
            kind: process
            command: ["python3", "-m", "http.server", "8431", "--bind", "127.0.0.1"]
            cwd: "sub dir"
            env: {QUOTED: 'say "hi" 50% $$HOME \\ end', UNI: "ünïcödé ✓"}
            restart: {policy: always, backoff: {initial: 1s, max: 30s}, limit: {burst: 7, window: 2m}}
            stop_signal: SIGINT
            stop_timeout: 20s
            ready: {http: "http://127.0.0.1:8431/", timeout: 10s}
            liveness: {tcp: "127.0.0.1:8431", period: 30s}
            depends_on: {migrate: completed, nightly: started}
            restart_with_dependencies: true
            notify: {command: ["true"]}
          core:
            kind: rpc
            listen: 127.0.0.1:8432
            methods: {echo: {command: ["cat"]}}
          watch:
            kind: watcher
            paths: ["."]
            command: ["true"]
            depends_on: [api.v2, core]
          off:
            kind: periodic
            interval: 1m
            enabled: false
            command: ["true"]
        """

    /// The start of every warning `everyField` gives, in order.
    static let everyFieldWarnings = [
        "nightly: overlap: queue does not carry over", "weekly: overlap: replace does not carry over",
        "api.v2: restart backoff: systemd 252 waits a fixed RestartSec=1s", "api.v2: ready probe does not carry over",
        "api.v2: liveness probe does not carry over", "api.v2: restart_with_dependencies does not carry over",
        "api.v2: notify hooks do not carry over", "watch: depends_on api.v2 (ready)", "off: disabled: no unit written",
        "log: the output of nightly, often, weekly, migrate, api.v2 goes to the journal",
    ]

    /// The name of the folder `everyField` lives in.
    static let hardFolder = "my \"proj\" 100% $x ü"

    /// Writes `everyField` into a folder with a hard name (owned by the user `daemon` when the test runs as root, so
    /// that the system units get a User=; verify calls `nobody` unsafe), runs `body` with the manifest's path.
    private func withEveryField<T>(_ body: (String, TemporaryDirectory) throws -> T) throws -> T {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let manifest = try directory.write(Self.hardFolder + "/daemons.yaml", Self.everyField)
        try FileManager.default.createDirectory(
            atPath: directory.url(Self.hardFolder + "/sub dir"),
            withIntermediateDirectories: true
        )
        if getuid() == 0 { chown(manifest, 1, 1) }
        return try body(manifest, directory)
    }

    /// The warnings printed, without their `warning: ` prefix.
    private func warnings(_ result: CommandResult) -> [String] {
        result.stderr.split(separator: "\n").filter { $0.hasPrefix("warning: ") }.map { String($0.dropFirst(9)) }
    }

    private func expectWarnings(_ result: CommandResult, _ expected: [String]) {
        let printed = warnings(result)
        #expect(printed.count == expected.count, "\(printed)")
        for (line, start) in zip(printed, expected) { #expect(line.hasPrefix(start), "\(line)") }
    }

    /// Exports into a new folder and checks that every unit passes `systemd-analyze verify` silently.
    private func exportAndVerify(
        _ arguments: [String],
        user: Bool,
        in directory: TemporaryDirectory
    ) throws
        -> (CommandResult, [String: String], String)
    {
        let output = directory.url(user ? "user-units" : "system-units")
        let result = try E2E.run(
            arguments + ["export", "systemd", "-o", output] + (user ? ["--user"] : []),
            in: E2E.repositoryRoot()
        )
        #expect(result.status == 0, "\(result.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: output).sorted()
        var files: [String: String] = [:]
        for name in names { files[name] = try String(contentsOfFile: output + "/" + name, encoding: .utf8) }
        if SystemdTools.available {
            let verify = try SystemdTools.verify(names.map { output + "/" + $0 }, user: user)
            #expect(verify.status == 0 && verify.stdout.isEmpty && verify.stderr.isEmpty, "\(verify.stderr)")
        }
        return (result, files, output)
    }

    @Test(arguments: [false, true])
    func exampleUnitsVerify(user: Bool) throws {
        try TemporaryDirectory.with { directory in
            let (result, files, _) = try exportAndVerify(["-f", "examples/daemons.yaml"], user: user, in: directory)
            #expect(
                Set(files.keys) == [
                    "core.service", "issues-sync.timer", "issues-sync.service", "code-atlas.service", "docs.service",
                ]
            )
            expectWarnings(
                result,
                [
                    "docs: restart backoff: systemd 252 waits a fixed RestartSec=1s",
                    "docs: ready probe does not carry",
                    "log: the output of issues-sync, docs goes to the journal",
                ]
            )
            let systemctl = user ? "systemctl --user" : "systemctl"
            #expect(result.stderr.contains("  \(systemctl) daemon-reload\n"))
            #expect(result.stderr.contains("  \(systemctl) enable --now core.service issues-sync.timer code-atlas"))
            let manifest = E2E.repositoryRoot() + "/examples/daemons.yaml"
            #expect(files["issues-sync.service"]?.contains("\"-f\" \"\(manifest)\" \"run\" \"issues-sync\"\n") == true)
        }
    }

    @Test(arguments: E2E.exampleManifests())
    func everyExampleManifestsUnitsVerify(_ manifest: String) throws {
        try TemporaryDirectory.with { directory in
            for user in [false, true] {
                let (_, files, _) = try exportAndVerify(["-f", manifest], user: user, in: directory)
                #expect(!files.isEmpty)
            }
        }
    }

    @Test func printedUnitsAreTheFilesWithHeaders() throws {
        try TemporaryDirectory.with { directory in
            let (_, files, _) = try exportAndVerify(["-f", "examples/daemons.yaml"], user: false, in: directory)
            let printed = try E2E.run(["-f", "examples/daemons.yaml", "export", "systemd"], in: E2E.repositoryRoot())
            #expect(printed.status == 0)
            let order = [
                "core.service", "issues-sync.timer", "issues-sync.service", "code-atlas.service", "docs.service",
            ]
            #expect(printed.stdout == order.map { "# \($0)\n" + (files[$0] ?? "") }.joined(separator: "\n"))
            #expect(printed.stderr.contains("save each unit above as /etc/systemd/system/NAME"))
        }
    }

    @Test(arguments: [false, true])
    func everyFieldVerifiesWithTheExpectedWarnings(user: Bool) throws {
        try withEveryField { manifest, directory in
            let (result, files, output) = try exportAndVerify(["-f", manifest], user: user, in: directory)
            expectWarnings(result, Self.everyFieldWarnings)
            #expect(
                Set(files.keys) == [
                    "nightly.timer", "nightly.service", "often.timer", "often.service", "weekly.timer",
                    "weekly.service", "migrate.service", "api.v2.service", "core.service", "watch.service",
                ]
            )
            let nightly = files["nightly.timer"] ?? ""
            #expect(nightly.contains("\nOnActiveSec=0\n"))
            #expect(
                nightly.contains("\nOnCalendar=*-*-01,15 09..17:00/15:00\nOnCalendar=Mon..Fri *-*-* 09..17:00/15:00\n")
            )
            #expect(nightly.contains("\nPersistent=true\nRandomizedDelaySec=30s\n"))
            #expect(files["weekly.timer"]?.contains("\nOnCalendar=Sun *-01..03,10-* 02:30:00\n") == true)
            // api.v2 waits for migrate to complete: a oneshot that systemd may start again when it fails.
            #expect(files["migrate.service"]?.contains("\nType=oneshot\nRemainAfterExit=yes\n") == true)
            #expect(files["migrate.service"]?.contains("\nRestart=on-failure\nRestartSec=2s\n") == true)
            let owner = getuid() == 0 && !user
            #expect(files["api.v2.service"]?.contains("\nUser=daemon\nGroup=daemon\n") == owner)
            #expect(result.stderr.contains("run as User=daemon Group=daemon") == owner)
            #expect(result.stderr.contains("no User= in the units") == (!owner && !user))
            guard SystemdTools.available, !user else { return }
            // What systemd reads: the values of the manifest, however they are written.
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: output)
            let api = try SystemdTools.settings(of: "api.v2.service", in: output)
            let folder = (manifest as NSString).deletingLastPathComponent
            #expect(SystemdTools.values("WorkingDirectory", in: api) == [folder + "/sub dir"])
            #expect(
                SystemdTools.values("Environment", in: api) == [
                    "QUOTED=say \"hi\" 50% $HOME \\ end", "SHARED=quote \" percent % dollar $HOME backslash \\ ünï",
                    "UNI=ünïcödé ✓",
                ]
            )
            for (key, value) in [
                ("Restart", "always"), ("RestartSec", "1s"), ("KillMode", "control-group"), ("KillSignal", "SIGINT"),
                ("TimeoutStopSec", "20s"), ("Type", "exec"),
            ] {
                #expect(SystemdTools.values(key, in: api) == [value], "\(key)")
            }
            let commandLine = try #require(SystemdTools.values("Command Line", in: api).first)
            // python3 as the test's PATH finds it: absolute, and executable.
            let argv = SystemdTools.argv(ofCommandLine: commandLine)
            let python = try #require(argv.first)
            #expect(python.hasPrefix("/") && python.hasSuffix("/python3"))
            #expect(FileManager.default.isExecutableFile(atPath: python))
            #expect(argv.dropFirst() == ["-m", "http.server", "8431", "--bind", "127.0.0.1"])
            let core = try SystemdTools.settings(of: "core.service", in: output)
            #expect(
                SystemdTools.values("Environment", in: core) == ["ORCHESTRATE__STATE_DIR=\(folder)/.state/units/core"]
            )
            let coreLine = try #require(SystemdTools.values("Command Line", in: core).first)
            #expect(
                SystemdTools.argv(ofCommandLine: coreLine) == [
                    TestProcess.orchestrateBinary, "-f", manifest, "up", "--only", "core", "--no-deps",
                ]
            )
            #expect(SystemdTools.values("KillMode", in: core) == ["mixed"])
        }
    }

    // MARK: - install

    @Test func installUserWritesTheUnitOnceAndReplacesOnlyWithForce() throws {
        try withEveryField { manifest, directory in
            let config = directory.url("config")
            let environment = ["XDG_CONFIG_HOME": config]
            let printed = try E2E.run(["-f", manifest, "install", "--user", "--print"], in: directory.path)
            #expect(printed.status == 0, "\(printed.stderr)")
            let result = try E2E.run(
                ["-f", manifest, "install", "--user"],
                in: directory.path,
                environment: environment
            )
            #expect(result.status == 0, "\(result.stderr)")
            let name = "orchestrate-my\\x20\\x22proj\\x22\\x20100\\x25\\x20\\x24x\\x20\\xc3\\xbc.service"
            let path = config + "/systemd/user/" + name
            #expect(try String(contentsOfFile: path, encoding: .utf8) == printed.stdout)
            #expect(result.stderr.contains("  systemctl --user daemon-reload\n"))
            #expect(result.stderr.contains("  systemctl --user enable --now '\(name)'\n"))
            #expect(printed.stdout.contains("\nWantedBy=default.target\n"))
            #expect(!printed.stdout.contains("User="))
            // The same unit again: nothing to do. A different one: replaced only with --force.
            let again = try E2E.run(
                ["-f", manifest, "install", "--user"],
                in: directory.path,
                environment: environment
            )
            #expect(again.status == 0 && again.stderr.contains("is already this unit"))
            try "[Unit]\n".write(toFile: path, atomically: true, encoding: .utf8)
            let refused = try E2E.run(
                ["-f", manifest, "install", "--user"],
                in: directory.path,
                environment: environment
            )
            #expect(refused.status == 1 && refused.stderr.contains("exists and differs"))
            let forced = try E2E.run(
                ["-f", manifest, "install", "--user", "--force"],
                in: directory.path,
                environment: environment
            )
            #expect(forced.status == 0)
            #expect(try String(contentsOfFile: path, encoding: .utf8) == printed.stdout)
            if SystemdTools.available {
                let verify = try SystemdTools.verify([path], user: true)
                #expect(verify.status == 0 && verify.stdout.isEmpty && verify.stderr.isEmpty, "\(verify.stderr)")
            }
        }
    }

    /// The system unit is only printed here: the test never writes into the real /etc.
    @Test func installPrintGivesASystemUnitThatVerifies() throws {
        try withEveryField { manifest, directory in
            let printed = try E2E.run(["-f", manifest, "install", "--print"], in: directory.path)
            #expect(printed.status == 0, "\(printed.stderr)")
            let folder = (manifest as NSString).deletingLastPathComponent
            let unit = printed.stdout
            for line in [
                "Type=exec", "WorkingDirectory=\(folder.replacingOccurrences(of: "%", with: "%%"))",
                "KillMode=mixed", "Restart=on-failure", "RestartPreventExitStatus=2", "WantedBy=multi-user.target",
                // The slowest chain: watch (10s) after api.v2 (20s) after migrate (10s), and 10s of margin.
                "TimeoutStopSec=50s",
            ] {
                #expect(unit.contains("\n" + line + "\n"), "\(line)")
            }
            #expect(unit.contains("\nUser=daemon\nGroup=daemon\n") == (getuid() == 0))
            guard SystemdTools.available else { return }
            let name = "orchestrate-my\\x20\\x22proj\\x22\\x20100\\x25\\x20\\x24x\\x20\\xc3\\xbc.service"
            let path = try directory.write(name, unit)
            let verify = try SystemdTools.verify([path], user: false)
            #expect(verify.status == 0 && verify.stdout.isEmpty && verify.stderr.isEmpty, "\(verify.stderr)")
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)
            let settings = try SystemdTools.settings(of: name, in: directory.path)
            #expect(SystemdTools.values("WorkingDirectory", in: settings) == [folder])
            let start = try #require(SystemdTools.values("Command Line", in: settings).first)
            #expect(SystemdTools.argv(ofCommandLine: start) == [TestProcess.orchestrateBinary, "-f", manifest, "up"])
        }
    }

    /// Without --user, a user that is not root gets a clear error; as root the test runs it as nobody.
    @Test(.enabled(if: getuid() != 0 || FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")))
    func installWithoutUserNeedsRoot() throws {
        try withEveryField { manifest, directory in
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)
            let command = [TestProcess.orchestrateBinary, "-f", manifest, "install"]
            let asNobody = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            let result = try TestProcess.run(
                getuid() == 0 ? asNobody + command : command,
                in: "/",
                environment: E2E.environment()
            )
            #expect(result.status == 1)
            #expect(result.stderr.contains("only root may write /etc/systemd/system: run it with sudo, or install"))
            #expect(!FileManager.default.fileExists(atPath: "/etc/systemd/system/orchestrate-my\\x20\\x22proj"))
        }
    }
}
