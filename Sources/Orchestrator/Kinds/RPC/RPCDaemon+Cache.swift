import DaemonKit
import FoundationEssentials
import Hummingbird
import Manifest

#if canImport(Glibc)
import Glibc
#endif

extension RPCDaemon {
    /// `GET|PUT|DELETE /cache/KEY` (raw bytes, their content type kept, `?ttl=30s`) and `DELETE /cache`.
    func addCacheRoutes(to router: Router<BasicRequestContext>) {
        router.get("/cache/:key") { _, context in
            let key = try pathParameter("key", of: context)
            guard let entry = cache.get(key) else { return Self.problem(.notFound, "no cache entry '\(key)'") }
            return Response(
                status: .ok,
                headers: [.contentType: entry.contentType ?? "application/octet-stream"],
                body: .init(byteBuffer: ByteBuffer(bytes: entry.value))
            )
        }
        router.put("/cache/:key") { request, context in
            let key = try pathParameter("key", of: context)
            var ttl: Duration?
            if let text = request.uri.queryParameters["ttl"] {
                guard let parsed = DurationText.parse(String(text)), parsed > .zero else {
                    return Self.problem(.badRequest, "ttl: expected a duration like 30s, found '\(text)'")
                }
                ttl = parsed
            }
            let body = try await request.body.collect(upTo: rpc.maxBody)
            let stored = cache.set(
                key,
                value: Array(body.readableBytesView),
                contentType: request.headers[.contentType],
                ttl: ttl
            )
            guard stored else {
                return Self.problem(
                    .contentTooLarge,
                    "the value is larger than the cache (max_bytes \(rpc.cacheMaxBytes))"
                )
            }
            return Response(status: .noContent)
        }
        router.delete("/cache/:key") { _, context in
            let key = try pathParameter("key", of: context)
            guard cache.delete(key) else { return Self.problem(.notFound, "no cache entry '\(key)'") }
            return Response(status: .noContent)
        }
        router.delete("/cache") { _, _ in
            cache.clear()
            return Response(status: .noContent)
        }
    }

    /// `cache.get|set|delete|clear` and `events.publish`, for clients that speak JSON-RPC only. Values set here
    /// are JSON (content type `application/json`); `cache.get` returns JSON values as JSON and any other entry as
    /// text (or base64 with `"encoding": "base64"` when it is not UTF-8).
    static func stateBuiltins(cache: KeyValueCache, bus: EventBus) -> [String: RPCMethods.Builtin] {
        let missingKey = JSONRPC.Failure(.invalidParams, "Invalid params: expected {\"key\": KEY}")
        return [
            "cache.get": RPCMethods.Builtin(description: "A cache entry: {key} → {value, content_type} or null.") {
                params,
                _ in
                guard let key = cacheKey(params) else { return .failure(missingKey) }
                guard let entry = cache.get(key) else { return .success(.null) }
                var fields: [(String, JSONValue)] = [("content_type", entry.contentType.map { .string($0) } ?? .null)]
                if entry.contentType?.hasPrefix("application/json") == true,
                    let value = try? JSONValue.parse(entry.value)
                {
                    fields.insert(("value", value), at: 0)
                } else if let text = String(validating: entry.value, as: UTF8.self) {
                    fields.insert(("value", .string(text)), at: 0)
                } else {
                    fields.insert(("value", .string(Data(entry.value).base64EncodedString())), at: 0)
                    fields.append(("encoding", .string("base64")))
                }
                return .success(.object(fields))
            },
            "cache.set": RPCMethods.Builtin(description: "Store a JSON value: {key, value, ttl?} (ttl like \"30s\").") {
                params,
                _ in
                guard let key = cacheKey(params), let value = params.flatMap({ Self.argument($0, "value", at: 1) })
                else {
                    return .failure(
                        JSONRPC.Failure(.invalidParams, "Invalid params: expected {\"key\": KEY, \"value\": VALUE}")
                    )
                }
                var ttl: Duration?
                if let given = params.flatMap({ Self.argument($0, "ttl", at: 2) }), given != .null {
                    guard case .string(let text) = given, let parsed = DurationText.parse(text), parsed > .zero else {
                        return .failure(
                            JSONRPC.Failure(.invalidParams, "Invalid params: ttl must be a duration like \"30s\"")
                        )
                    }
                    ttl = parsed
                }
                let stored = cache.set(
                    key,
                    value: Array(value.serialized(pretty: false).utf8),
                    contentType: "application/json",
                    ttl: ttl
                )
                guard stored else {
                    return .failure(JSONRPC.Failure(.invalidParams, "Invalid params: the value is too large"))
                }
                return .success(.bool(true))
            },
            "cache.delete": RPCMethods.Builtin(description: "Remove an entry: {key} → whether there was one.") {
                params,
                _ in
                guard let key = cacheKey(params) else { return .failure(missingKey) }
                return .success(.bool(cache.delete(key)))
            },
            "cache.clear": RPCMethods.Builtin(description: "Remove every entry.") { _, _ in
                cache.clear()
                return .success(.bool(true))
            },
            "events.publish": RPCMethods.Builtin(description: "Publish an event: {topic, data} → {id}.") { params, _ in
                guard case .string(let topic)? = params.flatMap({ Self.argument($0, "topic", at: 0) }),
                    EventBus.isValidTopic(topic)
                else {
                    return .failure(
                        JSONRPC.Failure(.invalidParams, "Invalid params: expected {\"topic\": TOPIC, \"data\": JSON}")
                    )
                }
                let data = params.flatMap { Self.argument($0, "data", at: 1) } ?? .null
                let event = bus.publish(topic: topic, data: data.serialized(pretty: false))
                return .success(.object([("id", .int(Int(event.id)))]))
            },
        ]
    }

    /// The `key` parameter, named or first.
    static func cacheKey(_ params: JSONValue?) -> String? {
        if case .string(let key)? = params.flatMap({ argument($0, "key", at: 0) }) { return key }
        return nil
    }
}
