import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// An HTTP/1.1 server on a Unix domain socket, for a supervisor's control API.
///
/// Hummingbird deletes an existing socket file before it binds, so a second server would silently take
/// over a live socket: callers hold the supervisor's ``PIDLock`` before running one. The socket is made
/// 0600 as soon as it is bound (it gets the umask's mode otherwise), and removed when the server stops.
public struct IPCServer<Context: RequestContext & InitializableFromSource<ApplicationRequestContextSource>>: Service {
    /// The socket's path.
    public let socketPath: String
    private let application: Application<RouterResponder<Context>>

    /// Makes a server answering with `router` on a TCP address (the control API's `control.http`), for which
    /// ``socketPath`` is empty.
    public init(
        router: Router<Context>,
        host: String,
        port: Int,
        logger: Logger,
        onReady: @escaping @Sendable () async -> Void = {}
    ) {
        socketPath = ""
        application = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { _ in await onReady() },
            logger: logger
        )
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
        application = Application(
            router: router,
            configuration: .init(address: .unixDomainSocket(path: socketPath), serverName: nil),
            onServerRunning: { _ in
                chmod(socketPath, 0o600)
                await onReady()
            },
            logger: logger
        )
    }

    /// Serves until cancelled or shut down gracefully, then removes the socket file.
    public func run() async throws {
        defer { if !socketPath.isEmpty { unlink(socketPath) } }
        try await application.run()
    }
}
