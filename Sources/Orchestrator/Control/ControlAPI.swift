import DaemonKit
import Foundation
import Hummingbird
import Manifest
import Synchronization

/// The control API of DESIGN.md §6 on the supervisor's socket: `GET /v1/status`, `POST /v1/reload`, `POST /v1/down`,
/// `POST /v1/daemons/NAME/{trigger,start,stop,restart}`, and `GET /v1/events` (Server-Sent Events of every
/// change to a daemon's record). Errors are JSON `{"error": "…", "suggestion": "…"}` with a fitting status.
struct ControlAPI: Sendable {
    let supervisor: Supervisor
    /// The key every request must carry (`control.http` with `control.api_key_env`); nil on the Unix socket,
    /// which its 0600 mode protects.
    var apiKey: String? = nil

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        if let apiKey { router.add(middleware: APIKeyMiddleware(key: apiKey)) }
        router.add(middleware: VersionMiddleware())
        router.add(middleware: InFlightMiddleware(counter: supervisor))
        router.get("/v1/status") { request, _ in
            let query = request.uri.queryParameters
            guard query["format"] == "text" else { return try Self.json(supervisor.statusDocument()) }
            // The table `orchestrate status` prints, rendered here so that the command need not decode JSON.
            let document = supervisor.statusDocument()
            let name = query["daemon"].map(String.init)
            if let name, !document.daemons.contains(where: { $0.name == name }) {
                return Self.error(supervisor.unknownDaemonFailure(name))
            }
            let text = StatusTable.render(document, only: name, colour: query["colour"] == "1")
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: text))
            )
        }
        router.post("/v1/down") { _, _ in
            supervisor.shutDown()
            return Self.json(status: .accepted, ["ok": true, "stopping": true])
        }
        router.get("/v1/events") { _, _ in events() }
        router.post("/v1/reload") { request, _ in
            let bytes = try await request.body.collect(upTo: 4 << 20)
            let body: ReloadBody
            do {
                body =
                    bytes.readableBytes == 0
                    ? ReloadBody() : try JSONDecoder().decode(ReloadBody.self, from: Data(bytes.readableBytesView))
            } catch {
                return Self.error(.badRequest, "the reload request is not valid JSON: \(error)")
            }
            let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<ReloadOutcome, Never>) in
                supervisor.reload(environment: body.environment, setArguments: body.set, dryRun: body.dryRun ?? false) {
                    continuation.resume(returning: $0)
                }
            }
            return try Self.json(outcome, status: outcome.ok ? .ok : .unprocessableContent)
        }
        router.post("/v1/daemons/:name/:action") { request, context in
            let name = try context.parameters.require("name")
            let action = try context.parameters.require("action")
            switch action {
            case "trigger":
                return await trigger(
                    name,
                    wait: request.uri.queryParameters["wait"].map { $0 == "true" || $0 == "1" } ?? false
                )
            case "start", "stop", "restart":
                return await lifecycle(name, action: action)
            default:
                return Self.error(.notFound, "unknown action '\(action)'; expected trigger, start, stop or restart")
            }
        }
        return router
    }

    private func lifecycle(_ name: String, action: String) async -> Response {
        let result = await withCheckedContinuation {
            (continuation: CheckedContinuation<Result<DaemonRecord, ControlFailure>, Never>) in
            let reply: @Sendable (Result<DaemonRecord, ControlFailure>) -> Void = { continuation.resume(returning: $0) }
            switch action {
            case "start": supervisor.post(.start(name, reply: reply))
            case "stop": supervisor.post(.stop(name, reply: reply))
            default: supervisor.post(.restart(name, reply: reply))
            }
        }
        switch result {
        case .success(let record): return (try? Self.json(record)) ?? Self.error(.internalServerError, "cannot encode")
        case .failure(let failure): return Self.error(failure)
        }
    }

    private func trigger(_ name: String, wait: Bool) async -> Response {
        switch await supervisor.trigger(name, wait: wait) {
        case .finished(let result):
            return Self.json([
                "daemon": name, "outcome": "finished", "exit_code": result.exitCode.map { Int($0) } as Any,
                "signal": result.signal.map { Int($0) } as Any, "timed_out": result.timedOut,
                "duration_ms": result.durationMilliseconds,
            ])
        case .accepted: return Self.json(status: .accepted, ["daemon": name, "outcome": "accepted"])
        case .queued: return Self.json(status: .accepted, ["daemon": name, "outcome": "queued"])
        case .skipped: return Self.json(status: .accepted, ["daemon": name, "outcome": "skipped"])
        case .unknown: return Self.error(supervisor.unknownDaemonFailure(name))
        case .refused(let reason): return Self.error(.conflict, reason)
        }
    }

    private func events() -> Response {
        let changes = supervisor.registry.changes()
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                let encoder = StatusDocument.encoder
                for await change in changes {
                    let text: String
                    switch change {
                    case .updated(let record):
                        text = "event: daemon\ndata: \(String(decoding: try encoder.encode(record), as: UTF8.self))\n\n"
                    case .removed(let name):
                        text =
                            "event: removed\ndata: {\"name\":\(String(decoding: try encoder.encode(name), as: UTF8.self))}\n\n"
                    case .event(let name, let json):
                        text = "event: \(name)\ndata: \(json)\n\n"
                    }
                    try await writer.write(ByteBuffer(string: text))
                }
                try await writer.finish(nil)
            }
        )
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try StatusDocument.encoder.encode(value)
        return Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data))
        )
    }

    static func json(status: HTTPResponse.Status = .ok, _ object: [String: Any]) -> Response {
        let cleaned = object.mapValues { value -> Any in
            if case Optional<Any>.none = value as Any? { return NSNull() }
            return value
        }
        let data = (try? JSONSerialization.data(withJSONObject: cleaned, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data))
        )
    }

    static func error(_ status: HTTPResponse.Status, _ message: String, suggestion: String? = nil) -> Response {
        var object: [String: Any] = ["error": message]
        if let suggestion { object["suggestion"] = suggestion }
        return json(status: status, object)
    }

    static func error(_ failure: ControlFailure) -> Response {
        error(HTTPResponse.Status(code: failure.status), failure.message, suggestion: failure.suggestion)
    }
}

/// Answers any path outside `/v1/` with a clear error instead of a bare 404: a client speaking another version
/// learns which one this supervisor speaks.
struct VersionMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let path = request.uri.path
        guard path.hasPrefix("/v1/") else {
            let version = path.split(separator: "/").first.map(String.init) ?? ""
            return ControlAPI.error(
                .notFound,
                "unknown API version '\(version)'; this supervisor speaks v1 (such as GET /v1/status)"
            )
        }
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            return ControlAPI.error(.notFound, "no route \(request.method) \(path) in the v1 API")
        }
    }
}

extension Supervisor {
    /// The status document: the supervisor, the last reload, and every daemon's record.
    func statusDocument() -> StatusDocument {
        StatusDocument(
            supervisor: .init(
                pid: getpid(),
                version: OrchestrateVersion.current,
                manifest: manifest.file,
                startedAt: startedAt,
                stateDirectory: manifest.stateDirectory,
                socket: socketPath
            ),
            lastReload: lastReload,
            daemons: registry.list()
        )
    }

    func unknownDaemonFailure(_ name: String) -> ControlFailure {
        if manifest[daemon: name] != nil {
            return ControlFailure(status: 409, message: "daemon '\(name)' is disabled in the manifest")
        }
        return ControlFailure(
            status: 404,
            message: "no daemon named '\(name)'",
            suggestion: Suggestion.didYouMean(name, among: manifest.daemons.map(\.name))
        )
    }
}

/// Counts the requests being answered, so the supervisor can let them finish before its server stops.
struct InFlightMiddleware<Context: RequestContext>: RouterMiddleware {
    let counter: Supervisor

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        // The event stream lives as long as its client: it is ended with the registry's subscribers instead.
        guard request.uri.path != "/v1/events" else { return try await next(request, context) }
        counter.inFlight.add(1, ordering: .relaxed)
        defer { counter.inFlight.subtract(1, ordering: .relaxed) }
        var response = try await next(request, context)
        response.headers[.connection] = "close"
        return response
    }
}

/// Requires `Authorization: Bearer KEY` (or `X-API-Key: KEY`), compared in constant time, on every route but
/// `/metrics` (DESIGN.md §6).
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let key: String
    /// Paths served without the key.
    var open: Set<String> = ["/metrics"]
    /// What the key is, for the refusal.
    var what = "the control API key"

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        if open.contains(request.uri.path) { return try await next(request, context) }
        let authorization = request.headers[.authorization] ?? ""
        let given =
            authorization.hasPrefix("Bearer ")
            ? String(authorization.dropFirst(7)) : request.headers[.init("X-API-Key")!] ?? ""
        guard Self.constantTimeEqual(Array(given.utf8), Array(key.utf8)) else {
            return ControlAPI.error(.unauthorized, "this route needs \(what) (Authorization: Bearer KEY)")
        }
        return try await next(request, context)
    }

    /// Compares without stopping at the first difference, so timing tells nothing of the key.
    static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: lhs.count ^ rhs.count)
        for index in 0..<max(lhs.count, rhs.count) {
            let left = index < lhs.count ? lhs[index] : 0
            let right = index < rhs.count ? rhs[index] : 0
            difference |= left ^ right
        }
        return difference == 0
    }
}
