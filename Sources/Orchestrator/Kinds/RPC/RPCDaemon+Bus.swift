import DaemonKit
import FoundationEssentials
import Hummingbird
import Manifest

#if canImport(Glibc)
import Glibc
#endif

extension RPCDaemon {
    /// Publishes the supervisor's news on the daemon's event bus until the task is cancelled, from the supervisor's
    /// event stream: `daemon.NAME.state` when a daemon's state changes (`removed` when a reload removed it),
    /// `daemon.NAME.run` when a run starts and when it ends (exit status, signal, duration), and
    /// `orchestrate.reload` for each reload with its plan.
    func publishSupervisorEvents(_ context: DaemonContext) async {
        let encoder = StatusDocument.encoder
        for await event in context.registry.subscribe() {
            let topic: String
            switch event.kind {
            case .stateChanged(let change): topic = "daemon.\(change.name).state"
            case .removed(let name): topic = "daemon.\(name).state"
            case .runStarted(let run), .runFinished(let run): topic = "daemon.\(run.name).run"
            case .reload: topic = "orchestrate.reload"
            case .daemon, .supervisor, .note, .restarting: continue
            }
            guard let data = try? event.json(encoder) else { continue }
            bus.publish(topic: topic, data: String(decoding: data, as: UTF8.self))
        }
    }

    /// `POST /events/TOPIC` (a JSON body, published) and `GET /events/PATTERN` (Server-Sent Events, `*` and
    /// `PREFIX.*` allowed, `Last-Event-ID` replays what the client missed from the bus's buffer).
    func addEventRoutes(to router: Router<BasicRequestContext>) {
        router.post("/events/:topic") { request, context in
            let topic = try pathParameter("topic", of: context)
            guard EventBus.isValidTopic(topic) else {
                return Self.problem(.badRequest, "'\(topic)' is not a topic: letters, digits, '.', '_', ':' and '-'")
            }
            let body = try await request.body.collect(upTo: rpc.maxBody)
            guard let value = try? JSONValue.parse(Array(body.readableBytesView)) else {
                return Self.problem(.badRequest, "the event's body is not JSON")
            }
            let event = bus.publish(topic: topic, data: value.serialized(pretty: false))
            return Self.reply(Published(id: event.id, topic: topic), status: .accepted)
        }
        // Both routes name the parameter alike: hummingbird refuses two names at one place of a path.
        router.get("/events/:topic") { request, context in
            let pattern = try pathParameter("topic", of: context)
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
        reply(ControlError(error: message), status: status)
    }
}
