import Foundation
import OrchestrateTesting
import Testing

extension SupervisorBinaryTests {
    /// Every operation of the control API, over `control.http` (with its key) and over the control socket, against
    /// the built binary: what each answers, successes and refusals alike. Their exchanges are recorded, so `make test`
    /// checks each answer against schemas/control-api.openapi.yaml.
    @Suite("The control API, end to end", .serialized)
    struct ControlAPIEndToEndTests {
        typealias Supervisor = SupervisorEndToEndTests

        static func manifest(port: Int) -> String {
            """
            control: {http: "127.0.0.1:\(port)", api_key_env: CONTROL_KEY}
            reload: manual
            daemons:
              tick:
                kind: periodic
                interval: 1h
                command: ["sh", "-c", "exit 0"]
              web:
                kind: process
                command: ["sleep", "300"]
              off:
                kind: periodic
                interval: 1h
                command: "true"
                enabled: false
            """
        }

        @Test func everyOperationOverControlHTTPAndTheSocket() async throws {
            let port = try #require(freeLoopbackPort())
            let manifest = Self.manifest(port: port)
            try await Supervisor.withSupervisor(manifest, environment: ["CONTROL_KEY": "s3cret"]) { directory in
                let http = APIServer.controlHTTP("127.0.0.1:\(port)", key: "s3cret")
                let socket = APIServer.controlSocket(directory.url(".orchestrate/orchestrate.sock"))

                // control.http needs its key, as a bearer token or X-API-Key; the socket needs none.
                for server in [http.with(key: nil), http.with(key: "wrong")] {
                    let refused = try await APIClient.send("GET", "/v1/status", to: server)
                    #expect(refused.status == 401)
                    #expect(try refused.object()["error"] as? String != nil)
                }
                let byHeader = try await APIClient.send(
                    "GET",
                    "/v1/status",
                    to: http.with(key: nil),
                    headers: ["X-API-Key": "s3cret"]
                )
                #expect(byHeader.status == 200)

                for server in [http, socket] {
                    try await Self.exercise(server, directory: directory)
                }

                // Refusals only one server needs to show: an invalid manifest (422), a body over 4 MiB (413), paths
                // outside the API (404 with an error body).
                try directory.write("daemons.yaml", manifest + "\n  broken: {kind: periodic}\n")
                let invalid = try await APIClient.send("POST", "/v1/reload", to: socket)
                #expect(invalid.status == 422)
                let outcome = try invalid.object()
                #expect(outcome["ok"] as? Bool == false)
                #expect((outcome["errors"] as? [String])?.isEmpty == false)
                #expect(outcome["plan"] == nil)
                try directory.write("daemons.yaml", manifest)

                let huge = #"{"environment":{"X":""# + String(repeating: "x", count: 4 << 20) + #""}}"#
                let tooLarge = try await APIClient.send("POST", "/v1/reload", to: http, body: huge)
                #expect(tooLarge.status == 413)
                #expect(try tooLarge.object()["error"] as? String == "the request's body is over 4194304 bytes")

                let version = try await APIClient.send("GET", "/v2/status", to: socket, offSpec: true)
                #expect(version.status == 404)
                #expect((try version.object()["error"] as? String)?.hasPrefix("unknown API version 'v2'") == true)
                let noRoute = try await APIClient.send("GET", "/v1/reload", to: http, offSpec: true)
                #expect(noRoute.status == 404)
                #expect(try noRoute.object()["error"] as? String == "no route GET /v1/reload in the v1 API")

                // The last request: down, over control.http.
                let down = try await APIClient.send("POST", "/v1/down", to: http)
                #expect(down.status == 202)
                let reply = try down.object()
                #expect(reply["ok"] as? Bool == true && reply["stopping"] as? Bool == true)
                #expect(await waitUntil(timeout: .seconds(20)) { Supervisor.lockHolder(directory) == nil })
            }
        }

        /// Every operation but `down` on `server`, with what each answers.
        static func exercise(_ server: APIServer, directory: TemporaryDirectory) async throws {
            let status = try await APIClient.send("GET", "/v1/status", to: server)
            #expect(status.status == 200)
            #expect(status.contentType == "application/json")
            let document = try status.object()
            #expect((document["daemons"] as? [[String: Any]])?.map { $0["name"] as? String } == ["tick", "web", "off"])
            #expect((document["supervisor"] as? [String: Any])?["socket"] as? String != nil)

            let table = try await APIClient.send("GET", "/v1/status?format=text&daemon=tick", to: server)
            #expect(table.status == 200)
            #expect(table.contentType == "text/plain; charset=utf-8")
            #expect(table.text.contains("tick") && !table.text.contains("web"))
            let unknownRow = try await APIClient.send("GET", "/v1/status?format=text&daemon=tik", to: server)
            #expect(unknownRow.status == 404)
            let disabledRow = try await APIClient.send("GET", "/v1/status?format=text&daemon=off", to: server)
            #expect(disabledRow.status == 200)
            #expect(disabledRow.text.contains("disabled"))

            // Reload: a dry run, a reload that changes nothing, and a body that is not JSON.
            let dryRun = try await APIClient.send("POST", "/v1/reload", to: server, body: #"{"dry_run":true}"#)
            #expect(dryRun.status == 200)
            let plan = try dryRun.object()
            #expect(plan["dry_run"] as? Bool == true)
            #expect((plan["plan"] as? [String: Any])?["unchanged"] as? [String] == ["tick", "web", "off"])
            let reload = try await APIClient.send("POST", "/v1/reload", to: server)
            #expect(reload.status == 200)
            #expect(try reload.object()["ok"] as? Bool == true)
            let environment = try await APIClient.send(
                "POST",
                "/v1/reload",
                to: server,
                body: #"{"environment":{"UNUSED":"1"},"set":[]}"#
            )
            #expect(environment.status == 200)
            let notJSON = try await APIClient.send("POST", "/v1/reload", to: server, body: "{dry_run")
            #expect(notJSON.status == 400)
            #expect(
                (try notJSON.object()["error"] as? String)?.hasPrefix("the reload request is not valid JSON") == true
            )

            // Trigger: a run waited for, a run started, a kind that does not run on trigger, an unknown daemon.
            let waited = try await APIClient.send("POST", "/v1/daemons/tick/trigger?wait=true", to: server)
            #expect(waited.status == 200)
            let finished = try waited.object()
            #expect(finished["outcome"] as? String == "finished")
            #expect(finished["exit_code"] as? Int == 0)
            // The name is percent-decoded: ti%63k is tick.
            let started = try await APIClient.send("POST", "/v1/daemons/ti%63k/trigger", to: server)
            #expect(started.status == 202)
            #expect(["accepted", "queued"].contains(try started.object()["outcome"] as? String ?? ""))
            #expect(try started.object()["daemon"] as? String == "tick")
            let process = try await APIClient.send("POST", "/v1/daemons/web/trigger", to: server)
            #expect(process.status == 409)
            let unknown = try await APIClient.send("POST", "/v1/daemons/tik/trigger", to: server)
            #expect(unknown.status == 404)
            #expect(try unknown.object()["suggestion"] as? String == "did you mean 'tick'?")

            // Stop, start and restart, each answering the daemon's record.
            for action in ["stop", "start", "restart"] {
                let answer = try await APIClient.send("POST", "/v1/daemons/web/\(action)", to: server)
                #expect(answer.status == 200, "\(action): \(answer.text)")
                #expect(try answer.object()["name"] as? String == "web")
                if action == "stop" {
                    #expect(
                        await waitUntil {
                            (try? await Supervisor.status(directory)["web"]?["state"] as? String) == "stopped"
                        }
                    )
                }
            }
            #expect(
                await waitUntil { (try? await Supervisor.status(directory)["web"]?["state"] as? String) == "running" }
            )
            let disabled = try await APIClient.send("POST", "/v1/daemons/off/start", to: server)
            #expect(disabled.status == 409)
            let missing = try await APIClient.send("POST", "/v1/daemons/nope/restart", to: server)
            #expect(missing.status == 404)
            let action = try await APIClient.send("POST", "/v1/daemons/tick/pause", to: server, offSpec: true)
            #expect(action.status == 404)
            #expect(
                try action.object()["error"] as? String
                    == "unknown action 'pause'; expected trigger, start, stop, restart or scale"
            )

            // The event stream, briefly: every daemon's record first.
            let events = try await APIClient.send(
                "GET",
                "/v1/events",
                to: server,
                timeout: .seconds(1),
                streaming: true
            )
            #expect(events.status == 200)
            #expect(events.contentType == "text/event-stream")
            #expect(events.text.components(separatedBy: "event: daemon\n").count - 1 >= 3)
        }
    }
}
