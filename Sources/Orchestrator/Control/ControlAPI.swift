import DaemonKit
import FoundationEssentials
import Hummingbird
import Manifest
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The control API on the supervisor's socket (and on `control.http`): `GET /v1/status`, `POST /v1/reload`, `POST /v1/down`,
/// `POST /v1/daemons/NAME/{trigger,start,stop,restart}`, `GET /v1/events` (the supervisor's event stream as
/// Server-Sent Events), and `GET /metrics` (Prometheus text, open without the key of `control.http`). Errors are
/// JSON `{"error": "…", "suggestion": "…"}` with a fitting status.
struct ControlAPI: Sendable {
    /// The largest body a request may have (a reload's environment is the largest there is).
    static let maxBody = 4 << 20

    let supervisor: Supervisor
    /// The key every request must carry (`control.http` with `control.api_key_env`); nil on the Unix socket,
    /// which its 0600 mode protects.
    var apiKey: String? = nil
    /// Whether `/` serves the dashboard (on `control.http`).
    var dashboard = false

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: MemoryReleaseMiddleware(release: supervisor.memoryRelease))
        if let apiKey { router.add(middleware: APIKeyMiddleware(key: apiKey, open: Self.openPaths)) }
        router.add(middleware: VersionMiddleware())
        router.add(
            middleware: ErrorBodyMiddleware(
                tooLarge: "the request's body is over \(Self.maxBody) bytes",
                routes: "the v1 API"
            )
        )
        router.get("/v1/status") { request, _ in
            let query = request.uri.queryParameters
            guard query["format"] == "text" else { return try Self.json(supervisor.statusDocument()) }
            // The table `orchestrate status` prints, rendered here so that the command need not decode JSON.
            let document = supervisor.statusDocument()
            let name = query["daemon"].map(String.init)
            if let name, document.records(named: name).isEmpty {
                return Self.error(unknownDaemonFailure(name, in: supervisor.manifest))
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
            return try Self.json(DownReply(), status: .accepted)
        }
        router.get("/v1/events") { request, _ in
            let parameters = request.uri.queryParameters.map { (String($0.key), String($0.value)) }
            do throws(ControlFailure) {
                return events(try EventQuery(parameters: parameters))
            } catch {
                return Self.error(error)
            }
        }
        router.get("/v1/daemons/:name/log") { request, context in
            try log(of: try pathParameter("name", of: context), query: request.uri.queryParameters)
        }
        if dashboard { addDashboard(to: router) }
        router.get("/metrics") { _, _ in
            let text = supervisor.metrics.exposition(records: supervisor.registry.list())
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: text))
            )
        }
        router.post("/v1/reload") { request, _ in
            let bytes = try await request.body.collect(upTo: Self.maxBody)
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
            let name = try pathParameter("name", of: context)
            let action = try pathParameter("action", of: context)
            switch action {
            case "trigger":
                return await trigger(
                    name,
                    wait: request.uri.queryParameters["wait"].map { $0 == "true" || $0 == "1" } ?? false
                )
            case "start", "stop", "restart":
                return await lifecycle(name, action: action)
            case "scale":
                let bytes = try await request.body.collect(upTo: Self.maxBody)
                let count: Int
                do {
                    count = try JSONDecoder().decode(ScaleBody.self, from: Data(bytes.readableBytesView)).replicas
                } catch {
                    return Self.error(.badRequest, "the scale request must be JSON like {\"replicas\": 3}: \(error)")
                }
                return await scale(name, to: count)
            default:
                return Self.error(
                    .notFound,
                    "unknown action '\(action)'; expected trigger, start, stop, restart or scale"
                )
            }
        }
        return router
    }

    private func lifecycle(_ name: String, action: String) async -> Response {
        let result = await withCheckedContinuation {
            (continuation: CheckedContinuation<Result<DaemonRecord, ControlFailure>, Never>) in
            let reply: @Sendable (Result<DaemonRecord, ControlFailure>) -> Void = { continuation.resume(returning: $0) }
            switch action {
            case "start": supervisor.post(.start(name, reply))
            case "stop": supervisor.post(.stop(name, reply))
            default: supervisor.post(.restart(name, reply))
            }
        }
        switch result {
        case .success(let record): return (try? Self.json(record)) ?? Self.error(.internalServerError, "cannot encode")
        case .failure(let failure): return Self.error(failure)
        }
    }

    /// `POST /v1/daemons/NAME/scale`: runs the daemon as that many copies, starting or stopping only the difference;
    /// answers with the plan once it is applied.
    private func scale(_ name: String, to count: Int) async -> Response {
        if let refusal = scaleRefusal(name, to: count, in: supervisor.manifest) { return Self.error(refusal) }
        let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<ReloadOutcome, Never>) in
            supervisor.scale(name, to: count) { continuation.resume(returning: $0) }
        }
        return (try? Self.json(outcome, status: outcome.ok ? .ok : .unprocessableContent))
            ?? Self.error(.internalServerError, "cannot encode")
    }

    private func trigger(_ name: String, wait: Bool) async -> Response {
        let outcome = await supervisor.trigger(name, wait: wait)
        switch outcome.outcome {
        case .unknown: return Self.error(unknownDaemonFailure(name, in: supervisor.manifest))
        case .refused: return Self.error(.conflict, outcome.reason ?? "refused")
        case .finished: return (try? Self.json(outcome)) ?? Self.error(.internalServerError, "cannot encode")
        default:
            return (try? Self.json(outcome, status: .accepted)) ?? Self.error(.internalServerError, "cannot encode")
        }
    }

    /// `GET /v1/events`: the supervisor's event stream as Server-Sent Events (`id`, `event`, `data` of each) or as JSON
    /// lines (``EventLine``), after every daemon's record and the kept events the query asks for (``EventQuery``);
    /// `missed` tells a client that fell behind how many events it lost.
    private func events(_ query: EventQuery) -> Response {
        let registry = supervisor.registry
        let headers: HTTPFields =
            query.format == .jsonl
            ? [.contentType: "application/x-ndjson", .cacheControl: "no-cache"]
            : [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        guard query.follow else {
            let now = Date()
            let records =
                query.records ? registry.list().map { SupervisorEvent(id: 0, time: now, kind: .daemon($0)) } : []
            let kept = registry.history(since: query.since?.date(at: now))
            let text = try? (records + kept).filter(query.includes).map { try Self.frame($0, as: query.format) }
                .joined()
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text ?? "")))
        }
        let subscription = registry.subscribe(records: query.records, since: query.since?.date(at: Date()))
        return Response(
            status: .ok,
            headers: headers,
            body: ResponseBody { writer in
                var missed = 0
                for await event in subscription {
                    if subscription.missed > missed {
                        let line = EventLine(missed: subscription.missed - missed, at: Date())
                        missed = subscription.missed
                        try await writer.write(ByteBuffer(string: try Self.frame(line, as: query.format)))
                    }
                    guard query.includes(event) else { continue }
                    try await writer.write(ByteBuffer(string: try Self.frame(event, as: query.format)))
                }
                try await writer.finish(nil)
            }
        )
    }

    /// One event as the stream writes it: an event of Server-Sent Events, or a JSON line.
    static func frame(_ event: SupervisorEvent, as format: EventQuery.Format) throws -> String {
        try frame(EventLine(event), as: format)
    }

    static func frame(_ line: EventLine, as format: EventQuery.Format) throws -> String {
        let encoder = StatusDocument.encoder
        switch format {
        case .jsonl:
            return String(decoding: try encoder.encode(line), as: UTF8.self) + "\n"
        case .sse:
            let id = line.id > 0 ? "id: \(line.id)\n" : ""
            let data = String(decoding: try encoder.encode(line.data), as: UTF8.self)
            return "\(id)event: \(line.event)\ndata: \(data)\n\n"
        }
    }

    /// The paths served without the key on `control.http`: the metrics, and the dashboard's page (its data comes
    /// from the routes that need the key, which the page asks for).
    static let openPaths: Set<String> = ["/metrics", "/", "/dashboard.css", "/dashboard.js", "/dashboard.svg"]

    /// `GET /v1/daemons/NAME/log?lines=N&follow=true`: the last N lines of the daemon's log (50 unless said, at most
    /// 1,000), as text, then, when following, each line as it is written, until the client goes.
    private func log(of name: String, query: Parameters) throws -> Response {
        guard supervisor.registry.record(name) != nil else {
            return Self.error(unknownDaemonFailure(name, in: supervisor.manifest))
        }
        guard let count = Int(query["lines"].map(String.init) ?? "50"), (0...1_000).contains(count) else {
            return Self.error(.badRequest, "lines must be a number from 0 to 1000")
        }
        guard let follow = EventQuery.flag(query["follow"].map(String.init) ?? "false") else {
            return Self.error(.badRequest, "follow must be true or false")
        }
        let headers: HTTPFields = [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-cache"]
        // Followed before the tail is read, so that no line falls between the two.
        let followed = follow ? supervisor.logTaps.follow(name) : nil
        supervisor.serviceSupervisor(name)?.log.open()
        let tail = RotatingLogFile.tail(path: supervisor.stateFolder.log(of: name), lines: count)
        let start = ByteBuffer(string: tail.map { $0 + "\n" }.joined())
        guard let followed else { return Response(status: .ok, headers: headers, body: .init(byteBuffer: start)) }
        return Response(
            status: .ok,
            headers: headers,
            body: ResponseBody { writer in
                try await writer.write(start)
                for await line in followed { try await writer.write(ByteBuffer(bytes: line)) }
                try await writer.finish(nil)
            }
        )
    }

    /// `/`, `/dashboard.css`, `/dashboard.js` and `/dashboard.svg` (its icon): the dashboard (``DashboardPage``).
    private func addDashboard(to router: Router<BasicRequestContext>) {
        let triggered = supervisor.manifest.kinds.filter { $0.runsOnTrigger }.map { $0.name }
        let pages: [(String, String, String)] = [
            ("/", "text/html; charset=utf-8", DashboardPage.html),
            ("/dashboard.css", "text/css; charset=utf-8", DashboardPage.css),
            ("/dashboard.js", "text/javascript; charset=utf-8", DashboardPage.javascript(triggered: triggered)),
            ("/dashboard.svg", "image/svg+xml", DashboardPage.icon),
        ]
        for (path, type, text) in pages {
            let body = ByteBuffer(string: text)
            router.get(RouterPath(path)) { _, _ in
                Response(
                    status: .ok,
                    headers: [
                        .contentType: type, .cacheControl: "no-cache",
                        .contentSecurityPolicy: "default-src 'self'; frame-ancestors 'none'",
                    ],
                    body: .init(byteBuffer: body)
                )
            }
        }
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try StatusDocument.encoder.encode(value)
        return Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data))
        )
    }

    static func error(_ status: HTTPResponse.Status, _ message: String, suggestion: String? = nil) -> Response {
        let body = ControlError(error: message, suggestion: suggestion)
        return (try? json(body, status: status)) ?? Response(status: status)
    }

    static func error(_ failure: ControlFailure) -> Response {
        error(HTTPResponse.Status(code: failure.status), failure.message, suggestion: failure.suggestion)
    }
}

/// A path parameter, percent-decoded: `/cache/my%20key` names the key `my key`, as the client that encoded its URL
/// meant. One that is not valid percent-encoding is refused (400).
func pathParameter(_ name: String, of context: some RequestContext) throws -> String {
    let raw = try context.parameters.require(name)
    guard let decoded = PercentEncoding.decode(raw) else {
        throw HTTPError(.badRequest, message: "'\(raw)' in the path is not valid percent-encoding")
    }
    return decoded
}

/// Answers any path outside `/v1/` (but `/metrics` and the dashboard's) with a clear error instead of a bare 404: a
/// client speaking another version learns which one this supervisor speaks.
struct VersionMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let path = request.uri.path
        guard path.hasPrefix("/v1/") || ControlAPI.openPaths.contains(path) else {
            let version = path.split(separator: "/").first.map(String.init) ?? ""
            return ControlAPI.error(
                .notFound,
                "unknown API version '\(version)'; this supervisor speaks v1 (such as GET /v1/status)"
            )
        }
        return try await next(request, context)
    }
}

/// Tells the supervisor's ``MemoryRelease`` that a request was answered: the code a request ran (encoding a
/// status, say) is given back once requests stop coming.
struct MemoryReleaseMiddleware<Context: RequestContext>: RouterMiddleware {
    let release: MemoryRelease

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        defer { release.settled() }
        return try await next(request, context)
    }
}

/// Answers the refusals hummingbird makes itself (no route for a path or its method, a body over the limit, a bad path
/// parameter) with a `ControlError` body, as every other refusal of the control API and the rpc kind's routes is
/// answered, instead of an empty one.
struct ErrorBodyMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The sentence of a 413.
    let tooLarge: String
    /// What the routes are, for a 404 ("no route GET /v1/x in the v1 API"); nil to say nothing more.
    var routes: String? = nil

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError {
            switch error.status {
            case .notFound:
                let scope = routes.map { " in \($0)" } ?? ""
                return ControlAPI.error(.notFound, "no route \(request.method) \(request.uri.path)\(scope)")
            case .contentTooLarge: return ControlAPI.error(.contentTooLarge, tooLarge)
            default: return ControlAPI.error(error.status, (error as? HTTPError)?.body ?? error.status.reasonPhrase)
            }
        }
    }
}

extension Supervisor {
    /// The status document: the supervisor, the last reload, and every daemon's record.
    func statusDocument() -> StatusDocument {
        let (manifest, lastReload) = snapshot.withLock { ($0.manifest, $0.lastReload) }
        return StatusDocument(
            supervisor: .init(
                pid: getpid(),
                version: OrchestrateVersion.current,
                manifest: manifest.file,
                startedAt: startedAt,
                stateDirectory: manifest.stateDirectory,
                socket: socketPath
            ),
            lastReload: lastReload,
            daemons: registry.list().map { record in
                var record = record
                record.dependsOn = manifest[daemon: record.name]?.dependencies.map(\.name) ?? []
                return record
            }
        )
    }
}

/// The answer to `POST /v1/down`: `{"ok": true, "stopping": true}`.
struct DownReply: Codable, Sendable {
    var ok = true
    var stopping = true
}

/// A refusal, as every route of the control API and the rpc kind answers one: `{"error": "…", "suggestion": "…"}`.
public struct ControlError: Codable, Sendable {
    /// One sentence.
    public var error: String
    /// What to do about it, when something obvious helps.
    public var suggestion: String?
}

/// Requires `Authorization: Bearer KEY` (or `X-API-Key: KEY`), compared in constant time, on every route but those
/// in `open`.
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let key: String
    /// Paths served without the key.
    var open: Set<String> = []
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
