#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A small, blocking HTTP/1.1 client over a Unix domain socket: what the CLI uses to talk to a supervisor.
///
/// Each request opens a connection, sends `Connection: close`, and reads the response to the end, which is
/// all a command-line call needs and keeps `orchestrate status` to a few system calls. `stream` reads a
/// Server-Sent Events response line by line for `--watch` and `/v1/events`.
public struct IPCClient: Sendable {
    /// The longest path a `sockaddr_un` holds on Linux, without its terminating NUL.
    public static let maximumSocketPathLength = 107

    /// A response: status, headers (names lower-cased) and body.
    public struct Response: Sendable {
        /// The HTTP status code.
        public var status: Int
        /// The headers, names lower-cased, in order.
        public var headers: [(name: String, value: String)]
        /// The body.
        public var body: [UInt8]

        /// The body as UTF-8 text.
        public var text: String { String(decoding: body, as: UTF8.self) }

        /// The first header named `name` (case-insensitive).
        public func header(_ name: String) -> String? {
            let wanted = name.lowercased()
            return headers.first { $0.name == wanted }?.value
        }
    }

    /// The socket's path.
    public let socketPath: String
    /// How long connecting, sending and each read may take.
    public var timeout: Duration

    /// Makes a client for the socket at `socketPath`.
    public init(socketPath: String, timeout: Duration = .seconds(30)) {
        self.socketPath = socketPath
        self.timeout = timeout
    }

    /// Sends one request and reads the whole response.
    ///
    /// Throws `.notRunning` when nothing listens on the socket (no file, or connection refused), and
    /// `.ipc` for other failures.
    public func send(
        _ method: String,
        _ path: String,
        body: [UInt8] = [],
        headers: [(String, String)] = []
    ) throws(DaemonKitError) -> Response {
        let connection = try Connection(path: socketPath, timeout: timeout)
        defer { connection.close() }
        try connection.write(Self.request(method, path, body: body, headers: headers))
        var reader = ResponseReader()
        while !reader.isComplete {
            let chunk = try connection.read()
            if chunk.isEmpty {
                reader.finish()
                break
            }
            try reader.consume(chunk)
        }
        return try reader.response()
    }

    /// Sends a GET and hands each line of the streamed body to `onLine` (without its line break) until
    /// `onLine` returns false or the server ends the stream; returns the status and headers.
    @discardableResult
    public func stream(_ path: String, onLine: (String) -> Bool) throws(DaemonKitError) -> Response {
        let connection = try Connection(path: socketPath, timeout: nil)
        defer { connection.close() }
        try connection.write(Self.request("GET", path, body: [], headers: [("Accept", "text/event-stream")]))
        var reader = ResponseReader()
        var pending: [UInt8] = []
        var delivered = 0
        while true {
            let chunk = try connection.read()
            if chunk.isEmpty { break }
            try reader.consume(chunk)
            guard reader.headersComplete else { continue }
            pending += reader.body[delivered...]
            delivered = reader.body.count
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                var line = pending[..<newline]
                if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
                pending.removeSubrange(...newline)
                if !onLine(String(decoding: line, as: UTF8.self)) { return try reader.head() }
            }
            if reader.isComplete { break }
        }
        return try reader.head()
    }

    static func request(_ method: String, _ path: String, body: [UInt8], headers: [(String, String)]) -> [UInt8] {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: orchestrate\r\nConnection: close\r\n"
        head += "Content-Length: \(body.count)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        return Array(head.utf8) + body
    }
}

/// One connected Unix socket.
private struct Connection {
    let descriptor: Int32
    let socketPath: String

    init(path: String, timeout: Duration?) throws(DaemonKitError) {
        socketPath = path
        guard path.utf8.count <= IPCClient.maximumSocketPathLength else {
            throw DaemonKitError(
                code: .ipc,
                message: "socket path '\(path)' is longer than \(IPCClient.maximumSocketPathLength) bytes"
            )
        }
        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else {
            throw DaemonKitError(code: .ipc, message: "cannot create a socket", errno: errno)
        }
        if let timeout {
            var value = timeval(
                tv_sec: Int(timeout.components.seconds),
                tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000)
            )
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
            raw[path.utf8.count] = 0
        }
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if connected != 0 {
            let failure = errno
            Glibc.close(descriptor)
            if failure == ENOENT || failure == ECONNREFUSED {
                throw DaemonKitError(code: .notRunning, message: "no supervisor listens on \(path)", errno: failure)
            }
            throw DaemonKitError(code: .ipc, message: "cannot connect to \(path)", errno: failure)
        }
    }

    func write(_ bytes: [UInt8]) throws(DaemonKitError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw DaemonKitError(code: .ipc, message: "cannot send to \(socketPath)", errno: errno)
            }
            offset += written
        }
    }

    /// The next bytes, or none at the end of the stream.
    func read() throws(DaemonKitError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count >= 0 { return Array(buffer[..<count]) }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK {
                throw DaemonKitError(code: .ipc, message: "the supervisor did not answer in time", errno: errno)
            }
            throw DaemonKitError(code: .ipc, message: "cannot read from \(socketPath)", errno: errno)
        }
    }

    func close() { Glibc.close(descriptor) }
}

/// Parses an HTTP/1.1 response as its bytes arrive: status line, headers, then a body delimited by
/// Content-Length, chunked encoding, or the end of the connection.
private struct ResponseReader {
    private var buffer: [UInt8] = []
    private var status = 0
    private var headers: [(name: String, value: String)] = []
    private(set) var headersComplete = false
    private(set) var body: [UInt8] = []
    private var contentLength: Int?
    private var chunked = false
    private var chunkRemaining = 0
    private var ended = false

    var isComplete: Bool {
        guard headersComplete else { return false }
        if ended { return true }
        if let contentLength { return body.count >= contentLength }
        return false
    }

    mutating func finish() { ended = true }

    mutating func consume(_ bytes: [UInt8]) throws(DaemonKitError) {
        buffer += bytes
        if !headersComplete {
            guard let end = Self.find([13, 10, 13, 10], in: buffer) else { return }
            try parseHead(Array(buffer[..<end]))
            buffer.removeSubrange(..<(end + 4))
            headersComplete = true
        }
        if chunked {
            try consumeChunks()
        } else {
            body += buffer
            buffer.removeAll()
        }
    }

    private mutating func consumeChunks() throws(DaemonKitError) {
        while !ended {
            if chunkRemaining > 0 {
                let take = min(chunkRemaining, buffer.count)
                guard take > 0 else { return }
                body += buffer[..<take]
                buffer.removeSubrange(..<take)
                chunkRemaining -= take
                if chunkRemaining == 0 { chunkRemaining = -2 }  // the CRLF after the data
                continue
            }
            if chunkRemaining == -2 {
                guard buffer.count >= 2 else { return }
                buffer.removeSubrange(..<2)
                chunkRemaining = 0
                continue
            }
            guard let lineEnd = Self.find([13, 10], in: buffer) else { return }
            let sizeText = String(decoding: buffer[..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingWhitespace(), radix: 16) else {
                throw DaemonKitError(code: .ipc, message: "malformed chunked response from the supervisor")
            }
            buffer.removeSubrange(..<(lineEnd + 2))
            if size == 0 {
                ended = true
                return
            }
            chunkRemaining = size
        }
    }

    private mutating func parseHead(_ head: [UInt8]) throws(DaemonKitError) {
        let lines = String(decoding: head, as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusParts = lines.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let code = Int(statusParts[1]) else {
            throw DaemonKitError(code: .ipc, message: "malformed response from the supervisor")
        }
        status = code
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = String(line[line.index(after: colon)...]).trimmingWhitespace()
            headers.append((name, value))
            if name == "content-length" { contentLength = Int(value) }
            if name == "transfer-encoding", value.lowercased().contains("chunked") { chunked = true }
        }
    }

    func head() throws(DaemonKitError) -> IPCClient.Response {
        guard headersComplete else {
            throw DaemonKitError(code: .ipc, message: "the supervisor closed the connection without answering")
        }
        return IPCClient.Response(status: status, headers: headers, body: [])
    }

    func response() throws(DaemonKitError) -> IPCClient.Response {
        var response = try head()
        response.body = body
        return response
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<(start + needle.count)].elementsEqual(needle) { return start }
        }
        return nil
    }
}
