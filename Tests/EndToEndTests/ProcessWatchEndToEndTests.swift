import Foundation
import OrchestrateTesting
import Testing

extension SupervisorBinaryTests {
    /// A process daemon's `watch`: a matching change restarts it gracefully, with the daemons that follow it, and
    /// nothing else; `status` and the events say why.
    @Suite("Restart on change, end to end", .serialized)
    struct ProcessWatchEndToEndTests {
        typealias Supervisor = SupervisorEndToEndTests

        static let manifest = """
            daemons:
              app:
                kind: process
                command: 'echo started >> app.txt; exec sleep 300'
                watch: {paths: [src], patterns: ["**/*.py"], ignore: ["skip/**"], debounce: 50ms}
              follower:
                kind: process
                command: 'echo started >> follower.txt; exec sleep 300'
                depends_on: [app]
                restart_with_dependencies: true
              other:
                kind: process
                command: 'echo started >> other.txt; exec sleep 300'
            """

        @Test func aMatchingChangeRestartsTheProcessAndItsFollowersOnly() async throws {
            try await Supervisor.withSupervisor(Self.manifest) { directory in
                try FileManager.default.createDirectory(
                    atPath: directory.url("src/skip"),
                    withIntermediateDirectories: true
                )
                #expect(await waitUntil { Supervisor.lines(directory, "other.txt").count == 1 })
                #expect(await waitUntil { Supervisor.lines(directory, "follower.txt").count == 1 })
                let before = try await Supervisor.status(directory)

                // Files the watch leaves out restart nothing; they go first, so a wrong restart would show below.
                try directory.write("src/notes.txt", "x")
                try directory.write("src/skip/a.py", "x")
                // Several matching files at once: one restart.
                for name in ["a", "b", "c", "d"] { try directory.write("src/\(name).py", "x") }
                #expect(await waitUntil { Supervisor.lines(directory, "app.txt").count == 2 })
                #expect(await waitUntil { Supervisor.lines(directory, "follower.txt").count == 2 })
                let after = try await Supervisor.status(directory)
                #expect(after["other"]?["pids"] as? [Int] == before["other"]?["pids"] as? [Int])
                #expect(after["app"]?["pids"] as? [Int] != before["app"]?["pids"] as? [Int])
                let health = try #require(after["app"]?["health"] as? [String: String])
                #expect(health["restart_reason"] == "4 files changed: src/a.py, src/b.py, src/c.py, …")

                let events = try await E2E.run(["events", "app", "--since", "1m", "--json"], in: directory.path)
                let restarts = events.stdout.split(separator: "\n").filter { $0.contains(#""event":"restart""#) }
                #expect(restarts.count == 1, "\(events.stdout)")
                let restart = try E2E.jsonObject(String(try #require(restarts.first)))
                #expect((restart["data"] as? [String: Any])?["text"] as? String == health["restart_reason"])
                #expect(Supervisor.lines(directory, "app.txt").count == 2, "one restart for the four files")

            }
        }
    }
}
