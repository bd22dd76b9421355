/// Compiles glob text into brace-free alternatives of segments. Two dialects share it: the doublestar dialect
/// of `Glob`, and gitignore's, which has no braces, reads an inverted range as its first character (as git
/// does) and lets a trailing `/**` match only inside its folder.
struct GlobParser {
    /// The dialects the parser understands.
    enum Syntax {
        case doublestar
        case gitignore
    }

    /// The most alternatives brace expansion may produce; beyond it a pattern is rejected rather than
    /// matched slowly.
    static let maximumAlternatives = 1024

    /// A parsed element before brace expansion.
    private indirect enum Node {
        case token(GlobAlternative.Token)
        case slash
        case brace(alternatives: [[Node]], offset: Int)
    }

    /// A parsed element after brace expansion.
    private enum Flat: Equatable {
        case token(GlobAlternative.Token)
        case slash
    }

    private let scalars: [Unicode.Scalar]
    private let syntax: Syntax
    private var position = 0

    private init(_ pattern: String, syntax: Syntax) {
        scalars = Array(pattern.unicodeScalars)
        self.syntax = syntax
    }

    /// Parses `pattern`, expands its braces and splits every alternative into segments.
    static func compile(_ pattern: String, syntax: Syntax) throws(DaemonKitError) -> [GlobAlternative] {
        var parser = GlobParser(pattern, syntax: syntax)
        guard !parser.scalars.isEmpty else { throw invalid("empty pattern", at: 0) }
        let (nodes, _) = try parser.parseSequence(braceOffset: nil)
        return try parser.expand(nodes).map(parser.segments)
    }

    private static func invalid(_ message: String, at offset: Int) -> DaemonKitError {
        DaemonKitError(code: .invalidGlob, message: message, offset: offset)
    }

    /// Parses until the end, or inside a brace until its `,` or `}`; returns the nodes and whether a `,`
    /// ended them (so the caller knows another alternative follows).
    private mutating func parseSequence(braceOffset: Int?) throws(DaemonKitError) -> ([Node], Bool) {
        var nodes: [Node] = []
        let braces = syntax == .doublestar
        while position < scalars.count {
            let scalar = scalars[position]
            switch scalar {
            case "\\":
                guard position + 1 < scalars.count else {
                    throw Self.invalid("trailing backslash escapes nothing", at: position)
                }
                nodes.append(.token(.literal(scalars[position + 1])))
                position += 2
            case "*":
                nodes.append(.token(.star))
                position += 1
            case "?":
                nodes.append(.token(.any))
                position += 1
            case "/":
                nodes.append(.slash)
                position += 1
            case "[":
                nodes.append(.token(.set(try parseClass())))
            case "{" where braces:
                let offset = position
                position += 1
                var alternatives: [[Node]] = []
                while true {
                    let (alternative, more) = try parseSequence(braceOffset: offset)
                    alternatives.append(alternative)
                    if !more { break }
                }
                nodes.append(.brace(alternatives: alternatives, offset: offset))
            case "," where braces && braceOffset != nil:
                position += 1
                return (nodes, true)
            case "}" where braces:
                guard braceOffset != nil else { throw Self.invalid("unmatched closing brace '}'", at: position) }
                position += 1
                return (nodes, false)
            default:
                nodes.append(.token(.literal(scalar)))
                position += 1
            }
        }
        if let braceOffset { throw Self.invalid("unclosed brace '{' (missing '}')", at: braceOffset) }
        return (nodes, false)
    }

    /// Parses a bracket expression starting at `[`. A `]` right after the opening (and its `!` or `^`) is a
    /// member, as in POSIX; when no later `]` closes the class, the pattern is reported as an empty class,
    /// which is what the writer most likely meant.
    private mutating func parseClass() throws(DaemonKitError) -> GlobAlternative.CharacterClass {
        let open = position
        position += 1
        var negated = false
        if position < scalars.count, scalars[position] == "!" || scalars[position] == "^" {
            negated = true
            position += 1
        }
        let first = position
        var ranges: [ClosedRange<UInt32>] = []
        while true {
            guard position < scalars.count else {
                if first < scalars.count, scalars[first] == "]" {
                    let text = String(String.UnicodeScalarView(scalars[open...first]))
                    throw Self.invalid("empty character class '\(text)'", at: open)
                }
                throw Self.invalid("unclosed character class '[' (missing ']')", at: open)
            }
            if scalars[position] == "]", position > first {
                position += 1
                return GlobAlternative.CharacterClass(negated: negated, ranges: ranges)
            }
            let start = position
            guard let low = member() else { continue }
            if position + 1 < scalars.count, scalars[position] == "-", scalars[position + 1] != "]" {
                position += 1
                guard let high = member() else { continue }
                if low.value <= high.value {
                    ranges.append(low.value...high.value)
                } else if syntax == .doublestar {
                    let text = String(String.UnicodeScalarView(scalars[start..<position]))
                    throw Self.invalid("inverted range '\(text)' in character class", at: start)
                } else {
                    // Git's wildmatch compares the range start as a member before it sees the range.
                    ranges.append(low.value...low.value)
                }
            } else {
                ranges.append(low.value...low.value)
            }
        }
    }

    /// Reads one class member, unescaping `\x`; nil when a backslash ends the pattern, which then surfaces
    /// as an unclosed class.
    private mutating func member() -> Unicode.Scalar? {
        if scalars[position] == "\\" {
            guard position + 1 < scalars.count else {
                position += 1
                return nil
            }
            position += 2
            return scalars[position - 1]
        }
        position += 1
        return scalars[position - 1]
    }

    private func expand(_ nodes: [Node]) throws(DaemonKitError) -> [[Flat]] {
        var results: [[Flat]] = [[]]
        for node in nodes {
            switch node {
            case .token(let token):
                for index in results.indices { results[index].append(.token(token)) }
            case .slash:
                for index in results.indices { results[index].append(.slash) }
            case .brace(let alternatives, let offset):
                var options: [[Flat]] = []
                for alternative in alternatives {
                    options += try expand(alternative)
                    if options.count > Self.maximumAlternatives { throw tooMany(at: offset) }
                }
                guard results.count * options.count <= Self.maximumAlternatives else { throw tooMany(at: offset) }
                results = results.flatMap { prefix in options.map { prefix + $0 } }
            }
        }
        return results
    }

    private func tooMany(at offset: Int) -> DaemonKitError {
        Self.invalid("brace expansion produces more than \(Self.maximumAlternatives) alternatives", at: offset)
    }

    /// Splits an expanded alternative at its slashes; a segment that is exactly two stars is `**`, and any
    /// other run of stars is one star since extra stars add nothing within a segment.
    private func segments(_ flat: [Flat]) -> GlobAlternative {
        var pieces: [[GlobAlternative.Token]] = [[]]
        for item in flat {
            switch item {
            case .slash: pieces.append([])
            case .token(let token): pieces[pieces.count - 1].append(token)
            }
        }
        var segments: [GlobAlternative.Segment] = []
        for (index, piece) in pieces.enumerated() {
            if piece == [.star, .star] {
                let trailing = syntax == .gitignore && index == pieces.count - 1 && index > 0
                segments.append(.doubleStar(atLeastOne: trailing))
                continue
            }
            var tokens: [GlobAlternative.Token] = []
            var literal = true
            for token in piece {
                if token == .star, tokens.last == .star { continue }
                if case .literal = token {} else { literal = false }
                tokens.append(token)
            }
            if literal {
                segments.append(.literal(tokens.map { if case .literal(let scalar) = $0 { scalar } else { " " } }))
            } else {
                segments.append(.tokens(tokens))
            }
        }
        return GlobAlternative(segments: segments)
    }
}
