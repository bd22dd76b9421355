import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Where a request of the end-to-end tests goes: the control API (on the control socket or on `control.http`) or an
/// rpc daemon (on TCP or a Unix socket).
public struct APIServer: Sendable {
    /// Which API the server speaks.
    public enum Role: String, Sendable {
        case control, rpc
    }

    public var role: Role
    /// `HOST:PORT` for TCP; nil for a Unix socket.
    public var address: String?
    /// The socket's path; nil for TCP.
    public var socketPath: String?
    /// Sent as `Authorization: Bearer KEY` with every request, when set.
    public var key: String?

    /// The control API on a supervisor's control socket.
    public static func controlSocket(_ path: String) -> APIServer {
        APIServer(role: .control, address: nil, socketPath: path, key: nil)
    }

    /// The control API on `control.http` (`HOST:PORT`).
    public static func controlHTTP(_ address: String, key: String? = nil) -> APIServer {
        APIServer(role: .control, address: address, socketPath: nil, key: key)
    }

    /// An rpc daemon on TCP: `HOST:PORT`, or a base URL `http://HOST:PORT`.
    public static func rpc(_ address: String, key: String? = nil) -> APIServer {
        let bare = address.hasPrefix("http://") ? String(address.dropFirst(7)) : address
        return APIServer(role: .rpc, address: bare, socketPath: nil, key: key)
    }

    /// An rpc daemon on a Unix socket.
    public static func rpcSocket(_ path: String, key: String? = nil) -> APIServer {
        APIServer(role: .rpc, address: nil, socketPath: path, key: key)
    }

    /// The same server, with `key` sent (or none).
    public func with(key: String?) -> APIServer {
        var server = self
        server.key = key
        return server
    }

    /// The URL of `path` on the server (any host name does on a socket).
    public func url(_ path: String) -> String { (address.map { "http://" + $0 } ?? "http://localhost") + path }

    /// curl's arguments to reach the server.
    var curlArguments: [String] { socketPath.map { ["--unix-socket", $0] } ?? [] }
}

/// An answer: its status, headers and body.
public struct APIResponse: Sendable {
    public var status: Int
    /// The headers, by lower-cased name.
    public var headers: [String: String]
    public var body: Data

    /// The `Content-Type` header, when there is one.
    public var contentType: String? { headers["content-type"] }
    /// The body as text.
    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The body as JSON.
    public func json() throws -> Any { try JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) }

    /// The body as a JSON object.
    public func object() throws -> [String: Any] {
        guard let object = try json() as? [String: Any] else {
            throw APIClientError(message: "expected a JSON object, got: \(text.prefix(200))")
        }
        return object
    }
}

/// A request that got no HTTP answer.
public struct APIClientError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// The one HTTP client of the end-to-end tests: every call to the control API and to rpc daemons goes through it
/// (curl, a real client), and each exchange is recorded as a JSON line in the folder that `ORCHESTRATE_API_EXCHANGES`
/// names, for `make test` to check against schemas/control-api.openapi.yaml (Tests/api/check_exchanges.py).
public enum APIClient {
    /// Sends `method path` (with its query) to `server` and returns the answer. A `body` goes with `contentType`.
    /// `streaming` is for an event stream read until `timeout`: its answer is what arrived by then. `offSpec` marks a
    /// request to a route the API does not have, on purpose (the check expects a 404 with an error body).
    public static func send(
        _ method: String,
        _ path: String,
        to server: APIServer,
        body: String? = nil,
        contentType: String? = "application/json",
        headers: [String: String] = [:],
        timeout: Duration = .seconds(10),
        streaming: Bool = false,
        offSpec: Bool = false
    ) async throws -> APIResponse {
        // The test's name is read here: the request runs on a thread of its own, outside the test's task.
        let test = Test.current?.name
        return try await offPool {
            try sendBlocking(
                method,
                path,
                to: server,
                body: body.map { Data($0.utf8) },
                contentType: contentType,
                headers: headers,
                timeout: timeout,
                streaming: streaming,
                offSpec: offSpec,
                test: test
            )
        }
    }

    /// Opens an event stream (`GET path`) that reads until ``APIStream/close()``.
    public static func openStream(
        _ path: String,
        on server: APIServer,
        headers: [String: String] = [:]
    ) throws -> APIStream {
        try APIStream(path: path, server: server, headers: headers)
    }

    private static func sendBlocking(
        _ method: String,
        _ path: String,
        to server: APIServer,
        body: Data?,
        contentType: String?,
        headers: [String: String],
        timeout: Duration,
        streaming: Bool,
        offSpec: Bool,
        test: String?
    ) throws -> APIResponse {
        let folder = try TemporaryDirectory(prefix: "api-call")
        defer { folder.remove() }
        var arguments = ["curl", "-sS", "-X", method, "-D", folder.url("headers"), "-o", folder.url("body")]
        arguments += ["--max-time", String(format: "%.3f", seconds(timeout)), "-H", "Expect:"]
        if streaming { arguments.append("-N") }
        arguments += server.curlArguments + headerArguments(server, headers)
        if let body {
            try body.write(to: URL(fileURLWithPath: folder.url("request")))
            arguments += ["--data-binary", "@" + folder.url("request")]
            if let contentType, headers.keys.allSatisfy({ $0.lowercased() != "content-type" }) {
                arguments += ["-H", "Content-Type: \(contentType)"]
            }
        }
        arguments.append(server.url(path))
        let result = try TestProcess.run(arguments, deadline: timeout + .seconds(30))
        // 28 is curl's "the time ran out", how a bounded read of an event stream ends.
        let timedOut = result.status == 28
        guard result.status == 0 || (streaming && timedOut) else {
            throw APIClientError(
                message: "curl \(method) \(server.url(path)) exited \(result.status): \(result.stderr)"
            )
        }
        guard let head = parseHead(folder.url("headers")) else {
            throw APIClientError(message: "no answer from \(method) \(server.url(path)): \(result.stderr)")
        }
        let bodyData = (try? Data(contentsOf: URL(fileURLWithPath: folder.url("body")))) ?? Data()
        let response = APIResponse(status: head.status, headers: head.headers, body: bodyData)
        ExchangeLog.record(
            method,
            path,
            server,
            response,
            truncated: streaming && timedOut,
            offSpec: offSpec,
            test: test
        )
        return response
    }

    static func headerArguments(_ server: APIServer, _ headers: [String: String]) -> [String] {
        var arguments: [String] = []
        if let key = server.key { arguments += ["-H", "Authorization: Bearer \(key)"] }
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { arguments += ["-H", "\(name): \(value)"] }
        return arguments
    }

    /// The status and headers of the last response in a file curl's `-D` wrote.
    static func parseHead(_ path: String) -> (status: Int, headers: [String: String])? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        var status: Int?
        var headers: [String: String] = [:]
        for line in text.split(separator: "\r\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("HTTP/") {
                // A new response (after an interim one): its headers replace the earlier ones.
                status = line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
                headers = [:]
            } else if let colon = line.firstIndex(of: ":") {
                let name = line[..<colon].lowercased()
                headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return status.map { ($0, headers) }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// An event stream being read by a curl of its own, in the background, until ``close()``, which records the exchange
/// with the body as received so far.
public final class APIStream: @unchecked Sendable {
    private let process = Process()
    private let folder: TemporaryDirectory
    private let path: String
    private let server: APIServer
    private let test = Test.current?.name
    // Guarded by `lock`.
    private let lock = NSLock()
    private var closed = false

    init(path: String, server: APIServer, headers: [String: String]) throws {
        self.path = path
        self.server = server
        folder = try TemporaryDirectory(prefix: "api-stream")
        try Data().write(to: URL(fileURLWithPath: folder.url("body")))
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            ["curl", "-sN", "--max-time", "120", "-D", folder.url("headers"), "-o", folder.url("body")]
            + server.curlArguments + APIClient.headerArguments(server, headers) + [server.url(path)]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// What has arrived so far.
    public var text: String {
        String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: folder.url("body")))) ?? Data(), as: UTF8.self)
    }

    /// Its lines so far.
    public var lines: [String] { text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }

    /// Ends the client (by its PID) and records the exchange; once only.
    public func close() {
        lock.lock()
        defer { lock.unlock() }
        guard !closed else { return }
        closed = true
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        if let head = APIClient.parseHead(folder.url("headers")) {
            let body = (try? Data(contentsOf: URL(fileURLWithPath: folder.url("body")))) ?? Data()
            let response = APIResponse(status: head.status, headers: head.headers, body: body)
            ExchangeLog.record("GET", path, server, response, truncated: true, offSpec: false, test: test)
        }
        folder.remove()
    }

    deinit { close() }
}

/// The record of the exchanges, one JSON line each, in `$ORCHESTRATE_API_EXCHANGES/exchanges-PID.jsonl`; nothing
/// when the variable is not set.
public enum ExchangeLog {
    private static let lock = NSLock()

    /// Records an exchange.
    static func record(
        _ method: String,
        _ path: String,
        _ server: APIServer,
        _ response: APIResponse,
        truncated: Bool,
        offSpec: Bool,
        test: String?,
        via: String? = nil
    ) {
        var entry: [String: Any] = [
            "server": server.role.rawValue,
            "transport": server.socketPath == nil ? "tcp" : "unix",
            "address": server.address ?? "localhost",
            "method": method,
            "path": path,
            "status": response.status,
            "content_type": response.contentType ?? NSNull(),
            "truncated": truncated,
            "off_spec": offSpec,
            "test": test ?? NSNull(),
        ]
        if let via { entry["via"] = via }
        if let text = String(validating: response.body, as: UTF8.self) {
            entry["body"] = text
        } else {
            entry["body_base64"] = response.body.base64EncodedString()
        }
        append(entry)
    }

    /// Records what `orchestrate status --json` printed: the body of the `GET /v1/status` it made on the control
    /// socket, which it prints as it came.
    public static func recordStatusCommand(_ stdout: String) {
        let response = APIResponse(
            status: 200,
            headers: ["content-type": "application/json"],
            body: Data(stdout.trimmingCharacters(in: .newlines).utf8)
        )
        record(
            "GET",
            "/v1/status",
            .controlSocket(""),
            response,
            truncated: false,
            offSpec: false,
            test: Test.current?.name,
            via: "orchestrate status --json"
        )
    }

    private static func append(_ entry: [String: Any]) {
        guard let folder = ProcessInfo.processInfo.environment["ORCHESTRATE_API_EXCHANGES"], !folder.isEmpty,
            var line = try? JSONSerialization.data(withJSONObject: entry, options: [.sortedKeys])
        else { return }
        line.append(0x0A)
        lock.lock()
        defer { lock.unlock() }
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let file = folder + "/exchanges-\(getpid()).jsonl"
        let descriptor = open(file, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        _ = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    }
}
