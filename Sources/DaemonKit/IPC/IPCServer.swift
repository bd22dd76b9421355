import FoundationEssentials
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// An HTTP/1.1 server on a Unix domain socket, for a supervisor's control API.
///
/// Hummingbird deletes an existing socket file before it binds, so a second server would silently take
/// over a live socket: callers hold the supervisor's ``PIDLock`` before running one. The socket is made
/// 0600 as soon as it is bound (it gets the umask's mode otherwise), and removed when the server stops.
///
/// The server is hummingbird's HTTP/1.1 server and router without hummingbird's `Application`, whose `Date`
/// header cache wakes the process every second: a supervisor with nothing due must not wake at all. The
/// `Date` header is formatted per response instead, which costs a microsecond on a control request.
public struct IPCServer<Context: RequestContext & InitializableFromSource<ApplicationRequestContextSource>>: Service {
    /// The socket's path.
    public let socketPath: String
    private let responder: RouterResponder<Context>
    private let address: BindAddress
    /// The address as text, for ``description``.
    private let endpoint: String
    private let logger: Logger
    private let onReady: @Sendable () async -> Void
    private let onListening: @Sendable (_ port: Int?) async -> Void
    /// How long a connection may sit idle, or in the middle of sending a request, before it is closed; nil for
    /// never. A response being written (an event stream) is never cut.
    public var idleTimeout: Duration?

    /// Makes a server answering with `router` on a TCP address (the control API's `control.http`), for which
    /// ``socketPath`` is empty. `onListening` is told the port bound (the one the kernel chose for port 0).
    public init(
        router: Router<Context>,
        host: String,
        port: Int,
        logger: Logger,
        onReady: @escaping @Sendable () async -> Void = {},
        onListening: @escaping @Sendable (_ port: Int?) async -> Void = { _ in }
    ) {
        socketPath = ""
        responder = router.buildResponder()
        address = .hostname(host, port: port)
        endpoint = "\(host):\(port)"
        self.logger = logger
        self.onReady = onReady
        self.onListening = onListening
    }

    /// Makes a server answering with `router` on `socketPath`; `onReady` runs once the socket accepts
    /// connections with its final mode.
    public init(
        router: Router<Context>,
        socketPath: String,
        logger: Logger,
        onReady: @escaping @Sendable () async -> Void = {}
    ) {
        self.socketPath = socketPath
        responder = router.buildResponder()
        address = .unixDomainSocket(path: socketPath)
        endpoint = socketPath
        self.logger = logger
        self.onReady = { [socketPath] in
            chmod(socketPath, 0o600)
            await onReady()
        }
        onListening = { _ in }
    }

    /// Serves until the task is cancelled or the service group shuts down; then removes the socket file.
    ///
    /// - Throws: `.serverUnavailable` when the socket path holds a live socket (another server answers there: a
    ///   supervisor's control socket named by an rpc daemon's `listen`, say) or something that is not a socket.
    ///   A stale socket file, which nothing answers, is replaced.
    public func run() async throws {
        if !socketPath.isEmpty { try Self.checkFree(socketPath) }
        defer { if !socketPath.isEmpty { unlink(socketPath) } }
        let (responder, logger, onReady, onListening) = (responder, logger, onReady, onListening)
        let timeout = idleTimeout.map { duration -> TimeAmount in
            let (seconds, attoseconds) = duration.components
            return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        }
        let server = try HTTPServerBuilder.http1(configuration: .init(idleTimeout: timeout)).buildServer(
            configuration: ServerConfiguration(address: address, serverName: nil),
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            logger: logger,
            responder: { request, writer, channel in
                let context = Context(source: ApplicationRequestContextSource(channel: channel, logger: logger))
                var response: Response
                do {
                    response = try await responder.respond(to: request, context: context)
                } catch {
                    logger.debug("unhandled error", metadata: ["error": "\(error)"])
                    response = Response(status: .internalServerError)
                }
                response.headers[.date] = HTTPDate.now()
                try await writer.write(response: response.head, body: response.body)
            },
            onServerRunning: { channel in
                // The port bound (the one the kernel picked for port 0), before anything is told it is ready.
                await onListening(channel.localAddress?.port)
                await onReady()
            }
        )
        try await server.run()
    }
}

extension IPCServer {
    /// Refuses a socket path that another server answers on, or that is not a socket: hummingbird would delete the
    /// file and take the path over.
    static func checkFree(_ path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw DaemonKitError(
                code: .serverUnavailable,
                message: "\(path) exists and is not a socket; it is left alone"
            )
        }
        if case .success(let descriptor) = ProbeCheck.openConnection(.unix(path: path), timeout: .seconds(1)) {
            close(descriptor)
            throw DaemonKitError(
                code: .serverUnavailable,
                message: "unix:\(path) is in use: another server answers there, and it is not taken over"
            )
        }
    }
}

/// The `Date` header's format (RFC 9110 IMF-fixdate): `Sun, 06 Nov 1994 08:49:37 GMT`.
enum HTTPDate {
    static func now() -> String {
        var seconds = time(nil)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return
            "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(1900 + parts.tm_year) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}

extension DaemonKitError {
    /// Why a server could not listen, in words: "Address already in use" rather than SwiftNIO's
    /// `bind(descriptor:ptr:bytes:): Address already in use) (errno: 98)`.
    public static func serverFailureReason(_ error: any Error) -> String {
        guard let failure = error as? IOError else { return "\(error)" }
        return String(cString: strerror(failure.errnoCode))
    }
}

extension IPCServer: CustomStringConvertible {
    /// "server on /path/orchestrate.sock": what swift-service-lifecycle names the service by. Without it the name is
    /// the struct printed by reflection, which cost about 2 ms of every supervisor's start-up.
    public var description: String { "server on \(endpoint)" }
}
