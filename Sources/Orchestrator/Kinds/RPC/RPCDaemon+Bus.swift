import DaemonKit
import Foundation
import Hummingbird
import Manifest

extension RPCDaemon {
    /// Publishes the supervisor's news on the daemon's event bus until the task is cancelled:
    /// `daemon.NAME.state` when a daemon's state changes, `daemon.NAME.run` when a run starts and when it ends
    /// (exit status, signal, duration), and `orchestrate.reload` for each reload with its plan.
    func publishSupervisorEvents(_ context: DaemonContext) async {
        var seen: [String: DaemonRecord] = [:]
        for await change in context.registry.changes() {
            switch change {
            case .updated(let record):
                let previous = seen[record.name]
                seen[record.name] = record
                // The first sight of each daemon is the subscription's snapshot, not news.
                guard let previous else { continue }
                if previous.state != record.state {
                    var fields: [(String, JSONValue)] = [
                        ("name", .string(record.name)), ("kind", .string(record.kind)),
                        ("state", .string(record.state.name)), ("previous", .string(previous.state.name)),
                    ]
                    if let error = record.lastError { fields.append(("last_error", .string(error))) }
                    bus.publish(
                        topic: "daemon.\(record.name).state",
                        data: JSONValue.object(fields).serialized(pretty: false)
                    )
                }
                if let run = record.lastRun, run != previous.lastRun {
                    bus.publish(topic: "daemon.\(record.name).run", data: Self.runEvent(record.name, run))
                }
            case .removed(let name):
                seen[name] = nil
                bus.publish(
                    topic: "daemon.\(name).state",
                    data: JSONValue.object([("name", .string(name)), ("state", .string("removed"))]).serialized(
                        pretty: false
                    )
                )
            case .event(let name, let json):
                bus.publish(topic: "orchestrate.\(name)", data: json)
            }
        }
    }

    /// A run's start (no duration yet) or end, as `daemon.NAME.run` carries it.
    static func runEvent(_ name: String, _ run: DaemonRecord.Run) -> String {
        var fields: [(String, JSONValue)] = [
            ("name", .string(name)), ("event", .string(run.durationMilliseconds == nil ? "start" : "end")),
            ("started_at", .string(ISO8601DateFormatter().string(from: run.startedAt))),
        ]
        if let duration = run.durationMilliseconds {
            fields.append(("duration_ms", .int(duration)))
            fields.append(("exit_code", run.exitCode.map { .int(Int($0)) } ?? .null))
            fields.append(("signal", run.signal.map { .int(Int($0)) } ?? .null))
            fields.append(("timed_out", .bool(run.timedOut)))
        }
        return JSONValue.object(fields).serialized(pretty: false)
    }

    /// `POST /events/TOPIC` (a JSON body, published) and `GET /events/PATTERN` (Server-Sent Events, `*` and
    /// `PREFIX.*` allowed, `Last-Event-ID` replays what the client missed from the bus's buffer).
    func addEventRoutes(to router: Router<BasicRequestContext>) {
        router.post("/events/:topic") { request, context in
            let topic = try context.parameters.require("topic")
            guard EventBus.isValidTopic(topic) else {
                return Self.problem(.badRequest, "'\(topic)' is not a topic: letters, digits, '.', '_', ':' and '-'")
            }
            let body = try await request.body.collect(upTo: rpc.maxBody)
            guard let value = try? JSONValue.parse(Array(body.readableBytesView)) else {
                return Self.problem(.badRequest, "the event's body is not JSON")
            }
            let event = bus.publish(topic: topic, data: value.serialized(pretty: false))
            return Self.json(.object([("id", .int(Int(event.id))), ("topic", .string(topic))]), status: .accepted)
        }
        // Both routes name the parameter alike: hummingbird refuses two names at one place of a path.
        router.get("/events/:topic") { request, context in
            let pattern = try context.parameters.require("topic")
            guard EventBus.isValidPattern(pattern) else {
                return Self.problem(.badRequest, "'\(pattern)' is not a topic pattern: a topic, '*', or 'PREFIX.*'")
            }
            let lastID = request.headers[.init("Last-Event-ID")!].flatMap { UInt64($0) }
            let events = bus.subscribe(pattern, after: lastID)
            return Response(
                status: .ok,
                headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                body: ResponseBody { writer in
                    // A comment first, so the client knows the stream is open before the first event.
                    try await writer.write(ByteBuffer(string: ": subscribed to \(pattern)\n\n"))
                    for await event in events {
                        try await writer.write(
                            ByteBuffer(string: "id: \(event.id)\nevent: \(event.topic)\ndata: \(event.data)\n\n")
                        )
                    }
                    try await writer.finish(nil)
                }
            )
        }
    }

    /// An error document with a status, as the routes other than `/rpc` answer.
    static func problem(_ status: HTTPResponse.Status, _ message: String) -> Response {
        json(.object([("error", .string(message))]), status: status)
    }
}
