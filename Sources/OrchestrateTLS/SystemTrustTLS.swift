import NIOCore
import NIOSSL
import Orchestrator

/// HTTPS for `notify` webhooks, through swift-nio-ssl, checking the server's certificate against the system's trust
/// store. A module of its own, so that a program built on the library without HTTPS webhooks (the custom-kind
/// example) does not compile BoringSSL; the `orchestrate` executable gives it to ``OrchestrateCLI``.
public struct SystemTrustTLS: WebhookTLS {
    private let context: NIOSSLContext

    /// Reads the system's trust store.
    public init() throws {
        context = try NIOSSLContext(configuration: TLSConfiguration.makeClientConfiguration())
    }

    public func addClientHandler(to pipeline: ChannelPipeline.SynchronousOperations, serverHostname: String?) throws {
        try pipeline.addHandler(NIOSSLClientHandler(context: context, serverHostname: serverHostname))
    }
}
