import FoundationEssentials
import NIOCore
import NIOHTTP1
import NIOPosix

/// TLS for a webhook's connection: adds the client's TLS handler, for `serverHostname` (nil for an address).
public protocol WebhookTLS: Sendable {
    func addClientHandler(to pipeline: ChannelPipeline.SynchronousOperations, serverHostname: String?) throws
}

/// Posts one JSON document to an `http://` or `https://` URL over HTTP/1.1, a connection each: what a `notify`
/// webhook needs, without an HTTP client library (swift-nio is already the servers' ground). HTTPS goes through
/// `tls` (the `orchestrate` executable's checks the server's certificate against the system's trust store).
struct WebhookPoster: Sendable {
    /// Why a post did not get a 2xx.
    struct Failure: Error, CustomStringConvertible {
        var description: String
        /// Whether another try may do better (a timeout, a refused connection, a 5xx, 408 or 429).
        var retryable: Bool
    }

    /// The URL's parts a request needs.
    struct Target: Sendable {
        var secure: Bool
        var host: String
        var port: Int
        /// The path and query, as the request line writes them.
        var target: String

        init?(_ url: String) {
            guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
                scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
            else { return nil }
            secure = scheme == "https"
            self.host = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
            port = components.port ?? (secure ? 443 : 80)
            let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
            target = path + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
        }
    }

    /// How long a try may take, from connecting to the whole answer.
    var timeout: Duration = .seconds(5)
    /// The waits before the second and third tries.
    var backoff: [Duration] = [.seconds(1), .seconds(2)]
    /// How an `https://` URL is reached; nil: it is not.
    var tls: (any WebhookTLS)?

    /// Posts `body` to `url`, up to 1 + `backoff.count` times while a try fails in a way another may not; the
    /// status of the answer that was a 2xx.
    func post(_ body: [UInt8], to url: String, userAgent: String) async throws -> Int {
        guard let target = Target(url) else {
            throw Failure(description: "not an http(s) URL: \(url)", retryable: false)
        }
        var waits = backoff[...]
        while true {
            do {
                return try await attempt(body, to: target, userAgent: userAgent)
            } catch let failure as Failure where failure.retryable && !waits.isEmpty {
                try await Task.sleep(for: waits.removeFirst())
            }
        }
    }

    private func attempt(_ body: [UInt8], to target: Target, userAgent: String) async throws -> Int {
        let group = MultiThreadedEventLoopGroup.singleton
        let promise = group.next().makePromise(of: Int.self)
        guard !target.secure || tls != nil else {
            throw Failure(description: "this build of orchestrate cannot post to https:// URLs", retryable: false)
        }
        let tls = target.secure ? self.tls : nil
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        // SNI and the certificate's name check need a name, not an address.
                        let isName = target.host.contains { $0.isLetter } && !target.host.contains(":")
                        try tls.addClientHandler(
                            to: channel.pipeline.syncOperations,
                            serverHostname: isName ? target.host : nil
                        )
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(StatusHandler(promise: promise))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: target.host, port: target.port).get()
        } catch {
            promise.fail(error)
            throw Failure(description: "cannot connect to \(target.host):\(target.port): \(error)", retryable: true)
        }
        let timer = channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000))
        {
            promise.fail(Failure(description: "no answer within \(timeout)", retryable: true))
            channel.close(promise: nil)
        }
        defer { timer.cancel() }
        var headers = HTTPHeaders()
        headers.add(
            name: "Host",
            value: target.port == (target.secure ? 443 : 80) ? target.host : "\(target.host):\(target.port)"
        )
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(body.count))
        headers.add(name: "User-Agent", value: userAgent)
        headers.add(name: "Connection", value: "close")
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: target.target, headers: headers)
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        let status: Int
        do {
            status = try await promise.futureResult.get()
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(description: "\(error)", retryable: true)
        }
        channel.close(promise: nil)
        guard (200..<300).contains(status) else {
            throw Failure(description: "answered \(status)", retryable: status >= 500 || status == 408 || status == 429)
        }
        return status
    }
}

/// Reads the answer's status, and lets the body go.
private final class StatusHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    let promise: EventLoopPromise<Int>
    /// Only touched on the channel's event loop.
    private var status: Int?

    init(promise: EventLoopPromise<Int>) { self.promise = promise }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): status = Int(head.status.code)
        case .body: break
        case .end:
            if let status { promise.succeed(status) }
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(WebhookPoster.Failure(description: "\(error)", retryable: true))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(WebhookPoster.Failure(description: "the connection closed before the answer", retryable: true))
    }
}
