import FoundationEssentials

/// A supervisor's state folder (`state_dir`): the one place that names every file orchestrate keeps there, and the
/// per-user runtime folder through which commands find a running supervisor.
///
/// ```
/// STATE_DIR/
///   orchestrate.pid          the PID lock, held by the supervisor for its whole life
///   orchestrate.sock         the control socket (or, for a folder too deep, orchestrate.sock.path names it)
///   owner                    the manifest this folder belongs to
///   logs/NAME.log            each daemon's log; logs/orchestrate.log, the supervisor's; logs/orchestrate.out,
///                            what a detached supervisor printed before its log was open
///   run/process-groups       the process groups of running commands, for cleanup after a crash
///   run/NAME.changed         a watcher's changed paths, for its command
/// $XDG_RUNTIME_DIR/orchestrate/ (or /tmp/orchestrate-UID/)
///   manifest-HASH            the state folder of the supervisor running a manifest; relocated sockets
/// ```
///
/// DaemonKit's pieces take these paths as plain values (a PID lock on a path, a server on a socket path).
public struct StateFolder: Hashable, Sendable, CustomStringConvertible {
    /// The folder, absolute.
    public let path: String

    /// The state folder at `path` (absolute).
    public init(_ path: String) { self.path = path }

    /// The folder's path.
    public var description: String { path }

    /// The PID lock, held by the supervisor for its whole life.
    public var lockFile: String { path + "/orchestrate.pid" }
    /// The record of the manifest the folder belongs to.
    public var ownerRecord: String { path + "/owner" }
    /// Where the control socket is when the folder is shallow enough for a socket path.
    public var preferredSocket: String { path + "/orchestrate.sock" }
    /// Where a relocated control socket's path is recorded.
    public var socketRecord: String { path + "/orchestrate.sock.path" }

    /// The logs' folder.
    public var logs: String { path + "/logs" }
    /// Daemon `name`'s log.
    public func log(of name: String) -> String { logs + "/\(name).log" }
    /// The supervisor's own log.
    public var supervisorLog: String { logs + "/orchestrate.log" }
    /// What a detached supervisor printed before its own log was open (its early errors).
    public var detachedOutput: String { logs + "/orchestrate.out" }
    /// The name under which `orchestrate logs` shows the supervisor's own log.
    public static let supervisorLogName = "orchestrate"

    /// The folder of files for running commands.
    public var run: String { path + "/run" }
    /// The ledger of the process groups of running commands.
    public var processGroupLedger: String { run + "/process-groups" }
    /// The file a watcher daemon's command reads its changed paths from.
    public func changedFile(of name: String) -> String { run + "/\(name).changed" }
}

extension Manifest {
    /// The manifest's state folder.
    public var stateFolder: StateFolder { StateFolder(stateDirectory) }
}
