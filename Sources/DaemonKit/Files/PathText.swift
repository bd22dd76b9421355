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

extension PathText {
    /// Whether `path` is a folder (not a symbolic link to one) of this user's, which nobody else may read or write.
    public static func isPrivateFolder(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR && status.st_uid == getuid()
            && status.st_mode & 0o077 == 0
    }
}
