import DaemonKit
import FoundationEssentials
import Manifest
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The methods an rpc daemon answers on `POST /rpc`: the manifest's command methods and the built-ins.
///
/// A command method gets `params` as JSON on standard input and `ORCHESTRATE_RPC_METHOD` in its environment; what
/// it prints on standard output is the result (JSON as is, other text as a JSON string). A non-zero exit is error
/// `-32001`, a timeout `-32002`, both with the exit status and the tail of standard error in `data`. Command
/// methods run at most `max_concurrency` at once, `max_queue` more wait, and the rest get `-32000 busy`.
struct RPCMethods: Sendable {
    /// One method as `GET /methods` lists it.
    struct Listing: Sendable, Encodable {
        var name: String
        var description: String
        var timeout: Duration?
        var builtin: Bool

        enum CodingKeys: String, CodingKey {
            case name, description, timeout, builtin
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(description, forKey: .description)
            try container.encode(builtin, forKey: .builtin)
            try container.encodeIfPresent(timeout.map(DurationText.format), forKey: .timeout)
        }
    }

    /// Server-defined error codes (the -32000 range is the implementation's).
    enum CommandCode: Int {
        case failed = -32001
        case timedOut = -32002
    }

    /// The most of a command's standard output kept as its result, and of its standard error kept for `data`.
    static let resultLimit = 16 << 20
    static let errorTailLimit = 4_096

    let spec: DaemonSpec
    let rpc: RPCSpec
    let limiter: CallLimiter
    let builtins: [String: Builtin]

    /// A built-in method: its description and what it does.
    struct Builtin: Sendable {
        var description: String
        var run: @Sendable (JSONValue?, DaemonContext) async -> Result<JSONValue, JSONRPC.Failure>
    }

    init(spec: DaemonSpec, rpc: RPCSpec, builtins: [String: Builtin]) {
        self.spec = spec
        self.rpc = rpc
        self.builtins = builtins
        let slots = rpc.maxConcurrency ?? ProcessInfo.processInfo.activeProcessorCount * 4
        limiter = CallLimiter(slots: slots, queueLimit: rpc.maxQueue)
    }

    /// Every method, sorted by name: built-ins and commands.
    var listing: [Listing] {
        let commands = rpc.methods.map {
            Listing(name: $0.name, description: $0.description ?? "", timeout: $0.timeout, builtin: false)
        }
        let builtin = builtins.map {
            Listing(name: $0.key, description: $0.value.description, timeout: nil, builtin: true)
        }
        return (commands + builtin).sorted { $0.name < $1.name }
    }

    /// Whether the daemon has a method of that name (one of its commands, or a built-in).
    func has(_ name: String) -> Bool { builtins[name] != nil || rpc.methods.contains { $0.name == name } }

    /// Answers one call.
    func call(_ call: JSONRPC.Call, context: DaemonContext) async -> Result<JSONValue, JSONRPC.Failure> {
        if let builtin = builtins[call.method] { return await builtin.run(call.params, context) }
        guard let method = rpc.methods.first(where: { $0.name == call.method }) else {
            return .failure(JSONRPC.Failure(.methodNotFound, "Method not found: \(call.method)"))
        }
        guard await limiter.acquire() else {
            return .failure(JSONRPC.Failure(.busy, "busy: every slot and the queue are taken; try again later"))
        }
        defer { limiter.release() }
        return await run(method, params: call.params ?? .null, context: context)
    }

    /// Runs a command method.
    private func run(
        _ method: RPCSpec.Method,
        params: JSONValue,
        context: DaemonContext
    ) async -> Result<
        JSONValue, JSONRPC.Failure
    > {
        var environment = spec.environment
        environment[CommandVariable.daemon.name] = context.name
        environment[CommandVariable.rpcMethod.name] = method.name
        let runner = CommandRunner(
            method.command,
            workingDirectory: spec.workingDirectory,
            environment: environment,
            timeout: method.timeout,
            stopSignal: spec.stopSignal,
            stopTimeout: spec.stopTimeout,
            standardInput: Array(params.serialized(pretty: false).utf8) + [0x0A]
        )
        let output = BoundedBytes(limit: Self.resultLimit, keep: .head)
        let errors = BoundedBytes(limit: Self.errorTailLimit, keep: .tail)
        let log = context.log
        let result: CommandRunResult
        do {
            result = try await runner.run(
                onStart: { context.processGroups?.add($0.pid) },
                output: { output.append($0) },
                errorOutput: { chunk in
                    errors.append(chunk)
                    log.write(chunk)
                }
            )
        } catch {
            return .failure(JSONRPC.Failure(.internalError, "Internal error: \(error)"))
        }
        context.processGroups?.remove(result.pid)
        let tail = String(decoding: errors.bytes, as: UTF8.self)
        guard result.succeeded else {
            var data: [(String, JSONValue)] = [("stderr", .string(tail))]
            if let code = result.exitCode { data.append(("exit_code", .int(Int(code)))) }
            if let signal = result.signal { data.append(("signal", .int(Int(signal)))) }
            if result.timedOut {
                let limit = DurationText.format(method.timeout)
                return .failure(
                    JSONRPC.Failure(
                        code: CommandCode.timedOut.rawValue,
                        "'\(method.name)' timed out after \(limit)",
                        data
                    )
                )
            }
            return .failure(
                JSONRPC.Failure(
                    code: CommandCode.failed.rawValue,
                    "'\(method.name)' failed (\(result.exitCode.map { "exit status \($0)" } ?? "killed by a signal"))",
                    data
                )
            )
        }
        return .success(Self.result(from: output.bytes))
    }

    /// A command's output as a result: its JSON, or its text as a JSON string (without the final newline).
    static func result(from bytes: [UInt8]) -> JSONValue {
        if let value = try? JSONValue.parse(bytes) { return value }
        var text = String(decoding: bytes, as: UTF8.self)
        if text.hasSuffix("\n") { text.removeLast() }
        return .string(text)
    }
}

extension JSONRPC.Failure {
    /// A server-defined error with its data.
    init(code: Int, _ message: String, _ data: [(String, JSONValue)]) {
        self.code = code
        self.message = message
        self.data = .object(data)
    }
}

/// Bytes gathered from a pipe, bounded: the first `limit` bytes (a result) or the last (an error's tail).
final class BoundedBytes: Sendable {
    enum Keep { case head, tail }

    private let storage = Mutex<[UInt8]>([])
    private let limit: Int
    private let keep: Keep

    init(limit: Int, keep: Keep) {
        self.limit = limit
        self.keep = keep
    }

    func append(_ chunk: ArraySlice<UInt8>) {
        storage.withLock { storage in
            switch keep {
            case .head:
                storage += chunk.prefix(max(0, limit - storage.count))
            case .tail:
                storage += chunk
                if storage.count > limit { storage.removeFirst(storage.count - limit) }
            }
        }
    }

    var bytes: [UInt8] { storage.withLock { $0 } }
}
