import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// What the machine an export runs on says about the units: this executable's path, who owns the manifest, where a
/// command's program is. Read once, at export time, since systemd needs absolute paths and fixed users.
public enum SystemdHost {
    /// The user and group system units run as.
    public struct Owner: Sendable, Hashable {
        /// The user's name (or number, when it has no name).
        public var user: String
        /// The group's name (or number).
        public var group: String

        public init(user: String, group: String) {
            self.user = user
            self.group = group
        }
    }

    /// This executable's absolute path, as the detached supervisor finds it: what the units run by default.
    public static var executable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// Whether this process runs as root, which alone may write /etc/systemd/system and choose a unit's user.
    public static var isRoot: Bool { geteuid() == 0 }

    /// The owner of `file` when this process is root and the owner is not: system units then run as the user the
    /// project belongs to, as examples/systemd/orchestrate.service does. Nil otherwise (a non-root export cannot
    /// know which user the units should run as, and root's units run as root without saying so).
    public static func owner(of file: String) -> Owner? {
        guard isRoot, let attributes = try? FileManager.default.attributesOfItem(atPath: file) else { return nil }
        guard let uid = accountID(attributes[.ownerAccountID]), uid != 0 else {
            return nil
        }
        let gid = accountID(attributes[.groupOwnerAccountID]) ?? uid
        return Owner(
            user: attributes[.ownerAccountName] as? String ?? "\(uid)",
            group: attributes[.groupOwnerAccountName] as? String ?? "\(gid)"
        )
    }

    /// A user or group number from a file's attributes, whichever integer type holds it.
    private static func accountID(_ value: Any?) -> Int? {
        guard let number = value as? any BinaryInteger else { return nil }
        return Int(number)
    }

    /// `program` as an absolute path: itself when absolute, from `directory` when it holds a `/`, else the first
    /// executable file of that name in `searchPath`'s folders; nil when none is found there.
    public static func absolutePath(of program: String, in directory: String, searchPath: String) -> String? {
        if program.hasPrefix("/") { return program }
        if program.contains("/") {
            let base = directory.hasSuffix("/") ? directory : directory + "/"
            return base + (program.hasPrefix("./") ? String(program.dropFirst(2)) : program)
        }
        for folder in searchPath.split(separator: ":") where folder.hasPrefix("/") {
            let candidate = String(folder.hasSuffix("/") ? folder : folder + "/") + program
            var isFolder = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isFolder), !isFolder,
                FileManager.default.isExecutableFile(atPath: candidate)
            {
                return candidate
            }
        }
        return nil
    }

    /// The folder user units go in: `$XDG_CONFIG_HOME/systemd/user`, else `~/.config/systemd/user`.
    public static func userUnitFolder(environment: [String: String]) -> String? {
        if let config = environment["XDG_CONFIG_HOME"], config.hasPrefix("/") {
            return config + "/systemd/user"
        }
        guard let home = environment["HOME"], !home.isEmpty else { return nil }
        return (home.hasSuffix("/") ? home : home + "/") + ".config/systemd/user"
    }

    /// The folder system units go in.
    public static let systemUnitFolder = "/etc/systemd/system"
}
