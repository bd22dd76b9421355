#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension DaemonKitError.Code {
    /// The system limit on inotify watches (`fs.inotify.max_user_watches`) or instances
    /// (`fs.inotify.max_user_instances`) was reached.
    public static let watchLimitReached = Self(name: "watchLimitReached")
    /// A path could not be watched (it does not exist, cannot be read, or inotify is unavailable).
    public static let watchFailed = Self(name: "watchFailed")
    /// A configured watch path was deleted or moved away while it was watched.
    public static let watchPathRemoved = Self(name: "watchPathRemoved")
}

extension DaemonKitError {
    /// The error for a failed `inotify_add_watch` on `path` with `errno`.
    static func watch(_ path: String, errno code: Int32) -> DaemonKitError {
        switch code {
        case ENOSPC:
            DaemonKitError(
                code: .watchLimitReached,
                message: "cannot watch '\(path)': the inotify watch limit is reached; raise "
                    + "fs.inotify.max_user_watches (/proc/sys/fs/inotify/max_user_watches) or use mode: poll",
                errno: code
            )
        case ENOMEM:
            DaemonKitError(
                code: .watchLimitReached,
                message: "cannot watch '\(path)': the kernel is out of memory for inotify watches",
                errno: code
            )
        default:
            DaemonKitError(
                code: .watchFailed,
                message: "cannot watch '\(path)': \(describe(errno: code))",
                errno: code
            )
        }
    }

    /// The error for a failed `inotify_init1` with `errno`.
    static func inotifyUnavailable(errno code: Int32) -> DaemonKitError {
        if code == EMFILE {
            return DaemonKitError(
                code: .watchLimitReached,
                message: "cannot start an inotify watcher: the limit of inotify instances is reached; raise "
                    + "fs.inotify.max_user_instances (/proc/sys/fs/inotify/max_user_instances) or use mode: poll",
                errno: code
            )
        }
        return DaemonKitError(
            code: .watchFailed,
            message: "cannot start an inotify watcher: \(describe(errno: code)); use mode: poll",
            errno: code
        )
    }

    /// The error for a configured path that went away while watched.
    static func watchPathRemoved(_ path: String) -> DaemonKitError {
        DaemonKitError(code: .watchPathRemoved, message: "watch path '\(path)' was deleted or moved away")
    }

    /// `strerror`'s text, lower-cased at the start to fit in a sentence.
    static func describe(errno code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        let message = String(cString: text)
        guard let first = message.first else { return "errno \(code)" }
        return first.lowercased() + message.dropFirst()
    }
}
