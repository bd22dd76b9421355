import Foundation
import OrchestrateTesting
import Testing

extension SupervisorBinaryTests {
    /// What the dashboard stands on, with the built binary: its page on `control.http` (open without the key, not on
    /// the socket), a daemon's log read and followed, `depends_on` in the status, and `orchestrate dashboard`. The page
    /// itself is checked in a real browser by `make dashboard-check` (Tests/dashboard/check_dashboard.py).
    @Suite("The dashboard's routes, end to end", .serialized)
    struct DashboardEndToEndTests {
        typealias Supervisor = SupervisorEndToEndTests

        static func manifest(port: Int) -> String {
            """
            control: {http: "127.0.0.1:\(port)", api_key_env: CONTROL_KEY}
            reload: manual
            daemons:
              beat:
                kind: periodic
                interval: 200ms
                command: ["sh", "-c", "echo beat"]
              web:
                kind: process
                depends_on: [beat]
                command: ["sleep", "300"]
            """
        }

        @Test func thePageTheLogAndTheURL() async throws {
            let port = try #require(freeLoopbackPort())
            try await Supervisor.withSupervisor(Self.manifest(port: port), environment: ["CONTROL_KEY": "k"]) {
                directory in
                let http = APIServer.controlHTTP("127.0.0.1:\(port)", key: "k")
                let socket = APIServer.controlSocket(directory.url(".orchestrate/orchestrate.sock"))
                for (path, type) in [
                    ("/", "text/html; charset=utf-8"), ("/dashboard.js", "text/javascript; charset=utf-8"),
                    ("/dashboard.css", "text/css; charset=utf-8"), ("/dashboard.svg", "image/svg+xml"),
                ] {
                    let page = try await APIClient.send("GET", path, to: http.with(key: nil))
                    #expect(page.status == 200, "\(path)")
                    #expect(page.contentType == type, "\(path)")
                }
                let html = try await APIClient.send("GET", "/", to: http.with(key: nil))
                #expect(html.text.contains("<script src=\"/dashboard.js\" defer></script>"))
                #expect(html.text.utf8.count + DashboardSizes.assets < 100_000)
                // Not on the control socket: the dashboard is control.http's.
                #expect(try await APIClient.send("GET", "/", to: socket).status == 404)

                // The status carries depends_on.
                let status = try await APIClient.send("GET", "/v1/status", to: http)
                let daemons = try #require(try status.object()["daemons"] as? [[String: Any]])
                #expect(daemons.first { $0["name"] as? String == "web" }?["depends_on"] as? [String] == ["beat"])

                // A log's last lines, then followed: new lines come as they are written.
                #expect(
                    await waitUntil(timeout: .seconds(10)) {
                        Supervisor.lines(directory, ".orchestrate/logs/beat.log").count >= 3
                    }
                )
                let tail = try await APIClient.send("GET", "/v1/daemons/beat/log?lines=3", to: http)
                #expect(tail.text.split(separator: "\n").count == 3)
                let followed = try await APIClient.send(
                    "GET",
                    "/v1/daemons/beat/log?lines=0&follow=true",
                    to: http,
                    timeout: .seconds(2),
                    streaming: true
                )
                #expect(followed.status == 200)
                #expect(followed.text.components(separatedBy: " beat\n").count > 2, "\(followed.text)")
                #expect(try await APIClient.send("GET", "/v1/daemons/beat/log", to: http.with(key: nil)).status == 401)
                #expect(try await APIClient.send("GET", "/v1/daemons/nope/log", to: http).status == 404)
                #expect(try await APIClient.send("GET", "/v1/daemons/beat/log?lines=many", to: http).status == 400)

                let url = try await E2E.run(["dashboard"], in: directory.path)
                #expect(url.status == 0)
                #expect(url.stdout == "http://127.0.0.1:\(port)/\n")
                #expect(url.stderr.contains("the page asks for the control API key, the value of CONTROL_KEY"))
            }
        }

        @Test func withoutControlHTTPTheCommandSaysHowToTurnItOn() async throws {
            let directory = try TemporaryDirectory(prefix: "dashboard")
            defer { directory.remove() }
            try directory.write("daemons.yaml", "daemons:\n  a: {kind: periodic, interval: 1h, command: \"true\"}\n")
            let result = try await E2E.run(["dashboard"], in: directory.path)
            #expect(result.status == 1)
            #expect(result.stderr.contains("which daemons.yaml does not set; add `control: {http: 127.0.0.1:9400}`"))
        }
    }
}

/// The sizes of the dashboard's script and style, read from the binary's sources.
enum DashboardSizes {
    static var assets: Int {
        let path = E2E.repositoryRoot() + "/Sources/Orchestrator/Control/DashboardPage.swift"
        return (try? String(contentsOfFile: path, encoding: .utf8).utf8.count) ?? 0
    }
}
