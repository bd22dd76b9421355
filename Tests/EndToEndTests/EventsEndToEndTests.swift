import Foundation
import OrchestrateTesting
import Testing

extension SupervisorBinaryTests {
    /// `orchestrate events` and `GET /v1/events`'s query with the built binary: the kept events, one daemon's,
    /// since a time, as JSON lines, followed until the supervisor stops, and the refusals.
    @Suite("Events, end to end", .serialized)
    struct EventsEndToEndTests {
        typealias Supervisor = SupervisorEndToEndTests

        static let manifest = """
            reload: manual
            daemons:
              tick:
                kind: periodic
                interval: 1h
                command: ["true"]
              bad:
                kind: periodic
                interval: 1h
                command: ["sh", "-c", "exit 4"]
            """

        @Test func keptFilteredAsJSONAndFollowed() async throws {
            try await Supervisor.withSupervisor(Self.manifest) { directory in
                let before = Date()
                #expect(try await E2E.run(["trigger", "tick", "--wait"], in: directory.path).status == 0)
                #expect(try await E2E.run(["trigger", "bad", "--wait"], in: directory.path).status == 4)
                // A follower from before the runs: it replays them, then follows until `down` ends its stream.
                async let followed = E2E.run(
                    ["events", "-f", "--json", "--since", Self.iso(before), "tick"],
                    in: directory.path
                )

                let all = try await E2E.run(["events"], in: directory.path)
                #expect(all.status == 0, "\(all.stderr)")
                let lines = all.stdout.split(separator: "\n").map(String.init)
                #expect(lines.contains { $0.contains("supervisor    starting (pid ") })
                #expect(lines.contains { $0.contains("  tick") && $0.contains("run.finished  run exited 0 after ") })
                #expect(lines.contains { $0.contains("  bad ") && $0.contains("run.finished  run exited 4 after ") })
                #expect(lines.contains { $0.contains("  bad ") && $0.contains("state         idle -> running") })
                #expect(lines.allSatisfy { $0.hasPrefix("20") && $0.dropFirst(23).hasPrefix("Z  ") }, "\(all.stdout)")

                // One daemon's, as JSON lines: {"id", "time", "event", "daemon", "data"}.
                let json = try await E2E.run(["events", "bad", "--json", "--since", "1h"], in: directory.path)
                #expect(json.status == 0, "\(json.stderr)")
                let objects = try json.stdout.split(separator: "\n").map { try E2E.jsonObject(String($0)) }
                #expect(!objects.isEmpty)
                #expect(objects.allSatisfy { $0["daemon"] as? String == "bad" && $0["id"] as? Int != nil })
                #expect(objects.allSatisfy { Set($0.keys) == ["id", "time", "event", "daemon", "data"] })
                let finished = try #require(objects.last { $0["event"] as? String == "run.finished" })
                #expect((finished["data"] as? [String: Any])?["exit_code"] as? Int == 4)

                // Nothing since a time to come; refusals.
                let future = Self.iso(Date().addingTimeInterval(3_600))
                let none = try await E2E.run(["events", "--since", future], in: directory.path)
                #expect(none.status == 0 && none.stdout.isEmpty, "\(none.stdout)\(none.stderr)")
                let badSince = try await E2E.run(["events", "--since", "yesterday"], in: directory.path)
                #expect(badSince.status == 2)
                #expect(badSince.stderr.contains("--since 'yesterday' is neither a duration"))
                let unknown = try await E2E.run(["events", "tik"], in: directory.path)
                #expect(unknown.status == 2)
                #expect(unknown.stderr.contains("no daemon named 'tik'; did you mean 'tick'?"))

                // A refused reload is an event too, with its errors.
                try directory.write("daemons.yaml", Self.manifest + "\n  broken: {kind: periodic}\n")
                #expect(try await E2E.run(["reload"], in: directory.path).status != 0)
                let reloads = try await E2E.run(["events", "--since", "1m"], in: directory.path)
                #expect(reloads.stdout.contains("reload        not applied (api); the daemons run the last valid"))
                #expect(reloads.stdout.contains("/daemons.yaml:11:11: daemons.broken: missing key 'command'"))

                // The API: JSON lines without following, and a refused query.
                let socket = APIServer.controlSocket(directory.url(".orchestrate/orchestrate.sock"))
                let kept = try await APIClient.send(
                    "GET",
                    "/v1/events?format=jsonl&follow=false&records=false&daemon=tick",
                    to: socket
                )
                #expect(kept.status == 200)
                #expect(kept.contentType == "application/x-ndjson")
                #expect(kept.text.contains(#""event":"run.finished""#))
                let refused = try await APIClient.send("GET", "/v1/events?since=soon", to: socket)
                #expect(refused.status == 400)

                #expect(try await E2E.run(["down"], in: directory.path).status == 0)
                let follower = try await followed
                #expect(follower.status == 0, "\(follower.stderr)")
                let events = try follower.stdout.split(separator: "\n").map { try E2E.jsonObject(String($0)) }
                #expect(events.contains { $0["event"] as? String == "run.finished" })
                #expect(events.allSatisfy { $0["daemon"] as? String == "tick" })
                #expect(events.contains { ($0["data"] as? [String: Any])?["state"] as? String == "stopping" })
            }
        }

        static func iso(_ date: Date) -> String {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            return formatter.string(from: date)
        }
    }
}
