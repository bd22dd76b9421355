import FoundationEssentials
import Manifest
import Orchestrator
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The `orchestrate` command line as a library: a program that adds kinds of daemon ships its own `orchestrate`
/// with a `main` that calls ``main(kinds:arguments:)``:
///
/// ```swift
/// @main
/// enum Main {
///     static func main() async { await OrchestrateCLI.main(kinds: DaemonKinds.builtIn + [HTTPCheckSpec.self]) }
/// }
/// ```
///
/// Every command (`validate`, `config`, `schema`, `up`, `status`, …) then reads manifests with those kinds.
public enum OrchestrateCLI {
    /// Runs the command line `arguments` (by default this process's, without the program's name) for manifests
    /// whose daemons are of `kinds`, then exits with the command's status: 0 ok, 1 failure, 2 bad manifest or
    /// usage, 3 not running.
    ///
    /// On the main thread, as a program's `main` runs: a synchronous command (`validate`, `status`) then does all its
    /// work there, allocating from the main heap, rather than on a thread of the cooperative pool, whose fresh malloc
    /// arena grows page by page (it made `validate` of 1,000 daemons 10% slower).
    ///
    /// `webhookTLS` is how `notify` webhooks reach `https://` URLs (the `orchestrate` executable gives
    /// `OrchestrateTLS.SystemTrustTLS`); without it, only `http://` ones are posted to.
    @MainActor
    public static func main(
        kinds: @autoclosure @escaping @Sendable () -> DaemonKinds,
        webhookTLS: (@Sendable () -> (any WebhookTLS)?)? = nil,
        arguments: [String] = Array(CommandLine.arguments.dropFirst())
    ) async -> Never {
        let given = CommandKinds(kinds, webhookTLS: webhookTLS)
        let status = await CommandKinds.$given.withValue(given) { await Orchestrate.execute(arguments) }
        exit(status)
    }
}

/// The kinds the commands read manifests with: those ``OrchestrateCLI/main(kinds:arguments:)`` was given, made when
/// a command first reads a manifest. Commands that never do (`status`, `--version`) skip the 0.3 ms that making the
/// kinds' list costs a new process (its first conformance checks).
final class CommandKinds: Sendable {
    @TaskLocal static var given = CommandKinds { .builtIn }

    /// Makes how `up`'s supervisor posts to `https://` webhooks (made by `up` alone: reading the trust store costs).
    static var webhookTLS: (@Sendable () -> (any WebhookTLS)?)? { given.webhookTLS }

    /// The kinds, made on first use.
    static var current: DaemonKinds { given.kinds }

    private let make: @Sendable () -> DaemonKinds
    private let made = Mutex<DaemonKinds?>(nil)
    private let webhookTLS: (@Sendable () -> (any WebhookTLS)?)?

    init(_ make: @escaping @Sendable () -> DaemonKinds, webhookTLS: (@Sendable () -> (any WebhookTLS)?)? = nil) {
        self.make = make
        self.webhookTLS = webhookTLS
    }

    private var kinds: DaemonKinds {
        made.withLock { made in
            if let made { return made }
            let kinds = make()
            made = kinds
            return kinds
        }
    }
}
