import CSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Makes a child die with the supervisor, even when the supervisor is SIGKILLed, by having the kernel send it a
/// signal (`PR_SET_PDEATHSIG`) when its parent goes.
///
/// The setting must be made in the child, after fork and before exec (fork clears it, exec keeps it), and
/// `posix_spawn` has no pre-exec hook. So the child is spawned through a tiny C helper,
/// `orchestrate-pdeathsig`, built from this package and installed beside `orchestrate`: it arms the signal,
/// checks that its parent is still the supervisor (if the supervisor died in between, no signal would ever
/// come, so it kills itself), and `execv`s the command in place. The pid, group, session, environment,
/// working directory and descriptors are the command's; the cost is one extra `execve` of a static-size C
/// program per spawn.
///
/// The kernel sends the signal when the *thread* that forked the child exits, not the process. Every child is
/// spawned from one dedicated thread that lives until the process exits (``SpawnThread``), never from a
/// cooperative-pool thread (those retire when idle), so the signal fires exactly when the supervisor dies.
///
/// Limits: only the direct child gets the signal; its descendants in the same process group survive a
/// SIGKILLed supervisor (the supervisor records the group IDs and kills them on its next start). Executing a
/// set-user-ID or set-group-ID program, or one with file capabilities, clears the setting.
public struct ParentDeathSignal: Sendable, Hashable {
    /// The signal the child receives when the supervisor dies.
    public var signal: Signal
    /// The absolute path of the `orchestrate-pdeathsig` helper.
    public var helperPath: String

    /// Uses the helper at `helperPath` to arm `signal`.
    public init(signal: Signal = .kill, helperPath: String) {
        self.signal = signal
        self.helperPath = helperPath
    }

    /// The helper's file name.
    public static let helperName = "orchestrate-pdeathsig"

    /// SIGKILL through the helper found beside the running executable (where `swift build` and an install put
    /// it), else on `PATH`; nil when there is none. Looked up once per process.
    public static var automatic: ParentDeathSignal? {
        locatedHelper.map { ParentDeathSignal(helperPath: $0) }
    }

    private static let locatedHelper: String? = {
        var folders: [String] = []
        if let executable = try? readLink("/proc/self/exe"), let slash = executable.lastIndex(of: "/") {
            folders.append(String(executable[..<slash]))
        }
        if let path = getenv("PATH") {
            folders += String(cString: path).split(separator: ":").map(String.init)
        }
        return folders.lazy.map { $0 + "/" + helperName }.first { access($0, X_OK) == 0 }
    }()

    /// The parent-death signal armed in the calling process, or 0 when none is. For diagnostics and tests.
    public static func currentProcessSignal() -> Int32 {
        var number: Int32 = 0
        return csupport_get_parent_death_signal(&number) == 0 ? number : 0
    }

    private static func readLink(_ path: String) throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count > 0 else { throw DaemonKitError(code: .fileSystem, message: "cannot read \(path)", errno: errno) }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
