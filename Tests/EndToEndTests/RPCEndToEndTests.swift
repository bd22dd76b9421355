import Foundation
import OrchestrateTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension SupervisorBinaryTests {
    /// The rpc kind with the built binary and real clients (``APIClient`` over TCP and a Unix socket, raw sockets).
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

        /// Runs `body` with a supervisor serving `manifest`, given the rpc daemon once it listens.
        static func withRPC(
            _ manifest: String = manifest(),
            environment: [String: String] = [:],
            _ body: (TemporaryDirectory, APIServer) async throws -> Void
        ) async throws {
            try await Supervisor.withSupervisor(manifest, environment: environment) { directory in
                #expect(await waitUntil { await listen(directory) != nil })
                let address = try #require(await listen(directory))
                try await body(directory, .rpc(address))
            }
        }

        /// The address the rpc daemon `core` listens on, from its health in `status`.
        static func listen(_ directory: TemporaryDirectory) async -> String? {
            ((try? await Supervisor.status(directory)["core"]?["health"] as? [String: Any]) ?? nil)?["listen"]
                as? String
        }

        /// `POST /rpc` with `body`; the JSON answered.
        static func rpc(_ server: APIServer, _ body: String) async throws -> Any {
            try await APIClient.send("POST", "/rpc", to: server, body: body).json()
        }

        /// `GET path`; the JSON object answered.
        static func getObject(_ server: APIServer, _ path: String) async throws -> [String: Any] {
            try await APIClient.send("GET", path, to: server).object()
        }

        @Test func healthMethodsAndCallsOverTCP() async throws {
            try await Self.withRPC { _, server in
                let health = try await Self.getObject(server, "/health")
                #expect(health["status"] as? String == "ok")
                let daemons = try #require(health["daemons"] as? [[String: Any]])
                #expect(daemons.map { $0["name"] as? String } == ["core", "tick"])
                #expect(daemons.first?["state"] as? String == "running")

                let methods = try await Self.getObject(server, "/methods")
                let names = (methods["methods"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
                #expect(
                    names == [
                        "cache.clear", "cache.delete", "cache.get", "cache.set", "daemons.status", "daemons.trigger",
                        "echo", "events.publish", "fail", "slow", "upper",
                    ]
                )

                let echo = try #require(
                    try await Self.rpc(server, #"{"jsonrpc":"2.0","id":7,"method":"echo","params":{"a":[1,"x"]}}"#)
                        as? [String: Any]
                )
                #expect(echo["id"] as? Int == 7)
                #expect((echo["result"] as? [String: Any])?["a"] as? [AnyHashable] == [1, "x"])

                // A batch: results in order, no answer for the notification, errors for the bad elements.
                let batch = try #require(
                    try await Self.rpc(
                        server,
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

                let parse = try #require(try await Self.rpc(server, "{nope") as? [String: Any])
                #expect((parse["error"] as? [String: Any])?["code"] as? Int == -32700)
                let notification = try await APIClient.send(
                    "POST",
                    "/rpc",
                    to: server,
                    body: #"{"jsonrpc":"2.0","method":"echo"}"#
                )
                #expect(notification.status == 204)
                #expect(notification.body.isEmpty)
            }
        }

        @Test func aFailingAndATimedOutCommandAreErrorsWithTheirStandardError() async throws {
            try await Self.withRPC { _, server in
                let failed = try #require(
                    try await Self.rpc(server, #"{"jsonrpc":"2.0","id":1,"method":"fail"}"#) as? [String: Any]
                )
                let error = try #require(failed["error"] as? [String: Any])
                #expect(error["code"] as? Int == -32001)
                let data = try #require(error["data"] as? [String: Any])
                #expect(data["exit_code"] as? Int == 3)
                #expect(data["stderr"] as? String == "first\nlast words\n")

                let clock = ContinuousClock()
                let start = clock.now
                let slow = try #require(
                    try await Self.rpc(server, #"{"jsonrpc":"2.0","id":2,"method":"slow"}"#) as? [String: Any]
                )
                #expect((slow["error"] as? [String: Any])?["code"] as? Int == -32002)
                #expect(clock.now - start < .seconds(10), "the 200 ms timeout ends it, not the 30 s sleep")
            }
        }

        @Test func theKeyGuardsEveryRouteButHealthAndBodiesAreLimited() async throws {
            let auth = "    auth: {api_key_env: CORE_KEY}"
            try await Self.withRPC(Self.manifest(auth: auth), environment: ["CORE_KEY": "s3cret"]) {
                (directory, server) async throws in
                func code(
                    _ method: String,
                    _ path: String,
                    key: String? = nil,
                    headers: [String: String] = [:],
                    body: String? = nil
                ) async throws -> Int {
                    try await APIClient.send(method, path, to: server.with(key: key), body: body, headers: headers)
                        .status
                }
                #expect(try await code("GET", "/health") == 200)
                #expect(try await code("GET", "/methods") == 401)
                #expect(try await code("GET", "/methods", key: "wrong") == 401)
                #expect(try await code("GET", "/methods", key: "s3cret") == 200)
                #expect(try await code("GET", "/methods", headers: ["X-API-Key": "s3cret"]) == 200)
                let call = #"{"jsonrpc":"2.0","id":1,"method":"echo"}"#
                #expect(try await code("POST", "/rpc", body: call) == 401)
                let big =
                    #"{"jsonrpc":"2.0","id":1,"method":"echo","params":[""# + String(repeating: "x", count: 2_000)
                    + #""]}"#
                let tooLarge = try await APIClient.send(
                    "POST",
                    "/rpc",
                    to: server,
                    body: big,
                    headers: ["X-API-Key": "s3cret"]
                )
                #expect(tooLarge.status == 413)
                // Refused with an error body, as every other refusal is.
                #expect(try tooLarge.object()["error"] as? String == "the request's body is over max_body (1024 bytes)")
                #expect(try await code("POST", "/rpc", headers: ["X-API-Key": "s3cret"], body: call) == 200)
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
            try await Self.withRPC { _, server in
                let address = try #require(server.address?.split(separator: ":").last.flatMap { UInt16($0) })
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
                    let health = try await Self.getObject(server, "/health")
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
                #expect(try await Self.getObject(server, "/health")["status"] as? String == "ok")
            }
        }

        @Test func theCacheSurvivesAReloadThatLeavesTheDaemonUnchanged() async throws {
            try await Self.withRPC { directory, server in
                let put = try await APIClient.send(
                    "PUT",
                    "/cache/k",
                    to: server,
                    body: "kept",
                    contentType: "text/plain"
                )
                #expect(put.status == 204)
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
                #expect(try await APIClient.send("GET", "/cache/k", to: server).text == "kept")
            }
        }

        @Test func theEventStreamCarriesRunsOfAPeriodicDaemonAndPublishedEventsWithReplay() async throws {
            let extra = """
                  beat:
                    kind: periodic
                    interval: 150ms
                    command: ["true"]
                """
            try await Self.withRPC(Self.manifest(extra: extra)) { directory, server in
                // A streaming client, ended (by its PID) below.
                let stream = try APIClient.openStream("/events/daemon.beat.*", on: server)
                defer { stream.close() }
                #expect(await waitUntil { stream.lines.filter { $0 == "event: daemon.beat.run" }.count >= 4 })
                let data = stream.lines.filter { $0.hasPrefix("data: ") }
                    .compactMap { try? E2E.jsonObject(String($0.dropFirst(6))) }
                let ends = data.filter { $0["event"] as? String == "end" }
                #expect(!ends.isEmpty)
                #expect(ends.allSatisfy { $0["exit_code"] as? Int == 0 && $0["duration_ms"] is Int })

                // Published events, then a late subscriber replays what it missed after its Last-Event-ID.
                let first = try await APIClient.send("POST", "/events/app.news", to: server, body: #"{"n":1}"#)
                #expect(first.status == 202)
                _ = try await APIClient.send("POST", "/events/app.news", to: server, body: #"{"n":2}"#)
                let encoded = try await APIClient.send("POST", "/events/other%3Atopic", to: server, body: #"{"n":3}"#)
                #expect(try encoded.object()["topic"] as? String == "other:topic")
                let firstID = try #require(try first.object()["id"] as? Int)
                // A pattern percent-encoded (`*` as %2A), as some clients send it, means the same.
                let replay = try await APIClient.send(
                    "GET",
                    "/events/app.%2A",
                    to: server,
                    headers: ["Last-Event-ID": "\(firstID)"],
                    timeout: .seconds(1),
                    streaming: true
                ).text
                #expect(replay.contains("event: app.news\ndata: {\"n\":2}"))
                #expect(!replay.contains("{\"n\":1}"), "not before the last event seen")
                #expect(!replay.contains("other:topic"), "only what the pattern matches")
                let rpc = try #require(
                    try await Self.rpc(
                        server,
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
            try await Self.withRPC(manifest) { _, server in
                func status(_ method: String, _ path: String, body: String? = nil) async throws -> Int {
                    try await APIClient.send(method, path, to: server, body: body, contentType: "text/plain").status
                }
                let csv = try await APIClient.send(
                    "PUT",
                    "/cache/one",
                    to: server,
                    body: "a,b",
                    contentType: "text/csv"
                )
                #expect(csv.status == 204)
                let one = try await APIClient.send("GET", "/cache/one", to: server)
                #expect(one.contentType == "text/csv")
                #expect(one.text == "a,b")
                // TTL: gone once it has expired.
                #expect(try await status("PUT", "/cache/brief?ttl=300ms", body: "x") == 204)
                #expect(await waitUntil { (try? await status("GET", "/cache/brief")) == 404 })
                // LRU with two entries: reading "one" makes "two" the least recently used, which "three" evicts.
                #expect(try await status("PUT", "/cache/two", body: "2") == 204)
                #expect(try await status("GET", "/cache/one") == 200)
                #expect(try await status("PUT", "/cache/three", body: "3") == 204)
                #expect(try await status("GET", "/cache/two") == 404)
                #expect(try await status("GET", "/cache/one") == 200)
                #expect(try await status("DELETE", "/cache/one") == 204)
                // A key that is not there: 404, with an error body like every other refusal.
                let gone = try await APIClient.send("DELETE", "/cache/one", to: server)
                #expect(gone.status == 404)
                #expect(try gone.object()["error"] as? String == "no cache entry 'one'")
                #expect(try await status("DELETE", "/cache") == 204)
                #expect(try await status("GET", "/cache/three") == 404)
                #expect(try await status("PUT", "/cache/bad?ttl=soon", body: "x") == 400)
                // Keys are percent-decoded: the entry a URL names `my%20key` is the one JSON-RPC names `my key`.
                #expect(try await status("PUT", "/cache/my%20key", body: "spaced") == 204)
                let viaRPC = try #require(
                    try await Self.rpc(
                        server,
                        #"{"jsonrpc":"2.0","id":1,"method":"cache.get","params":{"key":"my key"}}"#
                    ) as? [String: Any]
                )
                #expect((viaRPC["result"] as? [String: Any])?["value"] as? String == "spaced")
                let badEncoding = try await APIClient.send("GET", "/cache/bad%zz", to: server)
                #expect(badEncoding.status == 400)
                #expect(
                    try badEncoding.object()["error"] as? String == "'bad%zz' in the path is not valid percent-encoding"
                )
                // A path or a method no route serves: 404 with an error body naming it.
                for (method, path) in [("GET", "/nothing"), ("POST", "/health"), ("PATCH", "/cache/one")] {
                    let refused = try await APIClient.send(method, path, to: server, offSpec: true)
                    #expect(refused.status == 404)
                    #expect(try refused.object()["error"] as? String == "no route \(method) \(path)")
                }
            }
        }

        @Test func overAUnixSocket() async throws {
            let directory = try TemporaryDirectory(prefix: "rpc-unix")
            defer { directory.remove() }
            let socketPath = directory.url("core.sock")
            try await Self.withRPC(Self.manifest(listen: "unix:\(socketPath)")) { _, _ in
                var info = stat()
                #expect(stat(socketPath, &info) == 0 && info.st_mode & 0o777 == 0o600)
                let server = APIServer.rpcSocket(socketPath)
                #expect(try await Self.getObject(server, "/health")["status"] as? String == "ok")
                let answer = try #require(
                    try await Self.rpc(
                        server,
                        #"{"jsonrpc":"2.0","id":1,"method":"daemons.status","params":{"name":"tick"}}"#
                    ) as? [String: Any]
                )
                let records = try #require(answer["result"] as? [[String: Any]])
                #expect(records.first?["name"] as? String == "tick")
                #expect(try await APIClient.send("GET", "/methods", to: server).text.contains("\"echo\""))
                let put = try await APIClient.send("PUT", "/cache/k", to: server, body: "v", contentType: "text/plain")
                #expect(put.status == 204 && put.body.isEmpty)
                #expect(try await APIClient.send("GET", "/cache/k", to: server).text == "v")
                let published = try await APIClient.send("POST", "/events/t", to: server, body: "[1]")
                let id = try #require(try published.object()["id"] as? Int)
                let replay = try await APIClient.send(
                    "GET",
                    "/events/t",
                    to: server,
                    headers: ["Last-Event-ID": "\(id - 1)"],
                    timeout: .seconds(1),
                    streaming: true
                ).text
                #expect(replay.contains("id: \(id)\nevent: t\ndata: [1]"))
            }
            #expect(!FileManager.default.fileExists(atPath: socketPath), "removed when the daemon stops")
        }
    }
}
