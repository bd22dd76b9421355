import HTTPCheck
import Manifest
import OrchestrateCLI
import Orchestrator

/// orchestrate's command line with the built-in kinds of daemon and `http-check`.
@main
enum Main {
    static func main() async { await OrchestrateCLI.main(kinds: DaemonKinds.builtIn + [HTTPCheckSpec.self]) }
}
