import Manifest

/// JSON-RPC 2.0 (https://www.jsonrpc.org/specification): reading a request body into calls, and writing
/// responses. Transport-free, so its rules are tested without a server.
enum JSONRPC {
    /// The specification's error codes, and the server's own `busy`.
    enum Code: Int, Sendable {
        case parseError = -32700
        case invalidRequest = -32600
        case methodNotFound = -32601
        case invalidParams = -32602
        case internalError = -32603
        /// Every slot and the queue are taken: try again later.
        case busy = -32000
    }

    /// An error to answer a call with.
    struct Failure: Error, Sendable, Hashable {
        var code: Int
        var message: String
        var data: JSONValue?

        init(_ code: Code, _ message: String, data: JSONValue? = nil) {
            self.code = code.rawValue
            self.message = message
            self.data = data
        }
    }

    /// A well-formed call. `id` is nil for a notification, which gets no response.
    struct Call: Sendable, Hashable {
        var id: JSONValue?
        var method: String
        /// An array or an object, or nil when absent.
        var params: JSONValue?
    }

    /// One element of a body: a call, or an invalid request to answer with an error (and the id, if it had one).
    enum Item: Sendable, Hashable {
        case call(Call)
        case invalid(id: JSONValue, Failure)
    }

    /// What a body holds.
    enum Body: Sendable, Hashable {
        case single(Item)
        case batch([Item])
        /// Not JSON, or an empty batch: answered with one error response.
        case unusable(Failure)
    }

    /// Reads a request body.
    static func read(_ bytes: [UInt8]) -> Body {
        let document: JSONValue
        do {
            document = try JSONValue.parse(bytes)
        } catch {
            return .unusable(Failure(.parseError, "Parse error", data: .string(error.description)))
        }
        if case .array(let elements) = document {
            guard !elements.isEmpty else { return .unusable(Failure(.invalidRequest, "Invalid Request: empty batch")) }
            return .batch(elements.map(item))
        }
        return .single(item(document))
    }

    /// One request object, checked against the specification.
    static func item(_ value: JSONValue) -> Item {
        guard case .object = value else {
            return .invalid(id: .null, Failure(.invalidRequest, "Invalid Request: expected an object"))
        }
        let id = value["id"]
        let answerID = id ?? .null
        switch id {
        case nil, .string?, .int?, .double?, .null?: break
        default:
            return .invalid(id: .null, Failure(.invalidRequest, "Invalid Request: id must be a string or a number"))
        }
        guard value["jsonrpc"] == .string("2.0") else {
            return .invalid(id: answerID, Failure(.invalidRequest, "Invalid Request: jsonrpc must be \"2.0\""))
        }
        guard case .string(let method)? = value["method"] else {
            return .invalid(id: answerID, Failure(.invalidRequest, "Invalid Request: method must be a string"))
        }
        let params = value["params"]
        switch params {
        case nil, .array?, .object?: break
        default:
            return .invalid(
                id: answerID,
                Failure(.invalidRequest, "Invalid Request: params must be an array or an object")
            )
        }
        return .call(Call(id: id, method: method, params: params))
    }

    /// The response to a call with `id`.
    static func response(id: JSONValue, _ outcome: Result<JSONValue, Failure>) -> JSONValue {
        switch outcome {
        case .success(let result):
            return .object([("jsonrpc", .string("2.0")), ("id", id), ("result", result)])
        case .failure(let failure):
            var error: [(String, JSONValue)] = [("code", .int(failure.code)), ("message", .string(failure.message))]
            if let data = failure.data { error.append(("data", data)) }
            return .object([("jsonrpc", .string("2.0")), ("id", id), ("error", .object(error))])
        }
    }
}
