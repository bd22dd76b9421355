import CoreMetrics
import DaemonKit
import Hummingbird
import Synchronization

/// `orchestrate_rpc_requests_total{daemon,method,code}` of one rpc daemon: each JSON-RPC call by its method (`unknown`
/// for a method the daemon does not have, `invalid` for what is not a call) and its code (0 for a result, else the
/// JSON-RPC error's), and each request to the other routes by its route (`GET /cache/{key}`) and HTTP status. The
/// labels come from the daemon's own routes and methods, so a client cannot make new series at will.
final class RequestCounters: Sendable {
    private let context: DaemonContext
    private let counters = Mutex<[String: CoreMetrics.Counter]>([:])

    init(context: DaemonContext) { self.context = context }

    /// Counts one request or call.
    func count(method: String, code: Int) {
        let key = "\(method) \(code)"
        if let counter = counters.withLock({ $0[key] }) { return counter.increment() }
        let counter = context.counter(
            "orchestrate_rpc_requests_total",
            [("method", method), ("code", String(code))]
        )
        counters.withLock { $0[key] = counter }
        counter.increment()
    }

    /// The route a path belongs to: its pattern, so that keys and topics do not each make a series.
    static func route(of path: String) -> String {
        switch path {
        case "/health", "/methods", "/rpc", "/cache": path
        case _ where path.hasPrefix("/cache/"): "/cache/{key}"
        case _ where path.hasPrefix("/events/"): "/events/{topic}"
        default: "other"
        }
    }
}

/// Counts every request but the JSON-RPC calls that `POST /rpc` answered (those are counted one by one, by method).
struct RequestCounting<Context: RequestContext>: RouterMiddleware {
    let counters: RequestCounters

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let route = RequestCounters.route(of: request.uri.path)
        let method = "\(request.method) \(route)"
        do {
            let response = try await next(request, context)
            let answeredCalls = route == "/rpc" && (response.status == .ok || response.status == .noContent)
            if !answeredCalls { counters.count(method: method, code: response.status.code) }
            return response
        } catch let error as any HTTPResponseError {
            counters.count(method: method, code: error.status.code)
            throw error
        }
    }
}
