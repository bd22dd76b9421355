#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A POSIX signal a daemon can be stopped with, by its conventional name.
public struct Signal: Hashable, Sendable, CustomStringConvertible {
    /// The signal number on this platform.
    public let number: Int32
    /// The name with the `SIG` prefix, such as `SIGTERM`.
    public let name: String

    private init(_ number: Int32, _ name: String) {
        self.number = number
        self.name = name
    }

    /// Termination request: the default stop signal.
    public static let terminate = Signal(SIGTERM, "SIGTERM")
    /// Interrupt, as from Ctrl-C.
    public static let interrupt = Signal(SIGINT, "SIGINT")
    /// Hang-up, conventionally "reload your configuration".
    public static let hangup = Signal(SIGHUP, "SIGHUP")
    /// Quit with a core dump.
    public static let quit = Signal(SIGQUIT, "SIGQUIT")
    /// Kill: cannot be caught.
    public static let kill = Signal(SIGKILL, "SIGKILL")
    /// User-defined signal 1.
    public static let user1 = Signal(SIGUSR1, "SIGUSR1")
    /// User-defined signal 2.
    public static let user2 = Signal(SIGUSR2, "SIGUSR2")
    /// Window size change, used by some programs to shut down gracefully.
    public static let windowChange = Signal(SIGWINCH, "SIGWINCH")
    /// Alarm clock.
    public static let alarm = Signal(SIGALRM, "SIGALRM")
    /// Abort.
    public static let abort = Signal(SIGABRT, "SIGABRT")
    /// Stop (cannot be caught).
    public static let stop = Signal(SIGSTOP, "SIGSTOP")
    /// Continue after a stop.
    public static let `continue` = Signal(SIGCONT, "SIGCONT")
    /// Broken pipe.
    public static let pipe = Signal(SIGPIPE, "SIGPIPE")

    /// Every signal that can be named in a manifest.
    public static let all: [Signal] = [
        .terminate, .interrupt, .hangup, .quit, .kill, .user1, .user2, .windowChange, .alarm, .abort, .stop,
        .continue, .pipe,
    ]

    /// Looks a signal up by name, case-insensitively, with or without the `SIG` prefix (`TERM`, `sigterm`).
    public init?(name: String) {
        var upper = name.uppercased()
        if !upper.hasPrefix("SIG") { upper = "SIG" + upper }
        guard let found = Signal.all.first(where: { $0.name == upper }) else { return nil }
        self = found
    }

    /// The name, such as `SIGTERM`.
    public var description: String { name }
}
