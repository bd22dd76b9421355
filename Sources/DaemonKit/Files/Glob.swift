/// A compiled glob pattern with doublestar semantics, matched against relative `/`-separated paths.
///
/// `**` as a whole segment matches zero or more segments, `*` any run within one segment (a leading dot
/// included), `?` one character, `[...]` a class (`!` or `^` negates, a leading `]` is a member), `{a,b}`
/// alternatives (nestable, globs allowed inside) and `\` escapes the next character. Two globs are equal when
/// their pattern text is.
public struct Glob: Sendable, Hashable, CustomStringConvertible {
    /// The pattern text the glob was compiled from.
    public let pattern: String

    /// The brace-free alternatives; the glob matches when any of them does.
    private let alternatives: [GlobAlternative]

    /// Compiles `pattern`, throwing `.invalidGlob` with the offset (in Unicode scalars) of the problem.
    public init(_ pattern: String) throws(DaemonKitError) {
        self.pattern = pattern
        alternatives = try GlobParser.compile(pattern, syntax: .doublestar)
    }

    /// Compiles a pattern in another dialect; gitignore rules use this with `.gitignore`.
    init(_ pattern: String, syntax: GlobParser.Syntax) throws(DaemonKitError) {
        self.pattern = pattern
        alternatives = try GlobParser.compile(pattern, syntax: syntax)
    }

    /// Whether the glob matches `path`, a relative path with `/` separators and no leading `./`.
    public func matches(_ path: String) -> Bool {
        matches(GlobPath(path))
    }

    /// Matches an already split path, from its segment `first` on, so callers matching one path against many
    /// globs (or against rules of nested folders) split it only once.
    func matches(_ path: GlobPath, from first: Int = 0) -> Bool {
        for alternative in alternatives where alternative.matches(path, from: first) {
            return true
        }
        return false
    }

    /// The leading folder segments free of glob syntax: `src` for `src/**/*.py`, empty for `*.py`.
    ///
    /// The last segment is never part of it, even when literal, so the prefix always names a folder to start
    /// walking or watching from. A segment with an escape counts as syntax, which only makes the prefix
    /// shorter, never wrong.
    public var literalPrefix: String {
        let segments = pattern.split(separator: "/", omittingEmptySubsequences: false).dropLast()
        var prefix: [Substring] = []
        for segment in segments {
            if segment.contains(where: { "*?[{\\".contains($0) }) { break }
            prefix.append(segment)
        }
        return prefix.joined(separator: "/")
    }

    /// The pattern text.
    public var description: String { pattern }

    /// Globs compare by pattern text, since the compiled form is a function of it.
    public static func == (lhs: Glob, rhs: Glob) -> Bool {
        lhs.pattern == rhs.pattern
    }

    /// Hashes the pattern text, consistently with `==`.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(pattern)
    }
}
