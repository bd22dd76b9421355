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
