/// The manifest's paths: relative ones are resolved lexically, as the user wrote them.
public enum Paths {
    /// `path` made absolute against `base` when relative, with `.` and `..` folded.
    public static func absolute(_ path: String, from base: String) -> String {
        // Most paths are `.` or a plain relative path against a clean folder: nothing to fold.
        if !path.hasPrefix("/"), isClean(base) {
            if path.isEmpty || path == "." { return base }
            if isClean(path, absolute: false) { return base == "/" ? "/" + path : base + "/" + path }
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

    /// Whether `path` is already folded: no empty, `.` or `..` segment and no trailing `/`; it starts with a `/`
    /// when `absolute` (and may then be `/` alone), and with none otherwise. One pass over the bytes.
    private static func isClean(_ path: String, absolute: Bool = true) -> Bool {
        let slash = UInt8(ascii: "/")
        if absolute, path.utf8.count == 1 { return path.utf8.first == slash }
        // The current segment's length and how many of its bytes are dots; -1 before the leading `/`.
        var length = absolute ? -1 : 0
        var dots = 0
        for byte in path.utf8 {
            if byte == slash {
                if length == 0 || (length > 0 && dots == length && length <= 2) { return false }
                length = 0
                dots = 0
            } else {
                if length < 0 { return false }
                length += 1
                if byte == UInt8(ascii: ".") { dots += 1 }
            }
        }
        return length > 0 && !(dots == length && length <= 2)
    }

    /// `path` relative to `base` when it lies beneath it, else `path` unchanged.
    public static func relative(_ path: String, to base: String) -> String {
        if path == base { return "." }
        let prefix = base.hasSuffix("/") ? base : base + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
    }
}
