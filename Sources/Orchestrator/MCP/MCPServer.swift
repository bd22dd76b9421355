import DaemonKit
import FoundationEssentials
import Manifest

/// A Model Context Protocol server over stdio (https://modelcontextprotocol.io/specification): JSON-RPC 2.0 messages,
/// one a line, read from standard input and answered on standard output. It serves tools: `initialize`,
/// `tools/list`, `tools/call` and `ping`; notifications get no answer.
///
/// Written here rather than with the `modelcontextprotocol/swift-sdk` package: the SDK imports Foundation (its
/// `Data`, and URLSession for its HTTP transports), which would link libFoundation and ICU into every command of
/// the binary; the stdio transport and the tool methods are this file and the JSON-RPC reader the rpc kind uses.
public struct MCPServer: Sendable {
    /// One tool: its name, what it does, the JSON Schema of its arguments, and what a call does.
    public struct Tool: Sendable {
        public var name: String
        public var description: String
        /// The arguments' JSON Schema (an object schema).
        public var inputSchema: JSONValue
        /// Answers a call with its arguments (an object).
        public var call: @Sendable (JSONValue) async -> Result

        public init(
            name: String,
            description: String,
            inputSchema: JSONValue,
            call: @escaping @Sendable (JSONValue) async -> Result
        ) {
            self.name = name
            self.description = description
            self.inputSchema = inputSchema
            self.call = call
        }
    }

    /// What a tool call gives: text, and whether it is an error the model should see (not a protocol error).
    public struct Result: Sendable {
        public var text: String
        public var isError: Bool

        public init(_ text: String, isError: Bool = false) {
            self.text = text
            self.isError = isError
        }
    }

    /// The protocol versions this server speaks, the newest last.
    static let versions = ["2024-11-05", "2025-03-26", "2025-06-18"]

    public let name: String
    public let version: String
    public let instructions: String
    public let tools: [Tool]

    public init(name: String, version: String, instructions: String, tools: [Tool]) {
        self.name = name
        self.version = version
        self.instructions = instructions
        self.tools = tools
    }

    /// Serves until standard input ends.
    public func serve() async {
        while let line = readLine(strippingNewline: true) {
            guard !line.allSatisfy(\.isWhitespace) else { continue }
            if let answer = await handle(Array(line.utf8)) { FileBytes.write(answer + [UInt8(ascii: "\n")], to: 1) }
        }
    }

    /// The answer to one message, as one line of JSON; nil for a notification (or a batch of them).
    public func handle(_ message: [UInt8]) async -> [UInt8]? {
        switch JSONRPC.read(message) {
        case .unusable(let failure):
            return encode(JSONRPC.response(id: .null, .failure(failure)))
        case .single(let item):
            return await answer(item).map(encode)
        case .batch(let items):
            var answers: [JSONValue] = []
            for item in items { if let answer = await answer(item) { answers.append(answer) } }
            return answers.isEmpty ? nil : encode(.array(answers))
        }
    }

    private func encode(_ value: JSONValue) -> [UInt8] { Array(value.serialized(pretty: false).utf8) }

    private func answer(_ item: JSONRPC.Item) async -> JSONValue? {
        switch item {
        case .invalid(let id, let failure):
            return JSONRPC.response(id: id, .failure(failure))
        case .call(let call):
            let outcome = await perform(call)
            guard let id = call.id else { return nil }
            return JSONRPC.response(id: id, outcome)
        }
    }

    private func perform(_ call: JSONRPC.Call) async -> Swift.Result<JSONValue, JSONRPC.Failure> {
        switch call.method {
        case "initialize":
            let asked = call.params?["protocolVersion"].flatMap { value -> String? in
                if case .string(let text) = value { return text }
                return nil
            }
            let protocolVersion = asked.flatMap { Self.versions.contains($0) ? $0 : nil } ?? Self.versions.last!
            return .success(
                .object([
                    ("protocolVersion", .string(protocolVersion)),
                    ("capabilities", .object([("tools", .object([("listChanged", .bool(false))]))])),
                    ("serverInfo", .object([("name", .string(name)), ("version", .string(version))])),
                    ("instructions", .string(instructions)),
                ])
            )
        case "ping":
            return .success(.object([]))
        case "tools/list":
            return .success(
                .object([
                    (
                        "tools",
                        .array(
                            tools.map { tool in
                                .object([
                                    ("name", .string(tool.name)), ("description", .string(tool.description)),
                                    ("inputSchema", tool.inputSchema),
                                ])
                            }
                        )
                    )
                ])
            )
        case "tools/call":
            guard case .string(let toolName)? = call.params?["name"] else {
                return .failure(JSONRPC.Failure(.invalidParams, "tools/call needs the tool's name"))
            }
            guard let tool = tools.first(where: { $0.name == toolName }) else {
                let names = tools.map(\.name).joined(separator: ", ")
                return .failure(JSONRPC.Failure(.invalidParams, "no tool named '\(toolName)'; the tools: \(names)"))
            }
            let arguments = call.params?["arguments"] ?? .object([])
            guard case .object = arguments else {
                return .failure(JSONRPC.Failure(.invalidParams, "the arguments must be an object"))
            }
            let result = await tool.call(arguments)
            return .success(
                .object([
                    ("content", .array([.object([("type", .string("text")), ("text", .string(result.text))])])),
                    ("isError", .bool(result.isError)),
                ])
            )
        case let method where method.hasPrefix("notifications/"):
            return .success(.null)
        default:
            return .failure(JSONRPC.Failure(.methodNotFound, "Method not found: \(call.method)"))
        }
    }
}
