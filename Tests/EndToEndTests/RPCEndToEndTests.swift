import Foundation
import OrchestrateTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension SupervisorBinaryTests {
    /// The rpc kind with the built binary and real clients (`curl` over TCP and a Unix socket, raw sockets).
    @Suite("The rpc kind, end to end", .serialized)
    struct RPCEndToEndTests {
        typealias Supervisor = SupervisorEndToEndTests

        static func manifest(listen: String = "127.0.0.1:0", auth: String = "", extra: String = "") -> String {
            """
            daemons:
              core:
                kind: rpc
                listen: "\(listen)"
            \(auth)
                max_body: 1KiB
                methods:
                  echo: {command: ["cat"], description: "Returns its params."}
                  upper: {command: "tr a-z A-Z"}
                  fail: {command: "echo first >&2; echo last words >&2; exit 3"}
                  slow: {command: ["sleep", "30"], timeout: 200ms}
              tick:
                kind: periodic
                interval: 1h
                command: ["sh", "-c", "exit 4"]
            \(extra)
            """
        }

        /// Runs `body` with a supervisor serving `manifest`, given the rpc daemon's base URL once it listens.
        static func withRPC(
            _ manifest: String = manifest(),
            environment: [String: String] = [:],
            _ body: (TemporaryDirectory, String) async throws -> Void
        ) async throws {
            try await Supervisor.withSupervisor(manifest, environment: environment) { directory in
                #expect(await waitUntil { await listen(directory) != nil })
                let address = try #require(await listen(directory))
                try await body(directory, "http://" + address)
            }
        }

        /// The address the rpc daemon `core` listens on, from its health in `status`.
        static func listen(_ directory: TemporaryDirectory) async -> String? {
            ((try? await Supervisor.status(directory)["core"]?["health"] as? [String: Any]) ?? nil)?["listen"]
                as? String
        }

        /// `curl ARGUMENTS`, off the cooperative pool; the body, and the status code as the last line with `-w`.
        static func curl(_ arguments: [String]) async throws -> String {
            try await offPool { try TestProcess.run(["curl", "-s", "--max-time", "10"] + arguments).stdout }
        }

        static func rpc(_ url: String, _ body: String, headers: [String] = []) async throws -> Any {
            let text = try await curl(headers.flatMap { ["-H", $0] } + ["-d", body, url + "/rpc"])
            return try JSONSerialization.jsonObject(with: Data(text.utf8))
        }

        @Test func healthMethodsAndCallsOverTCP() async throws {
            try await Self.withRPC { _, url in
                let health = try E2E.jsonObject(try await Self.curl([url + "/health"]))
                #expect(health["status"] as? String == "ok")
                let daemons = try #require(health["daemons"] as? [[String: Any]])
                #expect(daemons.map { $0["name"] as? String } == ["core", "tick"])
                #expect(daemons.first?["state"] as? String == "running")

                let methods = try E2E.jsonObject(try await Self.curl([url + "/methods"]))
                let names = (methods["methods"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
                #expect(
                    names == [
                        "cache.clear", "cache.delete", "cache.get", "cache.set", "daemons.status", "daemons.trigger",
                        "echo", "events.publish", "fail", "slow", "upper",
                    ]
                )

                let echo = try #require(
                    try await Self.rpc(url, #"{"jsonrpc":"2.0","id":7,"method":"echo","params":{"a":[1,"x"]}}"#)
                        as? [String: Any]
                )
                #expect(echo["id"] as? Int == 7)
                #expect((echo["result"] as? [String: Any])?["a"] as? [AnyHashable] == [1, "x"])

                // A batch: results in order, no answer for the notification, errors for the bad elements.
                let batch = try #require(
                    try await Self.rpc(
                        url,
                        #"[{"jsonrpc":"2.0","id":1,"method":"upper","params":["abc"]},{"jsonrpc":"2.0","method":"echo"},"#
                            + #"{"jsonrpc":"2.0","id":2,"method":"nope"},{"id":3},"#
                            + #"{"jsonrpc":"2.0","id":4,"method":"daemons.trigger","params":{"name":"tick","wait":true}}]"#
                    ) as? [[String: Any]]
                )
                #expect(batch.map { $0["id"] as? Int } == [1, 2, 3, 4])
                #expect(batch[0]["result"] as? [String] == ["ABC"])
                #expect((batch[1]["error"] as? [String: Any])?["code"] as? Int == -32601)
                #expect((batch[2]["error"] as? [String: Any])?["code"] as? Int == -32600)
                #expect((batch[3]["result"] as? [String: Any])?["exit_code"] as? Int == 4)

                let parse = try #require(try await Self.rpc(url, "{nope") as? [String: Any])
                #expect((parse["error"] as? [String: Any])?["code"] as? Int == -32700)
                let notification = try await Self.curl([
                    "-o", "/dev/null", "-w", "%{http_code}", "-d", #"{"jsonrpc":"2.0","method":"echo"}"#, url + "/rpc",
                ])
                #expect(notification == "204")
            }
        }

        @Test func aFailingAndATimedOutCommandAreErrorsWithTheirStandardError() async throws {
            try await Self.withRPC { _, url in
                let failed = try #require(
                    try await Self.rpc(url, #"{"jsonrpc":"2.0","id":1,"method":"fail"}"#) as? [String: Any]
                )
                let error = try #require(failed["error"] as? [String: Any])
                #expect(error["code"] as? Int == -32001)
                let data = try #require(error["data"] as? [String: Any])
                #expect(data["exit_code"] as? Int == 3)
                #expect(data["stderr"] as? String == "first\nlast words\n")

                let clock = ContinuousClock()
                let start = clock.now
                let slow = try #require(
                    try await Self.rpc(url, #"{"jsonrpc":"2.0","id":2,"method":"slow"}"#) as? [String: Any]
                )
                #expect((slow["error"] as? [String: Any])?["code"] as? Int == -32002)
                #expect(clock.now - start < .seconds(10), "the 200 ms timeout ends it, not the 30 s sleep")
            }
        }

        @Test func theKeyGuardsEveryRouteButHealthAndBodiesAreLimited() async throws {
            let auth = "    auth: {api_key_env: CORE_KEY}"
            try await Self.withRPC(Self.manifest(auth: auth), environment: ["CORE_KEY": "s3cret"]) {
                (directory, url) async throws in
                func code(_ arguments: [String]) async throws -> String {
                    try await Self.curl(["-o", "/dev/null", "-w", "%{http_code}"] + arguments)
                }
                #expect(try await code([url + "/health"]) == "200")
                #expect(try await code([url + "/methods"]) == "401")
                #expect(try await code(["-H", "Authorization: Bearer wrong", url + "/methods"]) == "401")
                #expect(try await code(["-H", "Authorization: Bearer s3cret", url + "/methods"]) == "200")
                #expect(try await code(["-H", "X-API-Key: s3cret", url + "/methods"]) == "200")
                let call = #"{"jsonrpc":"2.0","id":1,"method":"echo"}"#
                #expect(try await code(["-d", call, url + "/rpc"]) == "401")
                let big =
                    #"{"jsonrpc":"2.0","id":1,"method":"echo","params":[""# + String(repeating: "x", count: 2_000)
                    + #""]}"#
                #expect(try await code(["-H", "X-API-Key: s3cret", "-d", big, url + "/rpc"]) == "413")
                #expect(try await code(["-H", "X-API-Key: s3cret", "-d", call, url + "/rpc"]) == "200")
                // The key is never written anywhere: not in the logs, not in `config`, not in `status`.
                let logs = try FileManager.default.contentsOfDirectory(atPath: directory.url(".orchestrate/logs"))
                for name in logs {
                    let text = try String(contentsOfFile: directory.url(".orchestrate/logs/\(name)"), encoding: .utf8)
                    #expect(!text.contains("s3cret"), "\(name)")
                }
                let config = try await E2E.run(
                    ["config", "--json"],
                    in: directory.path,
                    environment: ["CORE_KEY": "s3cret"]
                )
                #expect(config.status == 0)
                #expect(!config.stdout.contains("s3cret"))
                let status = try await E2E.run(["status", "--json"], in: directory.path)
                #expect(!status.stdout.contains("s3cret"))
            }
        }

        @Test func aClientThatStallsHalfwayDoesNotBlockOthers() async throws {
            try await Self.withRPC { _, url in
                let address = try #require(url.split(separator: ":").last.flatMap { UInt16($0) })
                // Half a request, then nothing: the connection stays open.
                let stalled = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                defer { close(stalled) }
                var peer = sockaddr_in()
                peer.sin_family = sa_family_t(AF_INET)
                peer.sin_addr.s_addr = inet_addr("127.0.0.1")
                peer.sin_port = address.bigEndian
                let connected = withUnsafePointer(to: &peer) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        connect(stalled, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
                #expect(connected == 0)
                let half = "POST /rpc HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{\"jsonrpc\""
                _ = half.withCString { write(stalled, $0, strlen($0)) }
                let clock = ContinuousClock()
                let start = clock.now
                for _ in 0..<5 {
                    let health = try E2E.jsonObject(try await Self.curl([url + "/health"]))
                    #expect(health["status"] as? String == "ok")
                }
                #expect(clock.now - start < .seconds(5), "served while the other client stalls")

                // Malformed HTTP: 400, and that connection is closed; the server goes on.
                let garbage = try await offPool { () throws -> String in
                    let text = try TestProcess.run([
                        "python3", "-c",
                        """
                        import socket
                        s = socket.create_connection(("127.0.0.1", \(address)))
                        s.sendall(b"GARBAGE / NOTHTTP\\r\\n\\r\\n")
                        s.settimeout(5)
                        data = b""
                        while True:
                            chunk = s.recv(4096)
                            if not chunk: break
                            data += chunk
                        print(data.decode().splitlines()[0])
                        """,
                    ]).stdout
                    return text
                }
                #expect(garbage == "HTTP/1.1 400 Bad Request\n")
                #expect(try E2E.jsonObject(try await Self.curl([url + "/health"]))["status"] as? String == "ok")
            }
        }

        @Test func theCacheSurvivesAReloadThatLeavesTheDaemonUnchanged() async throws {
            try await Self.withRPC { directory, url in
                _ = try await Self.curl(["-X", "PUT", "--data", "kept", url + "/cache/k"])
                try directory.write(
                    "daemons.yaml",
                    Self.manifest().replacingOccurrences(of: "interval: 1h", with: "interval: 2h")
                )
                #expect(
                    await waitUntil {
                        let plan =
                            (try? await ReloadEndToEndTests.lastReload(directory)?["plan"] as? [String: Any]) ?? nil
                        return plan?["changed"] as? [String] == ["tick"]
                    }
                )
                #expect(try await Self.curl([url + "/cache/k"]) == "kept")
            }
        }

        @Test func theEventStreamCarriesRunsOfAPeriodicDaemonAndPublishedEventsWithReplay() async throws {
            let extra = """
                  beat:
                    kind: periodic
                    interval: 150ms
                    command: ["true"]
                """
            try await Self.withRPC(Self.manifest(extra: extra)) { directory, url in
                // A streaming client, ended by PID below.
                let output = try directory.write("stream.txt", "")
                let curl = Process()
                curl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                curl.arguments = ["curl", "-sN", "--max-time", "60", url + "/events/daemon.beat.*"]
                curl.standardOutput = FileHandle(forWritingAtPath: output)
                try curl.run()
                defer {
                    kill(curl.processIdentifier, SIGKILL)
                    curl.waitUntilExit()
                }
                #expect(
                    await waitUntil {
                        Supervisor.lines(directory, "stream.txt").filter { $0 == "event: daemon.beat.run" }.count >= 4
                    }
                )
                let data = Supervisor.lines(directory, "stream.txt").filter { $0.hasPrefix("data: ") }
                    .compactMap { try? E2E.jsonObject(String($0.dropFirst(6))) }
                let ends = data.filter { $0["event"] as? String == "end" }
                #expect(!ends.isEmpty)
                #expect(ends.allSatisfy { $0["exit_code"] as? Int == 0 && $0["duration_ms"] is Int })

                // Published events, then a late subscriber replays what it missed after its Last-Event-ID.
                let first = try E2E.jsonObject(try await Self.curl(["-d", #"{"n":1}"#, url + "/events/app.news"]))
                _ = try await Self.curl(["-d", #"{"n":2}"#, url + "/events/app.news"])
                _ = try await Self.curl(["-d", #"{"n":3}"#, url + "/events/other.topic"])
                let firstID = try #require(first["id"] as? Int)
                let replay = try await Self.curl([
                    "-N", "--max-time", "1", "-H", "Last-Event-ID: \(firstID)", url + "/events/app.*",
                ])
                #expect(replay.contains("event: app.news\ndata: {\"n\":2}"))
                #expect(!replay.contains("{\"n\":1}"), "not before the last event seen")
                #expect(!replay.contains("other.topic"), "only what the pattern matches")
                let rpc = try #require(
                    try await Self.rpc(
                        url,
                        #"{"jsonrpc":"2.0","id":1,"method":"events.publish","params":{"topic":"app.news","data":[4]}}"#
                    )
                        as? [String: Any]
                )
                // Ids only grow (the periodic daemon's events take some in between).
                #expect(((rpc["result"] as? [String: Any])?["id"] as? Int ?? 0) > firstID + 1)
            }
        }

        @Test func theCacheKeepsContentTypesExpiresAndEvictsTheLeastRecentlyUsed() async throws {
            let manifest = Self.manifest().replacingOccurrences(
                of: "    max_body: 1KiB",
                with: "    max_body: 1KiB\n    cache: {max_entries: 2}"
            )
            try await Self.withRPC(manifest) { _, url in
                func status(_ arguments: [String]) async throws -> String {
                    try await Self.curl(["-o", "/dev/null", "-w", "%{http_code}"] + arguments)
                }
                #expect(
                    try await status(["-X", "PUT", "-H", "Content-Type: text/csv", "--data", "a,b", url + "/cache/one"])
                        == "204"
                )
                let headers = try await Self.curl(["-i", url + "/cache/one"])
                #expect(headers.lowercased().contains("content-type: text/csv"))
                #expect(headers.hasSuffix("a,b"))
                // TTL: gone once it has expired.
                #expect(try await status(["-X", "PUT", "--data", "x", url + "/cache/brief?ttl=300ms"]) == "204")
                #expect(await waitUntil { (try? await status([url + "/cache/brief"])) == "404" })
                // LRU with two entries: reading "one" makes "two" the least recently used, which "three" evicts.
                #expect(try await status(["-X", "PUT", "--data", "2", url + "/cache/two"]) == "204")
                #expect(try await status([url + "/cache/one"]) == "200")
                #expect(try await status(["-X", "PUT", "--data", "3", url + "/cache/three"]) == "204")
                #expect(try await status([url + "/cache/two"]) == "404")
                #expect(try await status([url + "/cache/one"]) == "200")
                #expect(try await status(["-X", "DELETE", url + "/cache/one"]) == "204")
                #expect(try await status(["-X", "DELETE", url + "/cache"]) == "204")
                #expect(try await status([url + "/cache/three"]) == "404")
                #expect(try await status(["-X", "PUT", "--data", "x", url + "/cache/bad?ttl=soon"]) == "400")
            }
        }

        @Test func overAUnixSocket() async throws {
            let directory = try TemporaryDirectory(prefix: "rpc-unix")
            defer { directory.remove() }
            let socketPath = directory.url("core.sock")
            try await Self.withRPC(Self.manifest(listen: "unix:\(socketPath)")) { _, _ in
                var info = stat()
                #expect(stat(socketPath, &info) == 0 && info.st_mode & 0o777 == 0o600)
                let text = try await Self.curl(["--unix-socket", socketPath, "http://localhost/health"])
                #expect(try E2E.jsonObject(text)["status"] as? String == "ok")
                let answer = try await Self.curl([
                    "--unix-socket", socketPath, "-d",
                    #"{"jsonrpc":"2.0","id":1,"method":"daemons.status","params":{"name":"tick"}}"#,
                    "http://localhost/rpc",
                ])
                let records = try #require(try E2E.jsonObject(answer)["result"] as? [[String: Any]])
                #expect(records.first?["name"] as? String == "tick")
                let unix = ["--unix-socket", socketPath]
                #expect(try await Self.curl(unix + ["http://localhost/methods"]).contains("\"echo\""))
                #expect(try await Self.curl(unix + ["-X", "PUT", "--data", "v", "http://localhost/cache/k"]).isEmpty)
                #expect(try await Self.curl(unix + ["http://localhost/cache/k"]) == "v")
                let published = try await Self.curl(unix + ["-d", "[1]", "http://localhost/events/t"])
                let id = try #require(try E2E.jsonObject(published)["id"] as? Int)
                let replay = try await Self.curl(
                    unix + ["-N", "--max-time", "1", "-H", "Last-Event-ID: \(id - 1)", "http://localhost/events/t"]
                )
                #expect(replay.contains("id: \(id)\nevent: t\ndata: [1]"))
            }
            #expect(!FileManager.default.fileExists(atPath: socketPath), "removed when the daemon stops")
        }
    }
}
