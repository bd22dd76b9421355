import DaemonKit
import Foundation
import OrchestrateTesting
import Orchestrator
import Testing

@testable import Manifest

@Suite("env_file, files on disk and manifest lookup")
struct EnvFileAndLocatorTests {
    @Test func envFileFeedsInterpolationAndTheProcessEnvironmentWins() throws {
        try TemporaryDirectory.with { directory in
            try directory.write(
                "config/ci.env",
                """
                # settings for CI
                export INTERVAL=5s
                NAME='literal $NOT_EXPANDED'
                GREETING="hello ${WHO:-world}"
                SHARED=from-file
                """
            )
            let file = try directory.write(
                "daemons.yaml",
                """
                env_file: config/ci.env
                env: {NAME: "$NAME", GREETING: "$GREETING", SHARED: "$SHARED"}
                daemons:
                  a: {kind: periodic, interval: "${INTERVAL}", command: x}
                """
            )
            let loaded = try ManifestLoader(file: file, kinds: .builtIn, environment: ["SHARED": "from-process"]).load()
            #expect(loaded.manifest.envFile == directory.url("config/ci.env"))
            #expect(loaded.manifest.environment["NAME"] == "literal $NOT_EXPANDED")
            #expect(loaded.manifest.environment["GREETING"] == "hello world")
            #expect(loaded.manifest.environment["SHARED"] == "from-process")
            guard let periodic = loaded.manifest.daemons.first?.settings(as: PeriodicSpec.self) else { return }
            #expect(periodic.schedule == .interval(.seconds(5)))
        }
    }

    @Test func envFileErrorsPointIntoTheEnvFile() throws {
        try TemporaryDirectory.with { directory in
            try directory.write(".env", "GOOD=1\nBAD KEY=2\n")
            let file = try directory.write("daemons.yaml", "env_file: .env\ndaemons: {}\n")
            do {
                _ = try ManifestLoader(file: file, kinds: .builtIn, environment: [:]).load()
                Issue.record("expected an error")
            } catch let failure as ManifestErrors {
                let error = try #require(failure.errors.first)
                #expect(error.code == .envFile)
                #expect(error.origin?.position?.line == 2)
                #expect(error.description.contains(".env:2:"))
            }
            let missing = try directory.write("other.yaml", "env_file: missing.env\ndaemons: {}\n")
            #expect(throws: ManifestErrors.self) {
                try ManifestLoader(file: missing, kinds: .builtIn, environment: [:]).load()
            }
        }
    }

    @Test func anOverrideCanChooseTheEnvFile() throws {
        try TemporaryDirectory.with { directory in
            try directory.write("dev.env", "INTERVAL=1m\n")
            try directory.write("ci.env", "INTERVAL=5s\n")
            let file = try directory.write(
                "daemons.yaml",
                "env_file: dev.env\ndaemons:\n  a: {kind: periodic, interval: $INTERVAL, command: x}\n"
            )
            let loaded = try ManifestLoader(
                file: file,
                kinds: .builtIn,
                environment: ["ORCHESTRATE__ENV_FILE": "ci.env"]
            ).load()
            guard let periodic = loaded.manifest.daemons.first?.settings(as: PeriodicSpec.self) else { return }
            #expect(periodic.schedule == .interval(.seconds(5)))
        }
    }

    @Test func unsetVariablesWarnOnce() throws {
        let loaded = try load("env: {A: $MISSING, B: \"${MISSING}\"}\ndaemons: {}\n")
        #expect(loaded.warnings == ["daemons.yaml:1:10: the MISSING variable is not set; defaulting to a blank string"])
    }

    @Test(arguments: CommandVariable.allCases)
    func `a variable orchestrate sets at run time is interpolated at load, and its warning says how to pass it`(
        _ variable: CommandVariable
    ) throws {
        let name = variable.name
        let yaml = oneDaemon("job", "kind: periodic\ninterval: 1m\ncommand: 'echo $\(name) $$\(name) ${\(name)}'")
        let loaded = try load(yaml)
        guard let periodic = loaded.manifest.daemons.first?.settings(as: PeriodicSpec.self) else {
            Issue.record("not a periodic daemon")
            return
        }
        // Compose's rule is kept: the reference is gone at load time, the escaped one reaches the command.
        #expect(periodic.command == .shell("echo  $\(name) "))
        #expect(
            loaded.warnings == [
                "daemons.yaml:5:14: the \(name) variable is not set; defaulting to a blank string; \(name) is set by"
                    + " orchestrate when the command runs; write $$\(name) to pass it to the command"
            ]
        )
        // Set in the loading environment, it is used as any variable is, without a word.
        let set = try load(yaml, environment: [name: "x"])
        #expect(set.warnings.isEmpty)
    }

    @Test func orchestrateSetsEachCommandVariableUnderItsName() {
        #expect(
            Set(CommandVariable.allCases.map(\.name)) == [
                "ORCHESTRATE_DAEMON", "ORCHESTRATE_RUN", "ORCHESTRATE_ATTEMPT", "ORCHESTRATE_CHANGED_FILE",
                "ORCHESTRATE_CHANGED_COUNT", "ORCHESTRATE_RESCAN", "ORCHESTRATE_RPC_METHOD", "ORCHESTRATE_EVENT",
                "ORCHESTRATE_KIND", "ORCHESTRATE_EXIT_STATUS", "ORCHESTRATE_MESSAGE", "ORCHESTRATE_LOG_FILE",
                "ORCHESTRATE_REPLICA",
            ]
        )
        #expect(CommandVariable(name: "ORCHESTRATE_FILE") == nil)
    }

    @Test func watcherFilesAreListedRelativeToTheManifest() throws {
        try TemporaryDirectory.with { directory in
            for path in [
                "app/src/a.py", "app/src/b.txt", "app/src/pkg/c.py", "app/src/__pycache__/c.pyc", "app/src/gen/d.py",
            ] {
                try directory.write(path, "x")
            }
            try directory.write("app/src/.gitignore", "gen/\n")
            let file = try directory.write(
                "daemons.yaml",
                """
                daemons:
                  atlas:
                    kind: watcher
                    cwd: app
                    paths: [src]
                    patterns: ["**/*.py", "**/*.pyc"]
                    ignore: ["**/__pycache__/**"]
                    gitignore: true
                    command: scan
                """
            )
            let manifest = try ManifestLoader(file: file, kinds: .builtIn, environment: [:]).load().manifest
            guard let watcher = manifest.daemons.first?.settings(as: WatcherSpec.self) else { return }
            #expect(try watcher.coveredFiles(relativeTo: manifest.directory) == ["app/src/a.py", "app/src/pkg/c.py"])
        }
    }

    @Test func lookupOrder() throws {
        try TemporaryDirectory.with { directory in
            let top = try directory.write("daemons.yaml", "daemons: {}\n")
            let other = try directory.write("other.yaml", "daemons: {}\n")
            let nested = directory.url("a/b/c")
            try FileManager.default.createDirectory(atPath: nested, withIntermediateDirectories: true)
            let fromParent = try ManifestLocator(currentDirectory: nested, environment: [:]).locate(explicit: nil)
            #expect(fromParent.path == top)
            let here = try ManifestLocator(currentDirectory: directory.path, environment: [:]).locate(explicit: nil)
            #expect(here == .init(path: top, label: "daemons.yaml"))
            let fromEnvironment = try ManifestLocator(
                currentDirectory: nested,
                environment: ["ORCHESTRATE_FILE": other]
            )
            .locate(explicit: nil)
            #expect(fromEnvironment.path == other)
            let explicit = try ManifestLocator(currentDirectory: directory.path, environment: ["ORCHESTRATE_FILE": top])
                .locate(explicit: "other.yaml")
            #expect(explicit == .init(path: other, label: "other.yaml"))
            #expect(throws: ManifestLocator.NotFound.self) {
                try ManifestLocator(currentDirectory: directory.path, environment: [:]).locate(explicit: "none.yaml")
            }
        }
        try TemporaryDirectory.with { empty in
            #expect(throws: ManifestLocator.NotFound.self) {
                try ManifestLocator(currentDirectory: empty.path, environment: [:]).locate(explicit: nil)
            }
        }
    }
}
