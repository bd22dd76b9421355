import OrchestrateCLI
import OrchestrateTLS
import Orchestrator

/// The `orchestrate` executable: the command line with the built-in kinds of daemon, and HTTPS for webhooks.
@main
enum Main {
    static func main() async { await OrchestrateCLI.main(kinds: .builtIn, webhookTLS: { try? SystemTrustTLS() }) }
}
