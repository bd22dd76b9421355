import Foundation
import OrchestrateTesting
import Testing

extension SupervisorBinaryTests {
    /// `orchestrate logs` with --since, --until, --grep, --json and --no-prefix, over rotated files.
    @Suite("Logs searched, end to end", .serialized)
    struct LogsEndToEndTests {
        typealias Supervisor = SupervisorEndToEndTests

        /// A daemon writing a line a run, and an error line on standard error every fifth, into a log rotated at 1 KiB.
        static let manifest = """
            daemons:
              chatty:
                kind: periodic
                interval: 20ms
                log: {max_size: 1KiB, keep: 50}
                command: 'echo "line $$ORCHESTRATE_RUN"; [ $$((ORCHESTRATE_RUN % 5)) = 0 ] && echo "error at $$ORCHESTRATE_RUN" >&2; true'
            """

        @Test func searchesSpanTheRotatedFilesInOrder() async throws {
            try await Supervisor.withSupervisor(Self.manifest) { directory in
                #expect(
                    await waitUntil(timeout: .seconds(20)) {
                        guard FileManager.default.fileExists(atPath: directory.url(".orchestrate/logs/chatty.log.2"))
                        else { return false }
                        let runs = (try? await Supervisor.status(directory)["chatty"]?["runs"] as? Int) ?? 0
                        return runs >= 40
                    }
                )
                _ = try await E2E.run(["stop", "chatty"], in: directory.path)

                // Every error line, from the oldest rotated file on, in order.
                let errors = try await E2E.run(["logs", "chatty", "--grep", "^error at"], in: directory.path)
                #expect(errors.status == 0, "\(errors.stderr)")
                let numbers = errors.stdout.split(separator: "\n").compactMap { Int($0.split(separator: " ").last!) }
                #expect(numbers.count >= 8)
                #expect(numbers == Array(stride(from: 5, through: numbers.count * 5, by: 5)))
                #expect(errors.stdout.split(separator: "\n").allSatisfy { $0.hasPrefix("chatty | ") })

                let lines = try await E2E.run(["logs", "chatty", "--since", "1h", "--no-prefix"], in: directory.path)
                let runs = lines.stdout.split(separator: "\n").filter { $0.contains(" line ") }
                #expect(runs.first?.hasSuffix(" line 1") == true, "the first run, in the oldest rotated file")
                #expect(runs.allSatisfy { $0.first?.isNumber == true })

                let json = try await E2E.run(
                    ["logs", "chatty", "--grep", "error at 5$", "--json"],
                    in: directory.path
                )
                let object = try E2E.jsonObject(json.stdout)
                #expect(object["daemon"] as? String == "chatty")
                #expect(object["line"] as? String == "error at 5")
                #expect(object["stream"] as? String == "output")
                #expect((object["time"] as? String)?.hasSuffix("Z") == true)

                let last = try await E2E.run(["logs", "chatty", "--grep", "^error", "-n", "2"], in: directory.path)
                #expect(last.stdout.split(separator: "\n").count == 2)

                let past = try await E2E.run(
                    ["logs", "--since", "2020-01-01T00:00:00Z", "--until", "2020-01-02T00:00:00Z"],
                    in: directory.path
                )
                #expect(past.status == 0 && past.stdout.isEmpty)
                let notes = try await E2E.run(
                    ["logs", "chatty", "--grep", "run 1 started", "--json"],
                    in: directory.path
                )
                #expect(try E2E.jsonObject(notes.stdout)["stream"] as? String == "orchestrate")

                let badTime = try await E2E.run(["logs", "--since", "yesterday"], in: directory.path)
                #expect(badTime.status == 2)
                #expect(badTime.stderr.contains("--since 'yesterday' is neither a duration"))
                let badPattern = try await E2E.run(["logs", "--grep", "("], in: directory.path)
                #expect(badPattern.status == 2)
                #expect(badPattern.stderr.contains("is not a valid regular expression"))
            }
        }
    }
}
