/// The manifest's paths: relative ones are resolved lexically, as the user wrote them.
public enum Paths {
    /// `path` made absolute against `base` when relative, with `.` and `..` folded.
    public static func absolute(_ path: String, from base: String) -> String {
        // Most paths are `.` or a plain relative path against a clean folder: nothing to fold.
        if !path.hasPrefix("/"), isClean(base) {
            if path.isEmpty || path == "." { return base }
            if isClean("/" + path) { return base == "/" ? "/" + path : base + "/" + path }
        }
        let joined = path.hasPrefix("/") ? path : base + "/" + path
        // Folded lexically, like Go's filepath.Clean: symlinks are left alone, as the user wrote them.
        var parts: [Substring] = []
        for part in joined.split(separator: "/") {
            switch part {
            case ".": continue
            case "..": if !parts.isEmpty { parts.removeLast() }
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// Whether `path` is absolute and already folded: no empty, `.` or `..` segment and no trailing `/` (but `/`).
    private static func isClean(_ path: String) -> Bool {
        var utf8 = path.utf8[...]
        guard utf8.first == UInt8(ascii: "/") else { return false }
        if utf8.count == 1 { return true }
        guard utf8.last != UInt8(ascii: "/") else { return false }
        // Each segment follows a `/`: check it is neither empty, `.` nor `..`.
        while let slash = utf8.firstIndex(of: UInt8(ascii: "/")) {
            utf8 = utf8[utf8.index(after: slash)...]
            let segment = utf8.prefix { $0 != UInt8(ascii: "/") }
            if segment.isEmpty || segment.elementsEqual(".".utf8) || segment.elementsEqual("..".utf8) { return false }
        }
        return true
    }

    /// `path` relative to `base` when it lies beneath it, else `path` unchanged.
    public static func relative(_ path: String, to base: String) -> String {
        if path == base { return "." }
        let prefix = base.hasSuffix("/") ? base : base + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
    }
}
