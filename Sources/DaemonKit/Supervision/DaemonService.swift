/// A daemon the supervisor runs: the plan's BaseDaemonService.
///
/// The lifecycle is Swift's structured concurrency: the supervisor calls ``run(_:)`` in a child task of its
/// own; the service starts (setting itself up, reporting ``DaemonContext/started(state:)``), works until its
/// task is cancelled, and then stops gracefully within its stop timeout (a ``CommandRunner`` it uses stops
/// its process group on cancellation). A thrown error is a *service failure*: the daemon's restart policy
/// decides whether it runs again (``ServiceSupervisor``). Returning normally means the work is done.
///
/// To write a new kind of daemon: make a type conforming to `DaemonService` that holds its configuration
/// (plain values), implement `run` as a loop that writes its state, runs and health into the registry through
/// the context, answers the context's ``DaemonContext/requests`` (for `orchestrate trigger`), and returns
/// when cancelled; then teach the supervisor's compiler to make it from the manifest.
public protocol DaemonService: Sendable {
    /// The daemon's name.
    var name: String { get }
    /// The manifest name of its kind.
    var kind: String { get }

    /// Runs the daemon until its task is cancelled (return then) or it fails (throw).
    func run(_ context: DaemonContext) async throws
}
