/// A brace-free alternative of a compiled glob; a glob matches when any of its alternatives does.
struct GlobAlternative: Sendable, Hashable {
    let segments: [Segment]
    let hasDoubleStar: Bool

    init(segments: [Segment]) {
        self.segments = segments
        hasDoubleStar = segments.contains { if case .doubleStar = $0 { true } else { false } }
    }

    /// Matches the path segments from `first` on. Without `**` segments pair up one to one; with them a
    /// table over (pattern segment, path segment) keeps the work polynomial however many `**` there are.
    func matches(_ path: GlobPath, from first: Int) -> Bool {
        let count = path.segments.count - first
        guard count >= 0 else { return false }
        if !hasDoubleStar {
            guard segments.count == count else { return false }
            for (offset, segment) in segments.enumerated()
            where !Self.matches(segment, path, path.segments[first + offset]) {
                return false
            }
            return true
        }
        // next[i]: whether the pattern segments after the current one match path segments i..<count.
        var next = [Bool](repeating: false, count: count + 1)
        next[count] = true
        var current = next
        for segment in segments.reversed() {
            switch segment {
            case .doubleStar(let atLeastOne):
                var zeroOrMore = false
                current[count] = next[count]
                zeroOrMore = next[count]
                var index = count - 1
                while index >= 0 {
                    let consumedOne = zeroOrMore
                    zeroOrMore = next[index] || zeroOrMore
                    current[index] = atLeastOne ? consumedOne : zeroOrMore
                    index -= 1
                }
                if atLeastOne { current[count] = false }
            default:
                current[count] = false
                for index in 0..<count {
                    current[index] = next[index + 1] && Self.matches(segment, path, path.segments[first + index])
                }
            }
            swap(&current, &next)
        }
        return next[0]
    }

    private static func matches(_ segment: Segment, _ path: GlobPath, _ range: Range<Int>) -> Bool {
        switch segment {
        case .doubleStar:
            return true
        case .literal(let scalars):
            guard scalars.count == range.count else { return false }
            var position = range.lowerBound
            for scalar in scalars {
                if path.scalars[position] != scalar { return false }
                position += 1
            }
            return true
        case .tokens(let tokens):
            return matches(tokens, path.scalars, range)
        }
    }

    /// The classic wildcard algorithm: on a mismatch, retry from the last `*` with it swallowing one more
    /// scalar. Earlier stars never need revisiting, so the cost is at most tokens × scalars.
    private static func matches(_ tokens: [Token], _ scalars: [Unicode.Scalar], _ range: Range<Int>) -> Bool {
        var token = 0
        var position = range.lowerBound
        var starToken = -1
        var starPosition = 0
        while position < range.upperBound {
            if token < tokens.count {
                switch tokens[token] {
                case .star:
                    starToken = token
                    starPosition = position
                    token += 1
                    continue
                case .any:
                    token += 1
                    position += 1
                    continue
                case .literal(let scalar) where scalar == scalars[position]:
                    token += 1
                    position += 1
                    continue
                case .set(let set) where set.matches(scalars[position]):
                    token += 1
                    position += 1
                    continue
                default:
                    break
                }
            }
            guard starToken >= 0 else { return false }
            token = starToken + 1
            starPosition += 1
            position = starPosition
        }
        while token < tokens.count, tokens[token] == .star { token += 1 }
        return token == tokens.count
    }

    /// One element of a compiled glob segment; every element but `star` consumes exactly one scalar, which is
    /// what lets the segment matcher use the linear star-backtracking algorithm.
    enum Token: Sendable, Hashable {
        /// Exactly this scalar.
        case literal(Unicode.Scalar)
        /// Any one scalar (`?`).
        case any
        /// Any run of scalars, possibly empty (`*`).
        case star
        /// One scalar from a bracket expression.
        case set(CharacterClass)
    }

    /// A bracket expression such as `[a-z_]` or `[!0-9]`, kept as inclusive scalar-value ranges.
    struct CharacterClass: Sendable, Hashable {
        /// Whether the class matches the scalars outside its ranges.
        var negated: Bool
        /// The members; a single scalar is a one-element range.
        var ranges: [ClosedRange<UInt32>]

        func matches(_ scalar: Unicode.Scalar) -> Bool {
            let value = scalar.value
            var found = false
            for range in ranges where range.contains(value) {
                found = true
                break
            }
            return found != negated
        }
    }

    /// One `/`-separated piece of a compiled glob.
    enum Segment: Sendable, Hashable {
        /// `**` as a whole segment: any number of path segments, at least one when `atLeastOne` (gitignore's
        /// trailing `/**`, which matches inside a folder but not the folder itself).
        case doubleStar(atLeastOne: Bool)
        /// A segment without wildcards, compared directly because most segments of real patterns are like this.
        case literal([Unicode.Scalar])
        /// A segment with wildcards, matched by the star-backtracking algorithm.
        case tokens([Token])
    }
}
