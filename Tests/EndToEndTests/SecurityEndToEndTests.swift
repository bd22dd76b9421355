import Foundation
import OrchestrateTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension SupervisorBinaryTests {
    /// What a supervisor exposes, with the built binary (issue 7): file modes, secrets, sockets, and paths of other
    /// manifests that climb into its state folder.
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

        @Test func anotherManifestCannotReachIntoTheStateFolderOfARunningOne() async throws {
            try await Supervisor.withSupervisor { directory in
                let state = directory.url(".orchestrate")
                #expect(
                    try String(contentsOfFile: state + "/owner", encoding: .utf8)
                        == directory.url("daemons.yaml") + "\n"
                )
                let other = try TemporaryDirectory(prefix: "e2e-other")
                defer { other.remove() }
                // Both folders are in the same temporary folder: `..` climbs from one into the other.
                let climb = "../\((directory.path as NSString).lastPathComponent)/.orchestrate"
                try other.write(
                    "daemons.yaml",
                    """
                    state_dir: \(climb)
                    daemons:
                      api: {kind: rpc, listen: "unix:\(climb)/api.sock"}
                    """
                )
                for command in [["validate"], ["up", "-d"]] {
                    let result = try await E2E.run(command, in: other.path)
                    #expect(result.status == 2, "\(command): \(result.stderr)")
                    #expect(result.stderr.contains("state_dir: \(climb) is in "), "\(result.stderr)")
                    #expect(result.stderr.contains("the state folder of another manifest"), "\(result.stderr)")
                    #expect(result.stderr.contains("daemons.api.listen: unix:\(climb)/api.sock is in "))
                }
                // The running supervisor is untouched: its folder holds nothing of the other manifest's.
                #expect(try await Supervisor.status(directory)["tick"] != nil)
                #expect(!FileManager.default.fileExists(atPath: state + "/api.sock"))
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
                let wrong = try await APIClient.send("GET", "/methods", to: .rpc(listen, key: "nope"))
                #expect(wrong.status == 401)
                let right = try await APIClient.send(
                    "POST",
                    "/rpc",
                    to: .rpc(listen, key: key),
                    body: #"{"jsonrpc":"2.0","id":1,"method":"echo","params":{"a":1}}"#
                )
                #expect(right.text.contains(#""result""#), "\(right.text)")

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

        /// A live socket outside any state folder (where the manifest check cannot tell): here another supervisor's
        /// rpc daemon's. The check at bind time refuses it.
        @Test func anRPCDaemonCannotTakeOverALiveSocket() async throws {
            let holder = """
                daemons:
                  holder: {kind: rpc, listen: "unix:shared.sock"}
                """
            try await Supervisor.withSupervisor(holder) { first in
                let victim = first.url("shared.sock")
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
                    // Both supervisors still answer on their own sockets, and the holder on its socket.
                    #expect(try await Supervisor.status(first)["holder"]?["state"] as? String == "running")
                    let health = try await APIClient.send("GET", "/health", to: .rpcSocket(victim))
                    #expect(health.status == 200)
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
