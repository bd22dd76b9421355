import DaemonKit
import FoundationEssentials
import Hummingbird
import Logging
import Manifest
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The `rpc` kind (README, "The rpc kind"): an HTTP/1.1 server on `listen`, TCP or a Unix socket.
///
/// - `GET /health`: `ok`, uptime, and every daemon's name, kind and state (never behind the key).
/// - `GET /methods`: the methods with their descriptions and timeouts.
/// - `POST /rpc`: JSON-RPC 2.0, single calls, batches and notifications (``JSONRPC``, ``RPCMethods``).
/// - `POST|GET /events/TOPIC`: the event bus, with Server-Sent Events and `Last-Event-ID` replay; the supervisor
///   publishes `daemon.NAME.state`, `daemon.NAME.run` and `orchestrate.reload` there.
/// - `GET|PUT|DELETE /cache/KEY`, `DELETE /cache`: an LRU cache bounded by `max_entries` and `max_bytes`.
///
/// With `auth.api_key_env`, every route but `/health` needs the key (`Authorization: Bearer KEY` or
/// `X-API-Key`), compared in constant time. Bodies over `max_body` get 413; a connection idle, or stalled in
/// the middle of a request, for 30 s is closed; the server serves every other client meanwhile.
public struct RPCDaemon: DaemonService {
    /// How long a connection may sit idle or stall in the middle of a request before it is closed.
    public static let idleTimeout = Duration.seconds(30)

    public let spec: DaemonSpec
    let rpc: RPCSpec
    let methods: RPCMethods
    /// The cache: kept by the service, so it outlives a restart of the server and a reload that leaves the daemon
    /// unchanged.
    let cache: KeyValueCache
    /// The event bus, with its replay buffer.
    let bus: EventBus

    public var name: String { spec.name }
    public var kind: String { RPCSpec.name }

    /// Makes the service of an rpc daemon.
    public init(spec: DaemonSpec, rpc: RPCSpec) {
        self.spec = spec
        self.rpc = rpc
        let cache = KeyValueCache(maxEntries: rpc.cacheMaxEntries, maxBytes: rpc.cacheMaxBytes)
        let bus = EventBus()
        self.cache = cache
        self.bus = bus
        let builtins = Self.builtins().merging(Self.stateBuiltins(cache: cache, bus: bus)) { first, _ in first }
        methods = RPCMethods(spec: spec, rpc: rpc, builtins: builtins)
    }

    /// Serves until the task is cancelled; a socket that cannot be bound, or a key that is not set, fails the
    /// service (and the restart policy applies).
    public func run(_ context: DaemonContext) async throws {
        var key: String?
        if let variable = rpc.apiKeyEnvironment {
            let value = spec.environment[variable] ?? ProcessInfo.processInfo.environment[variable]
            guard let value, !value.isEmpty else {
                throw DaemonKitError(
                    code: .serverUnavailable,
                    message: "auth.api_key_env names \(variable), which is not set in the supervisor's environment"
                )
            }
            key = value
        }
        let startedAt = ContinuousClock.now
        let router = Router()
        let counters = RequestCounters(context: context)
        router.add(middleware: RequestCounting(counters: counters))
        if let key {
            router.add(middleware: APIKeyMiddleware(key: key, open: ["/health"], what: "this daemon's API key"))
        }
        router.add(
            middleware: ErrorBodyMiddleware(tooLarge: "the request's body is over max_body (\(rpc.maxBody) bytes)")
        )
        // The answer is encoded again only when a record changed or a second of uptime passed: a health check is
        // read far more often than it changes, and encoding it each time was most of the cost of a call.
        let healthAnswer = Mutex<(generation: UInt64, uptime: Int64, body: ByteBuffer)?>(nil)
        router.get("/health") { _, _ in
            let (records, generation) = context.registry.listWithGeneration()
            let uptime = startedAt.duration(to: .now).components.seconds
            if let cached = healthAnswer.withLock({ $0 }), cached.generation == generation, cached.uptime == uptime {
                return Self.reply(body: cached.body)
            }
            let health = Health(
                daemon: context.name,
                uptime: Int(uptime),
                daemons: records.map { .init(name: $0.name, kind: $0.kind, state: $0.state.name) }
            )
            guard let data = try? StatusDocument.encoder.encode(health) else {
                return Response(status: .internalServerError)
            }
            let body = ByteBuffer(bytes: data)
            healthAnswer.withLock { $0 = (generation, uptime, body) }
            return Self.reply(body: body)
        }
        router.get("/methods") { _, _ in Self.reply(MethodList(methods: methods.listing)) }
        router.post("/rpc") { request, _ in
            let body = try await request.body.collect(upTo: rpc.maxBody)
            return await answer(Array(body.readableBytesView), context: context, counters: counters)
        }
        addEventRoutes(to: router)
        addCacheRoutes(to: router)

        var serverLogger = context.logger
        serverLogger.logLevel = .critical
        var server: IPCServer<BasicRequestContext>
        switch rpc.listen {
        case .tcp(let host, let port):
            server = IPCServer(router: router, host: host, port: port, logger: serverLogger) {
                context.started(state: .running)
            } onListening: { bound in
                let address = ListenAddress.tcp(host: host, port: bound ?? port)
                context.report(.health("listen", address.description))
                context.note("listening on \(address)")
            }
        case .unix(let path):
            try? FileManager.default.createDirectory(
                atPath: PathText.folder(of: path),
                withIntermediateDirectories: true
            )
            server = IPCServer(router: router, socketPath: path, logger: serverLogger) {
                context.report(.health("listen", "unix:\(path)"))
                context.note("listening on unix:\(path)")
                context.started(state: .running)
            }
        }
        server.idleTimeout = Self.idleTimeout
        let served = server
        // Event streams end with the server, so their clients reconnect (with Last-Event-ID) to the next one.
        defer { bus.finishAll() }
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await publishSupervisorEvents(context) }
            do {
                try await served.run()
            } catch  where !Task.isCancelled {
                throw DaemonKitError(
                    code: .serverUnavailable,
                    message: "cannot serve on \(rpc.listen): \(DaemonKitError.serverFailureReason(error))"
                )
            }
            group.cancelAll()
        }
    }

    /// Answers a `POST /rpc` body: one response, a batch of them, or 204 when every call was a notification.
    func answer(_ bytes: [UInt8], context: DaemonContext, counters: RequestCounters) async -> Response {
        switch JSONRPC.read(bytes) {
        case .unusable(let failure):
            counters.count(method: "invalid", code: failure.code)
            return Self.json(JSONRPC.response(id: .null, .failure(failure)))
        case .single(let item):
            guard let response = await respond(to: item, context: context, counters: counters) else {
                return Response(status: .noContent)
            }
            return Self.json(response)
        case .batch(let items):
            // The calls of a batch run concurrently; the responses keep the batch's order.
            let responses = await withTaskGroup(of: (Int, JSONValue?).self) { group in
                for (index, item) in items.enumerated() {
                    group.addTask { (index, await respond(to: item, context: context, counters: counters)) }
                }
                var answers = [JSONValue?](repeating: nil, count: items.count)
                for await (index, response) in group { answers[index] = response }
                return answers.compactMap { $0 }
            }
            guard !responses.isEmpty else { return Response(status: .noContent) }
            return Self.json(.array(responses))
        }
    }

    /// The response to one element of a body; nil for a notification.
    func respond(to item: JSONRPC.Item, context: DaemonContext, counters: RequestCounters) async -> JSONValue? {
        switch item {
        case .invalid(let id, let failure):
            counters.count(method: "invalid", code: failure.code)
            return JSONRPC.response(id: id, .failure(failure))
        case .call(let call):
            let outcome = await methods.call(call, context: context)
            let method = methods.has(call.method) ? call.method : "unknown"
            switch outcome {
            case .success: counters.count(method: method, code: 0)
            case .failure(let failure): counters.count(method: method, code: failure.code)
            }
            guard let id = call.id else { return nil }
            return JSONRPC.response(id: id, outcome)
        }
    }

    /// `value` as the JSON body of a response, with the encoder of the status document.
    static func reply(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        guard let data = try? StatusDocument.encoder.encode(value) else {
            return Response(status: .internalServerError)
        }
        return reply(body: ByteBuffer(bytes: data), status: status)
    }

    /// A JSON body already encoded.
    static func reply(body: ByteBuffer, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
    }

    /// A JSON-RPC document (a response, or a batch of them) as the body of a response.
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: value.serialized(pretty: false)))
        )
    }
}

extension RPCDaemon {
    /// `GET /health`: `{"status": "ok", "daemon", "uptime_s", "daemons": [{"name", "kind", "state"}]}`.
    struct Health: Encodable {
        struct Daemon: Encodable {
            var name: String
            var kind: String
            var state: String
        }

        var status = "ok"
        var daemon: String
        var uptime: Int
        var daemons: [Daemon]

        enum CodingKeys: String, CodingKey {
            case status, daemon, daemons
            case uptime = "uptime_s"
        }
    }

    /// `GET /methods`: `{"methods": [{"name", "description", "builtin", "timeout"}]}`.
    struct MethodList: Encodable {
        var methods: [RPCMethods.Listing]
    }

    /// `POST /events/TOPIC`'s answer: `{"id", "topic"}` of the event published.
    struct Published: Encodable {
        var id: UInt64
        var topic: String
    }
}
