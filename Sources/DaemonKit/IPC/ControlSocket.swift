import Foundation

/// Where a supervisor's control socket lives.
///
/// It is `STATE_DIR/orchestrate.sock`, unless that path is too long for a Unix socket address (107 bytes
/// on Linux): then the socket goes under `$XDG_RUNTIME_DIR` (or `/tmp`) with a name derived from the state
/// folder, and `STATE_DIR/orchestrate.sock.path` records where, so clients find it the same way.
public enum ControlSocket {
    /// The longest path a `sockaddr_un` holds on Linux, without its terminating NUL.
    public static let maximumPathLength = 107

    /// The socket path for a supervisor whose state folder is `stateDirectory` (absolute).
    public static func path(
        stateDirectory: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    )
        -> String
    {
        let preferred = stateDirectory + "/orchestrate.sock"
        if preferred.utf8.count <= maximumPathLength { return preferred }
        let base = environment["XDG_RUNTIME_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        return base + "/orchestrate-\(stableHash(stateDirectory)).sock"
    }

    /// Where the path of a relocated socket is recorded.
    public static func recordPath(stateDirectory: String) -> String { stateDirectory + "/orchestrate.sock.path" }

    /// The socket a client should connect to: the recorded path when there is one, else the default.
    public static func locate(stateDirectory: String) -> String {
        if let recorded = try? String(contentsOfFile: recordPath(stateDirectory: stateDirectory), encoding: .utf8) {
            let path = recorded.trimmingCharacters(in: .whitespacesAndNewlines)
            if !path.isEmpty { return path }
        }
        return path(stateDirectory: stateDirectory)
    }

    /// Records, under the manifest's path, the state folder of the supervisor running it: the CLI finds the
    /// supervisor through this while the manifest on disk is not valid (after a bad save, the supervisor keeps
    /// running the last good version, and `status` must still reach it). Best effort: nothing is recorded when
    /// the per-user folder cannot be made safely.
    public static func record(manifest: String, stateDirectory: String) {
        guard let folder = userFolder(create: true) else { return }
        let record = folder + "/manifest-\(stableHash(manifest))"
        try? stateDirectory.write(toFile: record, atomically: true, encoding: .utf8)
    }

    /// The state folder recorded for `manifest` by a running supervisor, if any.
    public static func recordedStateDirectory(manifest: String) -> String? {
        guard let folder = userFolder(create: false),
            let text = try? String(contentsOfFile: folder + "/manifest-\(stableHash(manifest))", encoding: .utf8)
        else { return nil }
        let path = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return path.isEmpty ? nil : path
    }

    /// Removes the record of `manifest` if it still names `stateDirectory` (a supervisor stopping).
    public static func forget(manifest: String, stateDirectory: String) {
        guard recordedStateDirectory(manifest: manifest) == stateDirectory, let folder = userFolder(create: false)
        else { return }
        unlink(folder + "/manifest-\(stableHash(manifest))")
    }

    /// `$XDG_RUNTIME_DIR/orchestrate`, or `/tmp/orchestrate-UID`: a folder only this user can use, or nil when it
    /// is not one (another owner, or open to others), so no other user can plant a record.
    static func userFolder(
        create: Bool,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> String? {
        let folder: String
        if let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty {
            folder = runtime + "/orchestrate"
        } else {
            folder = "/tmp/orchestrate-\(getuid())"
        }
        if create { mkdir(folder, 0o700) }
        var info = stat()
        guard lstat(folder, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, info.st_uid == getuid(),
            info.st_mode & 0o077 == 0
        else { return nil }
        return folder
    }

    /// FNV-1a of the text, in hex: the same state folder always maps to the same fallback socket.
    static func stableHash(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}
