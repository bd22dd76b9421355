import Foundation
import OrchestrateTesting
import Testing

extension SupervisorBinaryTests {
    /// `replicas: N` and `orchestrate scale`: copies with their own number, readiness and processes; scaling and saves
    /// start or stop only the difference; commands naming the daemon reach every copy.
    @Suite("Replicas, end to end", .serialized)
    struct ReplicasEndToEndTests {
        typealias Supervisor = SupervisorEndToEndTests
        typealias Reload = ReloadEndToEndTests

        static func manifest(replicas: Int, clientVersion: String = "1") -> String {
            """
            daemons:
              web:
                kind: process
                replicas: \(replicas)
                command: 'echo "$$ORCHESTRATE_REPLICA $$ORCHESTRATE_DAEMON" > web-$$ORCHESTRATE_REPLICA.txt; exec sleep 300'
                ready: {exec: 'test -f web-$$ORCHESTRATE_REPLICA.txt', period: 50ms}
              client:
                kind: process
                command: [sleep, '301']
                env: {VERSION: '\(clientVersion)'}
                depends_on: [web]
            """
        }

        /// The PIDs of each daemon, by name.
        static func pids(_ directory: TemporaryDirectory) async throws -> [String: [Int]] {
            try await Supervisor.status(directory).mapValues { $0["pids"] as? [Int] ?? [] }
        }

        @Test func copiesRunScaleAndFollowSavesOnlyByTheDifference() async throws {
            try await Supervisor.withSupervisor(Self.manifest(replicas: 2)) { directory in
                // Each copy has its number; the dependent waited for both copies to be ready.
                #expect(Supervisor.lines(directory, "web-1.txt") == ["1 web#1"])
                #expect(Supervisor.lines(directory, "web-2.txt") == ["2 web#2"])
                let first = try await Self.pids(directory)
                #expect(first.keys.sorted() == ["client", "web#1", "web#2"])
                #expect(first.values.allSatisfy { $0.count == 1 })

                let up = try await E2E.run(["scale", "web", "4"], in: directory.path)
                #expect(up.status == 0, "\(up.stderr)")
                #expect(up.stdout.hasPrefix("+ web#3\n+ web#4\n"), "\(up.stdout)")
                #expect(await waitUntil { Supervisor.lines(directory, "web-4.txt") == ["4 web#4"] })
                let scaled = try await Self.pids(directory)
                for name in ["web#1", "web#2", "client"] { #expect(scaled[name] == first[name], "\(name) untouched") }
                // `--ready` of the daemon: every copy ready (web#3 and web#4 pass their probes shortly).
                #expect(
                    await waitUntil {
                        (try? await E2E.run(["status", "web", "--ready"], in: directory.path))?.status == 0
                    }
                )
                let table = try await E2E.run(["status", "web"], in: directory.path)
                #expect(table.stdout.contains("web#4"))
                #expect(!table.stdout.contains("client"))
                #expect(table.stdout.contains("last reload now (scale): applied, 2 added"), "\(table.stdout)")
                let json = try await E2E.run(["status", "web", "--json"], in: directory.path)
                let records = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
                #expect(records?.compactMap { $0["name"] as? String } == ["web#1", "web#2", "web#3", "web#4"])

                // A save that changes something else keeps the scale; a new `replicas` in the file wins.
                try Reload.saveByRename(directory, Self.manifest(replicas: 2, clientVersion: "2"))
                #expect(await waitUntil { await Reload.restarted(directory, "client", from: first["client"] ?? []) })
                let kept = try await Self.pids(directory)
                #expect(kept.keys.filter { $0.hasPrefix("web#") }.count == 4)
                for name in ["web#1", "web#2", "web#3", "web#4"] { #expect(kept[name] == scaled[name]) }
                try Reload.saveByRename(directory, Self.manifest(replicas: 3, clientVersion: "2"))
                #expect(await waitUntil { (try? await Self.pids(directory))?["web#4"] == nil })
                let saved = try await Self.pids(directory)
                for name in ["web#1", "web#2", "web#3", "client"] { #expect(saved[name] == kept[name], "\(name)") }

                // Scaling down stops the highest copies only.
                let down = try await E2E.run(["scale", "web", "1"], in: directory.path)
                #expect(down.stdout.hasPrefix("- web#2\n- web#3\n"), "\(down.stdout)")
                #expect(try await Self.pids(directory)["web#1"] == saved["web#1"])
                #expect(try await Self.pids(directory)["web#2"] == nil)

                // Refusals: a count out of range, a copy's name, a kind without replicas' name, an unknown daemon.
                let zero = try await E2E.run(["scale", "web", "0"], in: directory.path)
                #expect(zero.status == 2)
                #expect(zero.stderr.contains("replicas must be from 1 to 1000, not 0"), "\(zero.stderr)")
                let copy = try await E2E.run(["scale", "web#1", "2"], in: directory.path)
                #expect(copy.status == 1)
                #expect(copy.stderr.contains("'web#1' is one copy of 'web': scale 'web'"), "\(copy.stderr)")
                let unknown = try await E2E.run(["scale", "wbe", "2"], in: directory.path)
                #expect(unknown.status == 2)
            }
        }

        @Test func commandsNamingTheDaemonReachEveryCopy() async throws {
            try await Supervisor.withSupervisor(Self.manifest(replicas: 3)) { directory in
                let before = try await Self.pids(directory)
                let restart = try await E2E.run(["restart", "web"], in: directory.path)
                #expect(restart.status == 0, "\(restart.stderr)")
                #expect(restart.stdout.split(separator: "\n").map { $0.prefix(6) } == ["web#1:", "web#2:", "web#3:"])
                #expect(
                    await waitUntil {
                        guard let now = try? await Self.pids(directory) else { return false }
                        return ["web#1", "web#2", "web#3"].allSatisfy { now[$0]?.count == 1 && now[$0] != before[$0] }
                    }
                )
                let one = try await E2E.run(["stop", "web#2"], in: directory.path)
                #expect(one.stdout.split(separator: "\n").map { $0.prefix(6) } == ["web#2:"], "\(one.stdout)")
                let logs = try await E2E.run(["logs", "web", "-n", "100", "--grep", "started"], in: directory.path)
                let prefixes = Set(logs.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").first })
                #expect(prefixes == ["web#1", "web#2", "web#3"], "\(logs.stdout)")
                let events = try await E2E.run(["events", "web", "--since", "1m", "--json"], in: directory.path)
                let named = Set(
                    events.stdout.split(separator: "\n").compactMap { line in
                        (try? E2E.jsonObject(String(line)))?["daemon"] as? String
                    }
                )
                #expect(named == ["web#1", "web#2", "web#3"], "\(events.stdout.prefix(400))")
                let misspelt = try await E2E.run(["logs", "wbe"], in: directory.path)
                #expect(misspelt.status == 2)
                #expect(misspelt.stderr.contains("no daemon named 'wbe'; did you mean 'web'?"), "\(misspelt.stderr)")
                let copy = try await E2E.run(["logs", "web#3", "-n", "5"], in: directory.path)
                #expect(copy.status == 0)
                #expect(copy.stdout.split(separator: "\n").allSatisfy { $0.hasPrefix("web#3 |") }, "\(copy.stdout)")
            }
        }

        /// The copies share one watch of their files: a change restarts each of them, and a scale keeps the watch.
        @Test func aChangeToWatchedFilesRestartsEveryCopy() async throws {
            let manifest = """
                daemons:
                  web:
                    kind: process
                    replicas: 2
                    command: [sleep, '300']
                    watch: {paths: [src], debounce: 50ms}
                """
            try await Supervisor.withSupervisor(manifest) { directory in
                _ = try await E2E.run(["scale", "web", "3"], in: directory.path)
                #expect(await waitUntil { (try? await Self.pids(directory))?["web#3"]?.count == 1 })
                let before = try await Self.pids(directory)
                try directory.write("src/app.py", "print('hi')\n")
                #expect(
                    await waitUntil {
                        guard let now = try? await Self.pids(directory) else { return false }
                        return ["web#1", "web#2", "web#3"].allSatisfy { now[$0]?.count == 1 && now[$0] != before[$0] }
                    }
                )
                let status = try await Supervisor.status(directory)
                let health = status["web#3"]?["health"] as? [String: String]
                #expect(health?["restart_reason"] == "1 file changed: src/app.py", "\(String(describing: health))")
            }
        }
    }
}
