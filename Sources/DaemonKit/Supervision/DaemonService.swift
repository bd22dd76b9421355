/// A daemon the supervisor runs: the plan's BaseDaemonService.
///
/// The lifecycle is Swift's structured concurrency: the supervisor calls ``run(_:)`` in a child task of its
/// own; the service starts (setting itself up, reporting ``DaemonContext/started(state:)``), works until its
/// task is cancelled, and then stops gracefully within its stop timeout (a ``CommandRunner`` it uses stops
/// its process group on cancellation). A thrown error is a *service failure*: the daemon's restart policy
/// decides whether it runs again (``ServiceSupervisor``). Returning normally means the work is done.
///
/// To write a new kind of daemon: make a type conforming to `DaemonService` that holds its configuration
/// (plain values), implement `run` as a loop that reports what happens (``DaemonContext/report(_:)``: its
/// state, its runs, its health), answers the context's ``DaemonContext/requests`` if it runs on trigger, and
/// returns when cancelled; then declare the kind that makes it from a manifest (Manifest's `DaemonKind`).
public protocol DaemonService: Sendable {
    /// The daemon's name.
    var name: String { get }
    /// The manifest name of its kind.
    var kind: String { get }

    /// Runs the daemon until its task is cancelled (return then) or it fails (throw).
    func run(_ context: DaemonContext) async throws
}
