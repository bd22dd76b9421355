/// The variables orchestrate sets in a command's environment when it runs the command.
///
/// The manifest is interpolated when it is loaded, as docker compose does it, so `$ORCHESTRATE_RUN` in a
/// command is replaced then (by nothing, unless the loading environment sets it); `$$ORCHESTRATE_RUN` leaves
/// `$ORCHESTRATE_RUN` for the command's shell to expand when it runs. The loader's warning for an unset one says
/// so.
public enum CommandVariable: String, CaseIterable, Sendable {
    /// The daemon's name; every kind.
    case daemon = "ORCHESTRATE_DAEMON"
    /// The copy's number, 1…N, of a daemon with `replicas` (process daemons).
    case replica = "ORCHESTRATE_REPLICA"
    /// The run's number: a process daemon's life, a periodic or watcher daemon's run.
    case run = "ORCHESTRATE_RUN"
    /// The attempt of the run, 1 for the first and more for retries (periodic and watcher daemons).
    case attempt = "ORCHESTRATE_ATTEMPT"
    /// The file listing the changed paths, one a line (watcher daemons).
    case changedFile = "ORCHESTRATE_CHANGED_FILE"
    /// How many paths the changed file lists (watcher daemons).
    case changedCount = "ORCHESTRATE_CHANGED_COUNT"
    /// `1` when the run asks for a full rescan (a trigger, say) rather than for the changed paths alone, else `0`
    /// (watcher daemons).
    case rescan = "ORCHESTRATE_RESCAN"
    /// The JSON-RPC method a command method serves (rpc daemons).
    case rpcMethod = "ORCHESTRATE_RPC_METHOD"
    /// What a `notify` hook is run for: `run_failed`, `exited`, `failed`, `recovered` or `restarted` (hooks).
    case event = "ORCHESTRATE_EVENT"
    /// The daemon's kind (hooks).
    case kind = "ORCHESTRATE_KIND"
    /// The exit status of the run or program the event is about, 128 + N for signal N; empty when it has none
    /// (hooks).
    case exitStatus = "ORCHESTRATE_EXIT_STATUS"
    /// What went wrong (or right), in a sentence (hooks).
    case message = "ORCHESTRATE_MESSAGE"
    /// A file holding the last 50 lines of the daemon's log (hooks).
    case logFile = "ORCHESTRATE_LOG_FILE"

    /// The variable named `name`, if orchestrate sets one by that name.
    public init?(name: String) {
        self.init(rawValue: name)
    }

    /// The variable's name.
    public var name: String { rawValue }
}
