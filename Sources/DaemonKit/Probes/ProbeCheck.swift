import Dispatch
import FoundationEssentials
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One check of a readiness or liveness probe (the `process` kind's `ready` and `liveness`): a TCP address that
/// accepts a connection, an `http://` URL that answers 2xx, or a command that exits 0. Each check is bounded by
/// its timeout and says why it failed.
public enum ProbeCheck: Sendable, Hashable {
    /// A TCP address, or a Unix socket, accepting a connection.
    case connection(ListenAddress)
    /// An `http://` URL answering `GET` with a 2xx status.
    case http(String)
    /// A command exiting 0.
    case exec(Command)

    /// The outcome of one check.
    public enum Outcome: Sendable, Hashable {
        case passed
        case failed(String)

        public var passed: Bool { self == .passed }
    }

    /// Runs the check once, giving up after `timeout`.
    public func run(
        timeout: Duration,
        workingDirectory: String? = nil,
        environment: [String: String] = [:]
    ) async -> Outcome {
        switch self {
        case .connection(let address):
            return await Self.offThread { Self.openConnection(address, timeout: timeout).map { close($0) } }
                .outcome(passing: "connected")
        case .http(let url):
            return await Self.offThread { Self.get(url, timeout: timeout) }.outcome(passing: "2xx")
        case .exec(let command):
            do {
                let result = try await CommandRunner(
                    command,
                    workingDirectory: workingDirectory,
                    environment: environment,
                    timeout: timeout,
                    stopTimeout: .seconds(1)
                ).run(output: { _ in })
                if result.succeeded { return .passed }
                if result.timedOut { return .failed("'\(command)' timed out after \(timeout)") }
                return .failed(
                    "'\(command)' "
                        + (result.exitCode.map { "exited with status \($0)" }
                            ?? "was killed by signal \(result.signal ?? 0)")
                )
            } catch {
                return .failed("\(error)")
            }
        }
    }

    /// Runs blocking socket work on a thread of the global queue, not the cooperative pool. A cancelled caller gets
    /// a failure at once; the thread finishes its work (bounded by the check's timeout) and its result is dropped.
    private static func offThread(
        _ body: @escaping @Sendable () -> Result<Void, ProbeFailure>
    ) async -> Result<Void, ProbeFailure> {
        let pending = Mutex<CheckedContinuation<Result<Void, ProbeFailure>, Never>?>(nil)
        let resume: @Sendable (Result<Void, ProbeFailure>) -> Void = { result in
            pending.withLock { continuation in
                continuation?.resume(returning: result)
                continuation = nil
            }
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                pending.withLock { $0 = continuation }
                if Task.isCancelled { return resume(.failure(ProbeFailure("cancelled"))) }
                DispatchQueue.runBlocking { resume(body()) }
            }
        } onCancel: {
            resume(.failure(ProbeFailure("cancelled")))
        }
    }

    /// Connects to `address` within `timeout`; the connected descriptor, or why not.
    static func openConnection(_ address: ListenAddress, timeout: Duration) -> Result<Int32, ProbeFailure> {
        let deadline = ContinuousClock.now + timeout
        switch address {
        case .unix(let path):
            let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard descriptor >= 0 else { return .failure(ProbeFailure("cannot make a socket", errno)) }
            var peer = sockaddr_un()
            peer.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: peer.sun_path) else {
                close(descriptor)
                return .failure(ProbeFailure("the socket path is too long: \(path)"))
            }
            withUnsafeMutableBytes(of: &peer.sun_path) { buffer in
                buffer.copyBytes(from: bytes)
                buffer[bytes.count] = 0
            }
            let result = withUnsafePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            guard result == 0 else {
                let number = errno
                close(descriptor)
                return .failure(ProbeFailure("cannot connect to unix:\(path)", number))
            }
            return .success(descriptor)
        case .tcp(let host, let port):
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            hints.ai_family = AF_UNSPEC
            var list: UnsafeMutablePointer<addrinfo>?
            let status = getaddrinfo(host, String(port), &hints, &list)
            guard status == 0, let first = list else {
                return .failure(ProbeFailure("cannot resolve \(host): \(String(cString: gai_strerror(status)))"))
            }
            defer { freeaddrinfo(list) }
            var lastFailure = ProbeFailure("cannot connect to \(address)")
            var entry: UnsafeMutablePointer<addrinfo>? = first
            while let current = entry {
                entry = current.pointee.ai_next
                let descriptor = socket(
                    current.pointee.ai_family,
                    current.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue),
                    current.pointee.ai_protocol
                )
                guard descriptor >= 0 else { continue }
                if connect(descriptor, current.pointee.ai_addr, current.pointee.ai_addrlen) == 0
                    || (errno == EINPROGRESS && waitWritable(descriptor, until: deadline))
                {
                    var error: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &error, &length)
                    if error == 0 {
                        // Back to blocking mode: the HTTP check reads and writes with timeouts of its own.
                        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK)
                        return .success(descriptor)
                    }
                    lastFailure = ProbeFailure("cannot connect to \(address)", error)
                } else {
                    lastFailure =
                        ContinuousClock.now >= deadline
                        ? ProbeFailure("no connection to \(address) within \(timeout)")
                        : ProbeFailure("cannot connect to \(address)", errno)
                }
                close(descriptor)
            }
            return .failure(lastFailure)
        }
    }

    /// Waits until `descriptor` is writable (a non-blocking connect finished) or `deadline` passes.
    private static func waitWritable(_ descriptor: Int32, until deadline: ContinuousClock.Instant) -> Bool {
        while true {
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else { return false }
            let milliseconds = Int32(
                clamping: remaining.components.seconds * 1_000 + remaining.components.attoseconds
                    / 1_000_000_000_000_000 + 1
            )
            var entry = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&entry, 1, milliseconds)
            if ready > 0 { return true }
            if ready < 0 && errno != EINTR { return false }
        }
    }

    /// `GET url` within `timeout`: success on a 2xx status line.
    static func get(_ url: String, timeout: Duration) -> Result<Void, ProbeFailure> {
        guard let parts = HTTPTarget(url) else {
            return .failure(ProbeFailure("'\(url)' is not an http:// URL"))
        }
        let deadline = ContinuousClock.now + timeout
        let descriptor: Int32
        switch openConnection(.tcp(host: parts.host, port: parts.port), timeout: timeout) {
        case .success(let connected): descriptor = connected
        case .failure(let failure): return .failure(failure)
        }
        defer { close(descriptor) }
        var limit = timeval()
        let remaining = ContinuousClock.now.duration(to: deadline)
        guard remaining > .zero else { return .failure(ProbeFailure("no answer from \(url) within \(timeout)")) }
        limit.tv_sec = Int(remaining.components.seconds)
        limit.tv_usec = Int(remaining.components.attoseconds / 1_000_000_000_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        let request = Array("GET \(parts.path) HTTP/1.1\r\nHost: \(parts.hostHeader)\r\nConnection: close\r\n\r\n".utf8)
        guard
            request.withUnsafeBytes({ send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) })
                == request.count
        else { return .failure(ProbeFailure("cannot send the request to \(url)", errno)) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1_024)
        while !received.contains(0x0A) {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                received += buffer[0..<count]
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                return .failure(
                    count == 0
                        ? ProbeFailure("\(url) closed the connection without answering")
                        : ProbeFailure("no answer from \(url) within \(timeout)", errno)
                )
            }
        }
        let statusLine = String(decoding: received.prefix { $0 != 0x0D && $0 != 0x0A }, as: UTF8.self)
        let fields = statusLine.split(separator: " ")
        guard fields.count >= 2, fields[0].hasPrefix("HTTP/"), let code = Int(fields[1]) else {
            return .failure(ProbeFailure("\(url) did not answer HTTP: '\(statusLine)'"))
        }
        return (200..<300).contains(code) ? .success(()) : .failure(ProbeFailure("\(url) answered \(code)"))
    }
}

/// Why a socket check failed: one sentence, with the system's reason when there is one.
struct ProbeFailure: Error, Sendable {
    var message: String

    init(_ message: String, _ number: Int32? = nil) {
        self.message = number.map { "\(message): \(String(cString: strerror($0)))" } ?? message
    }
}

extension Result where Success == Void, Failure == ProbeFailure {
    fileprivate func outcome(passing: String) -> ProbeCheck.Outcome {
        switch self {
        case .success: return .passed
        case .failure(let failure): return .failed(failure.message)
        }
    }
}

/// The parts of an `http://host[:port][/path]` URL a probe needs.
struct HTTPTarget {
    var host: String
    var port: Int
    var path: String
    var hostHeader: String

    init?(_ url: String) {
        guard url.prefix(7).lowercased() == "http://" else { return nil }
        let rest = url.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" }
        path = rest.count > authority.count ? String(rest.dropFirst(authority.count)) : "/"
        hostHeader = String(authority)
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            guard after.isEmpty || after.hasPrefix(":") else { return nil }
            guard let parsed = after.isEmpty ? 80 : Int(after.dropFirst()) else { return nil }
            port = parsed
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            guard let parsed = Int(authority[authority.index(after: colon)...]) else { return nil }
            port = parsed
        } else {
            host = String(authority)
            port = 80
        }
        guard !host.isEmpty, (1...65_535).contains(port) else { return nil }
    }
}
