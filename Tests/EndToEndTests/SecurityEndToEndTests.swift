import Foundation
import OrchestrateTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension SupervisorBinaryTests {
    /// What a supervisor exposes, with the built binary (issue 7): file modes, secrets, sockets.
    @Suite("Security, end to end", .serialized)
    struct SecurityEndToEndTests {
        typealias Supervisor = SupervisorEndToEndTests

        static func mode(_ path: String) -> mode_t? {
            var info = stat()
            return lstat(path, &info) == 0 ? info.st_mode & 0o777 : nil
        }

        @Test func theSocketTheLogsAndTheStateFolderAreTheUsersOnly() async throws {
            try await Supervisor.withSupervisor { directory in
                let state = directory.url(".orchestrate")
                #expect(Self.mode(state) == 0o700)
                #expect(Self.mode(state + "/orchestrate.sock") == 0o600)
                #expect(Self.mode(state + "/logs") == 0o700)
                let logs = try FileManager.default.contentsOfDirectory(atPath: state + "/logs")
                #expect(logs.contains("tick.log"))
                for log in logs where log.hasSuffix(".log") {
                    #expect(Self.mode(state + "/logs/" + log) == 0o600, "\(log)")
                }
            }
        }

        @Test func theAPIKeyIsNeverShownInConfigStatusOrLogs() async throws {
            let key = "k3y-that-must-not-leak-\(UInt32.random(in: 0...UInt32.max))"
            let manifest = """
                daemons:
                  core:
                    kind: rpc
                    listen: 127.0.0.1:0
                    auth: {api_key_env: CORE_API_KEY}
                    methods:
                      echo: {command: [cat], timeout: 2s}
                """
            try await Supervisor.withSupervisor(manifest, environment: ["CORE_API_KEY": key]) { directory in
                let status = try await Supervisor.status(directory)
                let listen = try #require((status["core"]?["health"] as? [String: String])?["listen"])
                // A wrong key is refused, the right one works: the key is in use.
                let wrong = try TestProcess.run(
                    [
                        "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Authorization: Bearer nope",
                        "http://\(listen)/methods",
                    ]
                )
                #expect(wrong.stdout == "401")
                let right = try TestProcess.run(
                    [
                        "curl", "-s", "-H", "Authorization: Bearer \(key)", "-d",
                        #"{"jsonrpc":"2.0","id":1,"method":"echo","params":{"a":1}}"#, "http://\(listen)/rpc",
                    ]
                )
                #expect(right.stdout.contains(#""result""#), "\(right.stdout)")

                var shown: [String] = []
                for arguments in [["config"], ["config", "--json"], ["status"], ["status", "--json"], ["logs"]] {
                    let result = try await E2E.run(arguments, in: directory.path, environment: ["CORE_API_KEY": key])
                    #expect(result.status == 0, "\(arguments): \(result.stderr)")
                    shown.append(result.stdout + result.stderr)
                }
                let logs = directory.url(".orchestrate/logs")
                for file in try FileManager.default.contentsOfDirectory(atPath: logs) {
                    shown.append((try? String(contentsOfFile: logs + "/" + file, encoding: .utf8)) ?? "")
                }
                for text in shown { #expect(!text.contains(key)) }
                // `config` names the variable, not its value.
                #expect(shown[0].contains("api_key_env: CORE_API_KEY"))
            }
        }

        @Test func anRPCDaemonCannotTakeOverAnotherSupervisorsSocket() async throws {
            try await Supervisor.withSupervisor { first in
                let victim = first.url(".orchestrate/orchestrate.sock")
                let manifest = """
                    daemons:
                      thief:
                        kind: rpc
                        listen: unix:\(victim)
                        restart: {policy: never}
                    """
                try await Supervisor.withSupervisor(manifest, notReady: ["thief"]) { second in
                    let status = try await Supervisor.status(second)
                    for name in ["thief"] {
                        #expect(status[name]?["state"] as? String == "failed")
                        let error = try #require(status[name]?["last_error"] as? String)
                        #expect(error.contains("is in use: another server answers there"), "\(error)")
                    }
                    // Both supervisors still answer on their own sockets.
                    #expect(try await Supervisor.status(first)["tick"] != nil)
                    #expect(Self.mode(victim) == 0o600)
                }
            }
        }

        @Test func anRPCDaemonOnAPublicAddressWithoutAKeyIsRefused() async throws {
            try await E2E.withManifest("daemons:\n  core: {kind: rpc, listen: '0.0.0.0:8420'}\n") { directory in
                let result = try await E2E.run(["validate"], in: directory.path)
                #expect(result.status == 2)
                #expect(
                    result.stderr.contains("listening on 0.0.0.0:8420, which is not loopback, needs auth.api_key_env")
                )
            }
        }
    }
}
