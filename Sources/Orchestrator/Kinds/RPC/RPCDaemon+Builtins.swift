import DaemonKit
import Foundation
import Manifest

extension RPCDaemon {
    /// Error code of a trigger the daemon refused (not running, or not a kind that runs on trigger).
    static let refusedCode = -32003

    /// The built-in methods: `daemons.status` and `daemons.trigger`, which reach the supervisor.
    static func builtins() -> [String: RPCMethods.Builtin] {
        [
            "daemons.status": RPCMethods.Builtin(
                description: "Every daemon's status record, as `orchestrate status --json` shows it ({name} for one)."
            ) { params, context in
                let name = params.flatMap { argument($0, "name", at: 0) }
                var records = context.registry.list()
                if case .string(let name)? = name {
                    records = records.filter { $0.name == name }
                    guard !records.isEmpty else {
                        return .failure(JSONRPC.Failure(.invalidParams, "Invalid params: no daemon named '\(name)'"))
                    }
                }
                guard let data = try? StatusDocument.encoder.encode(records), let value = try? JSONValue.parse(data)
                else { return .failure(JSONRPC.Failure(.internalError, "Internal error: cannot encode the records")) }
                return .success(value)
            },
            "daemons.trigger": RPCMethods.Builtin(
                description: "Run a periodic or watcher daemon now: {name, wait}; with wait, its exit status."
            ) { params, context in
                guard case .string(let name)? = params.flatMap({ argument($0, "name", at: 0) }) else {
                    return .failure(JSONRPC.Failure(.invalidParams, "Invalid params: expected {\"name\": DAEMON}"))
                }
                let wait = params.flatMap { argument($0, "wait", at: 1) } == .bool(true)
                guard let supervisor = context.supervisor else {
                    return .failure(JSONRPC.Failure(.internalError, "Internal error: no supervisor to ask"))
                }
                switch await supervisor.trigger(name, wait: wait) {
                case .finished(let result):
                    var fields: [(String, JSONValue)] = [("outcome", .string("finished"))]
                    fields.append(("exit_code", result.exitCode.map { .int(Int($0)) } ?? .null))
                    fields.append(("signal", result.signal.map { .int(Int($0)) } ?? .null))
                    fields.append(("timed_out", .bool(result.timedOut)))
                    fields.append(("duration_ms", .int(result.durationMilliseconds)))
                    return .success(.object(fields))
                case .accepted: return .success(.object([("outcome", .string("accepted"))]))
                case .queued: return .success(.object([("outcome", .string("queued"))]))
                case .skipped: return .success(.object([("outcome", .string("skipped"))]))
                case .unknown(let reason): return .failure(JSONRPC.Failure(.invalidParams, "Invalid params: \(reason)"))
                case .refused(let reason):
                    return .failure(JSONRPC.Failure(code: refusedCode, reason, [("daemon", .string(name))]))
                }
            },
        ]
    }

    /// A named parameter, or the positional one at `index` when params are an array.
    static func argument(_ params: JSONValue, _ name: String, at index: Int) -> JSONValue? {
        switch params {
        case .object: return params[name]
        case .array(let items): return index < items.count ? items[index] : nil
        default: return nil
        }
    }
}
