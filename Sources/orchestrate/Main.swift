import OrchestrateCLI
import Orchestrator

/// The `orchestrate` executable: the command line with the built-in kinds of daemon.
@main
enum Main {
    static func main() async { await OrchestrateCLI.main(kinds: .builtIn) }
}
