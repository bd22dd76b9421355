#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension PathText {
    /// Every path met on the way from the absolute `path` to the file it names, in order: `path` itself, each
    /// symbolic link followed on the way (one in a folder's place too, such as a release's `current` or a Kubernetes
    /// ConfigMap's `..data`), and the file at the end. A change to any of them can change what `path` reads, so a
    /// watch of `path` watches them all. At most 40 links are followed, as the kernel follows; a missing component
    /// ends the walk there.
    public static func linkChain(of path: String) -> [String] {
        var chain = [path]
        var pending = Array(path.split(separator: "/", omittingEmptySubsequences: true).reversed().map(String.init))
        var resolved = ""
        var links = 0
        while let name = pending.popLast() {
            if name == "." { continue }
            if name == ".." {
                resolved = folder(of: resolved.isEmpty ? "/" : resolved)
                if resolved == "/" { resolved = "" }
                continue
            }
            let candidate = resolved + "/" + name
            guard links < 40, let target = linkTarget(of: candidate) else {
                resolved = candidate
                continue
            }
            links += 1
            if !chain.contains(candidate) { chain.append(candidate) }
            if target.hasPrefix("/") { resolved = "" }
            pending += target.split(separator: "/", omittingEmptySubsequences: true).reversed().map(String.init)
        }
        let end = resolved.isEmpty ? "/" : resolved
        if !chain.contains(end) { chain.append(end) }
        return chain
    }

    /// The target of the symbolic link at `path`; nil when it is not one.
    private static func linkTarget(of path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
