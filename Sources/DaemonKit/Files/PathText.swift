#if canImport(Glibc)
import Glibc
#endif

/// Path strings taken apart lexically, as NSString's path methods do, without Foundation.
public enum PathText {
    /// The folder of `path`: `/a/b` → `/a`, `/a` → `/`, `a` → `` (a trailing `/` is ignored).
    public static func folder(of path: String) -> String {
        let trimmed = withoutTrailingSlashes(path)
        guard let slash = trimmed.lastIndex(of: "/") else { return "" }
        if slash == trimmed.startIndex { return "/" }
        return withoutTrailingSlashes(String(trimmed[..<slash]))
    }

    /// The last component of `path`: `/a/b` → `b`, `/` → `/` (a trailing `/` is ignored).
    public static func name(of path: String) -> String {
        let trimmed = withoutTrailingSlashes(path)
        if trimmed == "/" { return "/" }
        return trimmed.lastIndex(of: "/").map { String(trimmed[trimmed.index(after: $0)...]) } ?? trimmed
    }

    private static func withoutTrailingSlashes(_ path: String) -> String {
        var text = Substring(path)
        while text.count > 1, text.last == "/" { text.removeLast() }
        return String(text)
    }
}

extension StringProtocol {
    /// The text without the spaces, tabs and newlines at either end.
    public func trimmingWhitespace() -> String {
        var text = Substring(self)
        while text.first?.isWhitespace == true { text.removeFirst() }
        while text.last?.isWhitespace == true { text.removeLast() }
        return String(text)
    }
}

extension PathText {
    /// Whether `path` is a folder (not a symbolic link to one) of this user's, which nobody else may read or write.
    public static func isPrivateFolder(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR && status.st_uid == getuid()
            && status.st_mode & 0o077 == 0
    }
}

/// Whole files read with POSIX calls, without Foundation.
public enum FileBytes {
    /// The bytes of the file at `path` from `offset` to its end; nil when it cannot be opened.
    public static func read(_ path: String, from offset: UInt64 = 0) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        guard lseek(descriptor, off_t(offset), SEEK_SET) >= 0 else { return nil }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += chunk[..<count]
        }
        return bytes
    }
}

extension FileBytes {
    /// Writes all of `bytes` to `descriptor` (a standard stream, say), retrying short writes and EINTR; gives up on
    /// another error, as a closed terminal is no reason to stop.
    public static func write(_ bytes: [UInt8], to descriptor: Int32) {
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return }
            written += count
        }
    }
}

extension String {
    /// The string followed by spaces up to `width` characters (a longer one is left as it is), for columns.
    public func padded(to width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
}
