import DaemonKit
import FoundationEssentials

extension StateFolder {
    /// The control socket's path: ``preferredSocket``, unless that path is too long for a Unix socket address; then
    /// a path under `$XDG_RUNTIME_DIR` (or `/tmp`) derived from the folder, which ``recordSocket(_:)`` records in the
    /// folder so that clients find it.
    public func socket(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if preferredSocket.utf8.count <= IPCClient.maximumSocketPathLength { return preferredSocket }
        let base = environment["XDG_RUNTIME_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        return base + "/orchestrate-\(Self.stableHash(path)).sock"
    }

    /// The socket a client should connect to: the recorded path when there is one, else ``socket(environment:)``.
    public func locateSocket() -> String {
        if let recorded = FileBytes.text(socketRecord) {
            let path = recorded.trimmingWhitespace()
            if !path.isEmpty { return path }
        }
        return socket()
    }

    /// Records where the control socket is, when it is not the preferred path (a folder too deep for one).
    public func recordSocket(_ socket: String) {
        guard socket != preferredSocket else { return }
        FileBytes.replace(socketRecord, with: Array(socket.utf8))
    }

    /// FNV-1a of the text, in hex: the same folder always maps to the same fallback socket and record.
    static func stableHash(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}
