import Foundation
import OrchestrateTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension SupervisorBinaryTests {
    /// `orchestrate ls`, `down --all`, and the commands reaching a supervisor whose manifest a branch switch removed.
    /// Each test has a runtime folder of its own (XDG_RUNTIME_DIR), so it sees its own supervisors alone.
    @Suite("Every supervisor of the user, end to end", .serialized)
    struct ListEndToEndTests {
        typealias Supervisor = SupervisorEndToEndTests

        static let manifest = """
            daemons:
              tick:
                kind: periodic
                interval: 100ms
                command: ["sh", "-c", "echo tick $$ORCHESTRATE_RUN"]
              web:
                kind: process
                command: ["sleep", "300"]
            """

        /// Runs `body` with two project folders and a private runtime folder, and stops what is left by PID.
        static func withProjects(
            _ body: (TemporaryDirectory, TemporaryDirectory, [String: String]) async throws -> Void
        ) async throws {
            let runtime = try TemporaryDirectory(prefix: "e2e-runtime")
            let first = try TemporaryDirectory(prefix: "e2e-ls")
            let second = try TemporaryDirectory(prefix: "e2e-ls")
            defer {
                for directory in [first, second] {
                    if let pid = Supervisor.lockHolder(directory) { kill(pid, SIGKILL) }
                    directory.remove()
                }
                runtime.remove()
            }
            chmod(runtime.path, 0o700)
            try first.write("daemons.yaml", manifest)
            try second.write("daemons.yaml", manifest)
            try await body(first, second, ["XDG_RUNTIME_DIR": runtime.path])
        }

        /// Two supervisors of one manifest, each for a part of it with a state folder of its own (as the units of
        /// `export systemd` run them): both are listed, and `down --all` stops both.
        @Test func everySupervisorOfOneManifestIsListed() async throws {
            try await Self.withProjects { first, _, environment in
                var folders: [String] = []
                defer {
                    for folder in folders {
                        let pid = (try? String(contentsOfFile: folder + "/orchestrate.pid", encoding: .utf8))
                            .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
                        if let pid, pid > 0 { kill(pid, SIGKILL) }
                    }
                }
                for name in ["tick", "web"] {
                    let folder = first.url("units/\(name)")
                    folders.append(folder)
                    let up = try await E2E.run(
                        ["up", "-d", "--only", name, "--no-deps"],
                        in: first.path,
                        environment: environment.merging(["ORCHESTRATE__STATE_DIR": folder]) { _, new in new }
                    )
                    #expect(up.status == 0, "\(up.stderr)")
                }
                let json = try await E2E.run(["ls", "--json"], in: "/", environment: environment)
                let listed = try #require(
                    try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
                )
                #expect(Set(listed.compactMap { $0["state_dir"] as? String }) == Set(folders), "\(json.stdout)")
                let down = try await E2E.run(["down", "--all"], in: "/", environment: environment)
                #expect(down.status == 0, "\(down.stderr)")
                #expect(down.stdout.split(separator: "\n").count == 2, "\(down.stdout)")
                let none = try await E2E.run(["ls", "--json"], in: "/", environment: environment)
                #expect(none.stdout == "[\n\n]\n" || none.stdout == "[]\n", "\(none.stdout)")
            }
        }

        @Test func lsListsEverySupervisorAndDownAllStopsThem() async throws {
            try await Self.withProjects { first, second, environment in
                for directory in [first, second] {
                    let up = try await E2E.run(["up", "-d", "--wait"], in: directory.path, environment: environment)
                    #expect(up.status == 0, "\(up.stderr)")
                }
                // One project's manifest is gone: its supervisor is listed still.
                try FileManager.default.removeItem(atPath: second.url("daemons.yaml"))
                let json = try await E2E.run(["ls", "--json"], in: "/", environment: environment)
                #expect(json.status == 0, "\(json.stderr)")
                let listed = try #require(
                    try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
                )
                #expect(
                    Set(listed.compactMap { $0["manifest"] as? String })
                        == [first.url("daemons.yaml"), second.url("daemons.yaml")]
                )
                for entry in listed {
                    #expect(entry["daemons"] as? Int == 2)
                    #expect(((entry["states"] as? [String: Int])?["running"] ?? 0) >= 1, "\(entry)")
                    #expect(entry["pid"] as? Int != nil)
                    #expect(entry["state_dir"] as? String != nil)
                }
                let table = try await E2E.run(["ls"], in: "/", environment: environment)
                let lines = table.stdout.split(separator: "\n")
                #expect(lines.first?.hasPrefix("MANIFEST") == true)
                #expect(lines.contains { $0.hasPrefix(second.url("daemons.yaml") + " (file gone)") })
                #expect(lines.count == 3)

                let down = try await E2E.run(["down", "--all"], in: "/", environment: environment)
                #expect(down.status == 0, "\(down.stderr)")
                #expect(down.stdout.split(separator: "\n").count == 2)
                // "stopped" is said once the lock is let go; the process itself ends a moment later.
                #expect(await waitUntil { Supervisor.lockHolder(first) == nil && Supervisor.lockHolder(second) == nil })
                let none = try await E2E.run(["ls", "--json"], in: "/", environment: environment)
                #expect(none.stdout == "[\n\n]\n" || none.stdout == "[]\n", "\(none.stdout)")
            }
        }

        @Test func aSupervisorWhoseManifestIsGoneIsReachedByItsPath() async throws {
            try await Self.withProjects { project, _, environment in
                let up = try await E2E.run(["up", "-d", "--wait"], in: project.path, environment: environment)
                #expect(up.status == 0, "\(up.stderr)")
                let saved = try String(contentsOfFile: project.url("daemons.yaml"), encoding: .utf8)
                try FileManager.default.removeItem(atPath: project.url("daemons.yaml"))
                try FileManager.default.createDirectory(atPath: project.url("src"), withIntermediateDirectories: true)

                for folder in [project.path, project.url("src")] {
                    let status = try await E2E.run(["status"], in: folder, environment: environment)
                    #expect(status.status == 0, "\(status.stderr)")
                    #expect(status.stdout.contains("web"))
                }
                #expect(
                    await waitUntil {
                        let logs = try? await E2E.run(
                            ["logs", "tick", "-n", "1"],
                            in: project.path,
                            environment: environment
                        )
                        return logs?.status == 0 && logs?.stdout.hasPrefix("tick | ") == true
                    }
                )
                let reload = try await E2E.run(["reload"], in: project.path, environment: environment)
                #expect(reload.status == 2)
                #expect(reload.stderr.contains("daemons.yaml does not exist"))

                // The file back, and saved: the save reloads as usual.
                try project.write("daemons.yaml", saved.replacingOccurrences(of: "300", with: "301"))
                #expect(
                    await waitUntil {
                        let status = try? await E2E.run(
                            ["status", "--json"],
                            in: project.path,
                            environment: environment
                        )
                        return status?.stdout.contains("\"changed\":[\"web\"]") == true
                    }
                )
                let down = try await E2E.run(["down"], in: project.url("src"), environment: environment)
                #expect(down.status == 0, "\(down.stderr)")
            }
        }
    }
}
