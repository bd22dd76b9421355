import DaemonKit
import Orchestrator
import Testing

@testable import Manifest

@Suite("Decoding every field")
struct ManifestDecodingTests {
    @Test func topLevelFieldsAndTheirDefaults() throws {
        let bare = try load("daemons: {}\n").manifest
        #expect(bare.version == 1)
        #expect(bare.stateDirectory == "/project/.orchestrate")
        #expect(bare.envFile == nil)
        #expect(bare.environment.isEmpty)
        #expect(bare.reload == .auto)
        #expect(bare.autoStart == false)
        #expect(bare.control == nil)
        #expect(bare.daemons.isEmpty)
        #expect(bare.directory == "/project")

        let full = try load(
            """
            version: 1
            state_dir: ../state
            env: {LOG_LEVEL: info, PORT: 8000, DEBUG: false}
            reload: manual
            auto_start: true
            control: {http: "127.0.0.1:9400", api_key_env: CONTROL_KEY}
            x-anchors: {anything: goes}
            daemons: {}
            """
        ).manifest
        #expect(full.stateDirectory == "/state")
        #expect(full.environment == ["LOG_LEVEL": "info", "PORT": "8000", "DEBUG": "false"])
        #expect(full.reload == .manual)
        #expect(full.autoStart)
        #expect(full.control?.http == .tcp(host: "127.0.0.1", port: 9400))
        #expect(full.control?.apiKeyEnvironment == "CONTROL_KEY")
    }

    @Test func commonFieldsAndBuiltInDefaults() throws {
        let daemon = try #require(
            try load(oneDaemon("job", "kind: periodic\ninterval: 5s\ncommand: echo hi")).manifest.daemons.first
        )
        #expect(daemon.name == "job")
        #expect(daemon.enabled)
        #expect(daemon.workingDirectory == "/project")
        #expect(daemon.environment.isEmpty)
        #expect(daemon.restart == RestartPolicy())
        #expect(daemon.stopSignal == .terminate)
        #expect(daemon.stopTimeout == .seconds(10))
        #expect(daemon.log == LogRotation(maxSize: 10 << 20, keep: 5))
        #expect(daemon.dependencies.isEmpty)
        #expect(daemon.restartWithDependencies == false)

        let custom = try #require(
            try load(
                oneDaemon(
                    "job",
                    """
                    kind: periodic
                    interval: 5s
                    command: [echo, hi]
                    enabled: false
                    cwd: sub/dir
                    env: {A: "1"}
                    restart: {policy: always, backoff: {initial: 250ms, max: 30s}, limit: {burst: 3, window: 10m}}
                    stop_signal: int
                    stop_timeout: 1m30s
                    log: {max_size: 512KiB, keep: 2}
                    restart_with_dependencies: true
                    """
                )
            ).manifest.daemons.first
        )
        #expect(custom.enabled == false)
        #expect(custom.workingDirectory == "/project/sub/dir")
        #expect(custom.environment == ["A": "1"])
        #expect(
            custom.restart
                == RestartPolicy(
                    mode: .always,
                    initialBackoff: .milliseconds(250),
                    maxBackoff: .seconds(30),
                    burst: 3,
                    window: .seconds(600)
                )
        )
        #expect(custom.stopSignal == .interrupt)
        #expect(custom.stopTimeout == .seconds(90))
        #expect(custom.log == LogRotation(maxSize: 512 * 1_024, keep: 2))
        #expect(custom.restartWithDependencies)
    }

    @Test func periodicFields() throws {
        let manifest = try load(
            """
            daemons:
              tick:
                kind: periodic
                interval: 1h30m
                jitter: 2s
                run_on_start: true
                timeout: 20s
                overlap: replace
                retry: {attempts: 3, backoff: 500ms}
                command: ["sh", "-c", "echo $$HOME"]
              nightly:
                kind: periodic
                cron: "0 3 * * mon-fri"
                command: backup.sh
            """
        ).manifest
        guard let tick = manifest[daemon: "tick"]?.settings(as: PeriodicSpec.self),
            let nightly = manifest[daemon: "nightly"]?.settings(as: PeriodicSpec.self)
        else {
            Issue.record("expected periodic daemons")
            return
        }
        #expect(tick.schedule == .interval(.seconds(5_400)))
        #expect(tick.jitter == .seconds(2))
        #expect(tick.runOnStart)
        #expect(tick.timeout == .seconds(20))
        #expect(tick.overlap == .replace)
        #expect(tick.retry == RetryPolicy(attempts: 3, backoff: .milliseconds(500)))
        #expect(tick.command == .argv(["sh", "-c", "echo $HOME"]))
        #expect(nightly.schedule == .cron(try CronSchedule(parsing: "0 3 * * mon-fri")))
        #expect(nightly.command == .shell("backup.sh"))
        #expect(nightly.command.arguments == ["/bin/sh", "-c", "backup.sh"])
        #expect(nightly.overlap == .skip)
        #expect(nightly.jitter == .zero)
        #expect(nightly.timeout == nil)
        #expect(nightly.retry == RetryPolicy())
    }

    @Test func watcherFields() throws {
        let manifest = try load(
            oneDaemon(
                "atlas",
                """
                kind: watcher
                cwd: app
                paths: [src, /abs/lib]
                patterns: ["**/*.py", "*.{md,txt}"]
                ignore: ["**/__pycache__/**"]
                gitignore: true
                debounce: 300ms
                max_wait: 5s
                mode: poll
                poll_interval: 2s
                on_busy: restart
                run_on_start: true
                timeout: 1m
                retry: {attempts: 1}
                command: [scan]
                """
            )
        ).manifest
        guard let watcher = manifest.daemons.first?.settings(as: WatcherSpec.self) else {
            Issue.record("expected a watcher")
            return
        }
        #expect(watcher.files.paths == ["/project/app/src", "/abs/lib"])
        #expect(watcher.files.patterns.map(\.pattern) == ["**/*.py", "*.{md,txt}"])
        #expect(watcher.files.ignore.map(\.pattern) == ["**/__pycache__/**"])
        #expect(watcher.files.gitignore)
        #expect(watcher.debounce == .milliseconds(300))
        #expect(watcher.maxWait == .seconds(5))
        #expect(watcher.mode == .poll)
        #expect(watcher.pollInterval == .seconds(2))
        #expect(watcher.onBusy == .restart)
        #expect(watcher.runOnStart)
        #expect(watcher.timeout == .seconds(60))
        #expect(watcher.retry == RetryPolicy(attempts: 1, backoff: .seconds(1)))

        let defaults = try load(oneDaemon("w", "kind: watcher\ncommand: make")).manifest
        guard let plain = defaults.daemons.first?.settings(as: WatcherSpec.self) else { return }
        #expect(plain.files.paths == ["/project"])
        #expect(plain.files.patterns.isEmpty)
        #expect(plain.debounce == .milliseconds(100))
        #expect(plain.maxWait == .seconds(10))
        #expect(plain.mode == .events)
        #expect(plain.onBusy == .queue)
    }

    @Test func rpcFields() throws {
        let manifest = try load(
            oneDaemon(
                "core",
                """
                kind: rpc
                listen: "[::1]:8420"
                auth: {api_key_env: CORE_API_KEY}
                methods:
                  skills.list: {command: [agent, skills, --json], timeout: 5s, description: Lists skills.}
                  echo: {command: cat}
                cache: {max_entries: 100, max_bytes: 1GB}
                max_concurrency: 8
                max_queue: 10
                max_body: 2MiB
                """
            )
        ).manifest
        guard let rpc = manifest.daemons.first?.settings(as: RPCSpec.self) else {
            Issue.record("expected rpc")
            return
        }
        #expect(rpc.listen == .tcp(host: "::1", port: 8_420))
        #expect(rpc.apiKeyEnvironment == "CORE_API_KEY")
        #expect(rpc.insecure == false)
        #expect(rpc.methods.map(\.name) == ["echo", "skills.list"])
        #expect(rpc.methods[1].command == .argv(["agent", "skills", "--json"]))
        #expect(rpc.methods[1].timeout == .seconds(5))
        #expect(rpc.methods[1].description == "Lists skills.")
        #expect(rpc.methods[0].timeout == .seconds(30))
        #expect(rpc.cacheMaxEntries == 100)
        #expect(rpc.cacheMaxBytes == 1_000_000_000)
        #expect(rpc.maxConcurrency == 8)
        #expect(rpc.maxQueue == 10)
        #expect(rpc.maxBody == 2 << 20)

        let unix = try load(oneDaemon("u", "kind: rpc\nlisten: unix:run/core.sock")).manifest
        guard let socket = unix.daemons.first?.settings(as: RPCSpec.self) else { return }
        #expect(socket.listen == .unix(path: "/project/run/core.sock"))
        #expect(socket.maxConcurrency == nil)
        #expect(socket.cacheMaxEntries == 10_000)
        #expect(socket.maxBody == 1 << 20)
    }

    @Test func processFieldsAndProbes() throws {
        let manifest = try load(
            """
            daemons:
              db:
                kind: process
                command: [postgres]
                restart: {policy: never}
                ready: {tcp: "127.0.0.1:5432", period: 100ms, timeout: 20s}
              web:
                kind: process
                command: python3 -m http.server 8000
                ready: {http: "http://127.0.0.1:8000/"}
                liveness: {exec: [curl, -f, localhost:8000], period: 30s, failures: 5}
                depends_on: {db: completed}
              worker:
                kind: process
                command: [worker]
                ready: {log_line: "^listening on [0-9]+$"}
                depends_on: [web]
            """
        ).manifest
        guard let db = manifest[daemon: "db"]?.settings(as: ProcessSpec.self),
            let web = manifest[daemon: "web"]?.settings(as: ProcessSpec.self),
            let worker = manifest[daemon: "worker"]?.settings(as: ProcessSpec.self)
        else {
            Issue.record("expected processes")
            return
        }
        #expect(
            db.ready
                == Probe(
                    check: .tcp(.tcp(host: "127.0.0.1", port: 5_432)),
                    period: .milliseconds(100),
                    timeout: .seconds(20),
                    failures: nil
                )
        )
        #expect(db.liveness == nil)
        #expect(web.ready?.check == .http("http://127.0.0.1:8000/"))
        #expect(web.ready?.period == .milliseconds(250))
        #expect(web.ready?.timeout == .seconds(30))
        #expect(
            web.liveness
                == Probe(
                    check: .exec(.argv(["curl", "-f", "localhost:8000"])),
                    period: .seconds(30),
                    timeout: .seconds(5),
                    failures: 5
                )
        )
        #expect(worker.ready?.check == .logLine("^listening on [0-9]+$"))
        #expect(manifest[daemon: "web"]?.dependencies == [.init(name: "db", condition: .completed)])
        #expect(manifest[daemon: "worker"]?.dependencies == [.init(name: "web", condition: .ready)])
    }

    @Test func defaultsMergeUnderEveryDaemonAndTheDaemonWins() throws {
        let manifest = try load(
            """
            env: {SHARED: top, OVERRIDDEN: top}
            defaults:
              stop_timeout: 3s
              restart: {policy: always, backoff: {max: 2m}}
              env: {FROM_DEFAULTS: "yes", OVERRIDDEN: defaults}
            daemons:
              a: {kind: periodic, interval: 1s, command: "true"}
              b:
                kind: periodic
                interval: 1s
                command: "true"
                stop_timeout: 7s
                restart: {backoff: {initial: 5s}}
                env: {OVERRIDDEN: own}
            """
        ).manifest
        let a = try #require(manifest[daemon: "a"])
        let b = try #require(manifest[daemon: "b"])
        #expect(a.stopTimeout == .seconds(3))
        #expect(b.stopTimeout == .seconds(7))
        #expect(a.restart.mode == .always)
        #expect(b.restart.mode == .always)
        #expect(b.restart.initialBackoff == .seconds(5))
        #expect(b.restart.maxBackoff == .seconds(120))
        #expect(a.environment == ["SHARED": "top", "OVERRIDDEN": "defaults", "FROM_DEFAULTS": "yes"])
        #expect(b.environment == ["SHARED": "top", "OVERRIDDEN": "own", "FROM_DEFAULTS": "yes"])
    }

    @Test func aNullEnvironmentValueIsTakenFromTheSupervisorsEnvironment() throws {
        let manifest = try load(
            "env: {HOME_DIR: null, MISSING: ~}\ndaemons: {}\n",
            environment: ["HOME_DIR": "/home/me"]
        ).manifest
        #expect(manifest.environment == ["HOME_DIR": "/home/me"])
    }

    @Test func summaryCountsKinds() throws {
        let manifest = try load(
            """
            daemons:
              a: {kind: periodic, interval: 1s, command: x}
              b: {kind: periodic, cron: "@hourly", command: x}
              c: {kind: watcher, command: x}
              d: {kind: rpc, listen: "127.0.0.1:0", enabled: false}
            """
        ).manifest
        #expect(manifest.summary == "4 daemons: 2 periodic, 1 watcher, 1 rpc (1 disabled)")
        #expect(try load("daemons: {}").manifest.summary == "0 daemons")
        #expect(try load(oneDaemon("p", "kind: process\ncommand: x")).manifest.summary == "1 daemon: 1 process")
    }

    @Test func specsAreHashableSoAReloadCanDiff() throws {
        let first = try load(oneDaemon("a", "kind: periodic\ninterval: 30s\ncommand: x")).manifest.daemons[0]
        let same = try load(oneDaemon("a", "kind: periodic\ninterval: 30s\ncommand: x\njitter: 0s")).manifest.daemons[0]
        let changed = try load(oneDaemon("a", "kind: periodic\ninterval: 31s\ncommand: x")).manifest.daemons[0]
        #expect(first == same)
        #expect(first != changed)
    }
}
