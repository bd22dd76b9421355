import DaemonKit
import FoundationEssentials
import Manifest
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

extension RPCDaemon {
    /// Error code of a trigger the daemon refused (not running, or not a kind that runs on trigger).
    static let refusedCode = -32003

    /// The built-in methods: `daemons.status` and `daemons.trigger`, which reach the supervisor.
    static func builtins() -> [String: RPCMethods.Builtin] {
        // The records as JSON, kept while the registry's generation is the same: status is read far more often
        // than it changes, and encoding every record for every call would cost more than the rest of the call.
        let snapshot = Mutex<(generation: UInt64, records: [(name: String, json: JSONValue)])?>(nil)
        return [
            "daemons.status": RPCMethods.Builtin(
                description: "Every daemon's status record, as `orchestrate status --json` shows it ({name} for one)."
            ) { params, context in
                let (current, generation) = context.registry.listWithGeneration()
                var records = snapshot.withLock { $0?.generation == generation ? $0?.records : nil }
                if records == nil {
                    guard let converted = Self.json(current) else {
                        return .failure(JSONRPC.Failure(.internalError, "Internal error: cannot encode the records"))
                    }
                    snapshot.withLock { $0 = (generation, converted) }
                    records = converted
                }
                guard case .string(let name)? = params.flatMap({ argument($0, "name", at: 0) }) else {
                    return .success(.array(records!.map(\.json)))
                }
                guard let record = records!.first(where: { $0.name == name }) else {
                    return .failure(JSONRPC.Failure(.invalidParams, "Invalid params: no daemon named '\(name)'"))
                }
                return .success(.array([record.json]))
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
                let outcome = await supervisor.trigger(name, wait: wait)
                switch outcome.outcome {
                case .unknown:
                    return .failure(JSONRPC.Failure(.invalidParams, "Invalid params: \(outcome.reason ?? name)"))
                case .refused:
                    let reason = outcome.reason ?? "refused"
                    return .failure(JSONRPC.Failure(code: refusedCode, reason, [("daemon", .string(name))]))
                default:
                    guard let data = try? StatusDocument.encoder.encode(outcome), let value = try? JSONValue.parse(data)
                    else {
                        return .failure(JSONRPC.Failure(.internalError, "Internal error: cannot encode the outcome"))
                    }
                    return .success(value)
                }
            },
        ]
    }

    /// Each record as the status document writes it.
    static func json(_ records: [DaemonRecord]) -> [(name: String, json: JSONValue)]? {
        guard let data = try? StatusDocument.encoder.encode(records),
            case .array(let values)? = try? JSONValue.parse(data)
        else { return nil }
        return Array(zip(records.map(\.name), values))
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
