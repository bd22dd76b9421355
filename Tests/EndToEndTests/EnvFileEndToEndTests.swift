import Foundation
import OrchestrateTesting
import Testing

extension SupervisorBinaryTests {
    /// `env_file` on a daemon: its variables between the top-level env and the daemon's own, and a save of one
    /// restarting exactly the daemons that use it.
    @Suite("A daemon's env_file, end to end", .serialized)
    struct EnvFileEndToEndTests {
        typealias Supervisor = SupervisorEndToEndTests

        static let manifest = """
            env: {COLOR: grey, SIZE: small}
            daemons:
              a:
                kind: process
                env_file: .env.a
                env: {SIZE: large}
                command: 'echo "$$COLOR/$$SIZE/$$GREETING" > a.txt; exec sleep 300'
              b:
                kind: process
                env_file: [.env.a, .env.b]
                command: 'echo "$$COLOR/$$SIZE/$$GREETING" > b.txt; exec sleep 300'
              c:
                kind: process
                command: 'echo "$$COLOR/$$SIZE/$$GREETING" > c.txt; exec sleep 300'
            """

        @Test func itsVariablesComeBetweenTheTopLevelAndItsOwnAndASaveRestartsItsUsers() async throws {
            let files = [".env.a": "COLOR=red\nSIZE=tiny\nGREETING=hello\n", ".env.b": "GREETING=bonjour\n"]
            try await Supervisor.withSupervisor(Self.manifest, files: files) { directory in
                #expect(await waitUntil { Supervisor.lines(directory, "a.txt") == ["red/large/hello"] })
                #expect(await waitUntil { Supervisor.lines(directory, "b.txt") == ["red/tiny/bonjour"] })
                #expect(await waitUntil { Supervisor.lines(directory, "c.txt") == ["grey/small/"] })
                let before = try await Supervisor.status(directory)
                let pids = { (name: String) in before[name]?["pids"] as? [Int] ?? [] }

                // .env.b is b's alone: b restarts, a and c keep their processes.
                try ReloadEndToEndTests.saveByRename(directory, Self.manifest)  // unchanged: nothing restarts
                try directory.write(".env.b", "GREETING=hallo\n")
                #expect(await waitUntil { Supervisor.lines(directory, "b.txt") == ["red/tiny/hallo"] })
                let after = try await Supervisor.status(directory)
                #expect(after["a"]?["pids"] as? [Int] == pids("a"))
                #expect(after["c"]?["pids"] as? [Int] == pids("c"))
                #expect(after["b"]?["pids"] as? [Int] != pids("b"))

                // A file that cannot be read refuses the reload; everything keeps running.
                try directory.write(".env.a", "NOT VALID\n")
                let reload = try await E2E.run(["reload"], in: directory.path)
                #expect(reload.status == 2)
                #expect(reload.stderr.contains("env_file .env.a:1:"), "\(reload.stderr)")
                #expect(try await Supervisor.status(directory)["a"]?["pids"] as? [Int] == pids("a"))
            }
        }

        @Test func aMissingFileIsAnErrorOfTheDaemon() async throws {
            try await E2E.withManifest("daemons:\n  a: {kind: process, command: x, env_file: nowhere.env}\n") {
                directory in
                let result = try await E2E.run(["validate"], in: directory.path)
                #expect(result.status == 2)
                #expect(result.stderr.contains("daemons.a: env_file 'nowhere.env' cannot be read"), "\(result.stderr)")
            }
        }
    }
}
