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
        for folder in searchPath.split(separator: ":", omittingEmptySubsequences: false) {
            let directory = folder.isEmpty ? "." : String(folder)
            let candidate = directory.hasPrefix("/") ? directory + "/" + name : base(directory + "/" + name)
            if Self.isExecutableFile(candidate) { return candidate }
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
