import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension CommandRunner {
    /// What to spawn: the program to execute, its `argv[0]` and the other arguments.
    struct Launch: Sendable {
        var path: String
        var argv0: String
        var arguments: [String]
        var parentDeathSignal: Signal?
    }

    /// Finds the program (as `execvp` would, with the child's `PATH`), so that a missing program is an error
    /// with its own message rather than a failed exec.
    func resolveLaunch() throws -> Launch {
        let argv = command.arguments
        guard let name = argv.first, !name.isEmpty else {
            throw DaemonKitError(code: .commandNotFound, message: "the command is empty")
        }
        return Launch(
            path: try resolveProgram(name),
            argv0: name,
            arguments: Array(argv.dropFirst()),
            parentDeathSignal: parentDeathSignal?.signal
        )
    }

    private func resolveProgram(_ name: String) throws -> String {
        if name.contains("/") {
            let path = name.hasPrefix("/") ? name : base(name)
            guard Self.isExecutableFile(path) else {
                throw DaemonKitError(code: .commandNotFound, message: "'\(name)' is not an executable file")
            }
            return path
        }
        let searchPath =
            environment["PATH"] ?? getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin"
        if let known = ProgramLocations.shared.path(of: name, on: searchPath), Self.isExecutableFile(known) {
            return known
        }
        var absolute = true
        for folder in searchPath.split(separator: ":", omittingEmptySubsequences: false) {
            let directory = folder.isEmpty ? "." : String(folder)
            absolute = absolute && directory.hasPrefix("/")
            let candidate = directory.hasPrefix("/") ? directory + "/" + name : base(directory + "/" + name)
            if Self.isExecutableFile(candidate) {
                // A folder relative to the working directory may name another program for another run.
                if absolute { ProgramLocations.shared.remember(candidate, of: name, on: searchPath) }
                return candidate
            }
        }
        throw DaemonKitError(code: .commandNotFound, message: "'\(name)' was not found on PATH")
    }

    /// A relative path taken from the child's working directory, where the child would resolve it.
    private func base(_ relative: String) -> String {
        if let workingDirectory { return workingDirectory + "/" + relative }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return relative }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self) + "/" + relative
    }

    private static func isExecutableFile(_ path: String) -> Bool {
        var status = stat()
        guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { return false }
        return access(path, X_OK) == 0
    }
}

/// Where programs named without a slash were found on PATH lately, so that a thousand daemons started at once with
/// one program look it up once rather than trying every folder of PATH each (a `stat` each, eleven on a long PATH).
/// An entry is trusted for a second, and only while it still names an executable file: a program installed earlier on
/// PATH is seen a second later at the latest; one removed, or not found, is looked for again at once.
final class ProgramLocations: Sendable {
    static let shared = ProgramLocations()
    /// How long a location is trusted.
    static let lifetime = Duration.seconds(1)
    /// The most locations kept; beyond it, all are forgotten.
    static let capacity = 256

    private struct Key: Hashable {
        var name: String
        var searchPath: String
    }

    private let entries = Mutex<[Key: (path: String, foundAt: ContinuousClock.Instant)]>([:])

    /// The path `name` was found at on `searchPath` less than ``lifetime`` ago.
    func path(of name: String, on searchPath: String) -> String? {
        let key = Key(name: name, searchPath: searchPath)
        return entries.withLock { entries in
            guard let entry = entries[key] else { return nil }
            guard ContinuousClock.now - entry.foundAt < Self.lifetime else {
                entries[key] = nil
                return nil
            }
            return entry.path
        }
    }

    /// Records that `name` was found at `path` on `searchPath` just now.
    func remember(_ path: String, of name: String, on searchPath: String) {
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[Key(name: name, searchPath: searchPath)] = (path, ContinuousClock.now)
        }
    }
}
