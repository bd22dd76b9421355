/// The rules of a tree's `.gitignore` files, evaluated as git does (gitignore(5)).
///
/// Rules of a deeper `.gitignore` override those of its parents, a later line overrides an earlier one, and
/// a `!` rule re-includes what an earlier rule excluded. Git also never re-includes a path below an excluded
/// folder; callers get that by not descending into folders this reports as ignored.
public struct GitignoreRules: Sendable {
    /// One usable line of a `.gitignore`.
    private struct Rule: Sendable {
        let glob: Glob
        let negated: Bool
        let directoryOnly: Bool
        /// Whether the pattern had a slash before its end, tying it to the file's folder; otherwise it is
        /// matched against the last path segment at any depth.
        let anchored: Bool
    }

    /// The rules of one `.gitignore`, with the folder it applies beneath.
    private struct Group: Sendable {
        let baseSegments: [[Unicode.Scalar]]
        let rules: [Rule]
    }

    /// Ordered shallowest folder first, and by insertion among equally deep ones, so scanning backwards finds
    /// the overriding rule first.
    private var groups: [Group] = []

    /// Makes an empty rule set that ignores nothing.
    public init() {}

    /// Adds the lines of one `.gitignore` whose folder is `base`, relative to the scan root (`""` for the
    /// root itself). Lines git would not be able to match (such as an unclosed `[`) are dropped, since git
    /// never matches them either.
    public mutating func add(contents: String, base: String) {
        var rules: [Rule] = []
        var lines = contents.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
        if let first = lines.first, first.first == "\u{FEFF}" { lines[0] = first.dropFirst() }
        for line in lines {
            if let rule = Self.rule(Array(line)) { rules.append(rule) }
        }
        guard !rules.isEmpty else { return }
        let baseSegments = base.split(separator: "/").filter { $0 != "." }.map { Array($0.unicodeScalars) }
        let index = groups.firstIndex { $0.baseSegments.count > baseSegments.count } ?? groups.endIndex
        groups.insert(Group(baseSegments: baseSegments, rules: rules), at: index)
    }

    /// Whether `relativePath` (relative to the scan root, `/`-separated) is ignored by the rules that apply
    /// to it; `isDirectory` matters for rules ending in `/`.
    public func isIgnored(_ relativePath: String, isDirectory: Bool) -> Bool {
        isIgnored(GlobPath(relativePath), isDirectory: isDirectory)
    }

    /// Evaluates an already split path, so a scanner matching it against several rule sets splits it once.
    func isIgnored(_ path: GlobPath, isDirectory: Bool) -> Bool {
        let last = path.segments.count - 1
        for group in groups.reversed() {
            let depth = group.baseSegments.count
            // Rules apply only strictly beneath their folder.
            guard depth <= last else { continue }
            var inside = true
            for (index, name) in group.baseSegments.enumerated() where !path.segment(index, equals: name) {
                inside = false
                break
            }
            guard inside else { continue }
            for rule in group.rules.reversed() {
                if rule.directoryOnly && !isDirectory { continue }
                let matched = rule.anchored ? rule.glob.matches(path, from: depth) : rule.glob.matches(path, from: last)
                if matched { return !rule.negated }
            }
        }
        return false
    }

    /// Turns one line into a rule, or nil for blank lines, comments and patterns git cannot match.
    private static func rule(_ line: [Unicode.Scalar]) -> Rule? {
        var text = line[...]
        // Files edited on Windows end lines with CR, which is never meant as part of the pattern.
        if text.last == "\r" { text = text.dropLast() }
        text = text[..<trimmedEnd(text)]
        guard let first = text.first, first != "#" else { return nil }
        var negated = false
        if first == "!" {
            negated = true
            text = text.dropFirst()
        }
        var directoryOnly = false
        if text.last == "/" {
            directoryOnly = true
            text = text.dropLast()
        }
        let anchored = text.contains("/")
        if text.first == "/" { text = text.dropFirst() }
        guard !text.isEmpty else { return nil }
        let pattern = String(String.UnicodeScalarView(text))
        guard let glob = try? Glob(pattern, syntax: .gitignore) else { return nil }
        return Rule(glob: glob, negated: negated, directoryOnly: directoryOnly, anchored: anchored)
    }

    /// Where the line ends once unescaped trailing spaces are cut; `\ ` keeps its space (and its backslash,
    /// which the glob then reads as an escape).
    private static func trimmedEnd(_ text: ArraySlice<Unicode.Scalar>) -> Int {
        var end = text.startIndex
        var index = text.startIndex
        while index < text.endIndex {
            switch text[index] {
            case " ":
                index += 1
            case "\\":
                index = min(index + 2, text.endIndex)
                end = index
            default:
                index += 1
                end = index
            }
        }
        return end
    }
}
