/// Did-you-mean suggestions for misspelt keys, kinds, enum values and names.
public enum Suggestion {
    /// The candidate closest to `given`, if one is close enough to be what the user meant.
    static func closest(to given: String, among candidates: some Sequence<String>) -> String? {
        let normalizedGiven = normalize(given)
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            if normalize(candidate) == normalizedGiven { return candidate }
            let distance = editDistance(normalizedGiven, normalize(candidate))
            if distance < (best?.distance ?? .max) { best = (candidate, distance) }
        }
        guard let best else { return nil }
        let limit = max(1, min(3, max(given.count, best.candidate.count) / 3))
        return best.distance <= limit ? best.candidate : nil
    }

    /// "did you mean 'X'?" for the closest candidate, or nil.
    public static func didYouMean(_ given: String, among candidates: some Sequence<String>) -> String? {
        closest(to: given, among: candidates).map { "did you mean '\($0)'?" }
    }

    /// Lower-cased, with `-` and `.` read as `_`: the equivalence overrides and suggestions use.
    static func normalize(_ text: String) -> String {
        // ASCII text (nearly every key and name) is mapped byte by byte: overrides compare a daemon name with each.
        if text.utf8.allSatisfy({ $0 < 128 }) {
            return String(
                decoding: text.utf8.map { byte in
                    switch byte {
                    case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte + 32
                    case UInt8(ascii: "-"), UInt8(ascii: "."): UInt8(ascii: "_")
                    default: byte
                    }
                },
                as: UTF8.self
            )
        }
        return String(text.lowercased().map { $0 == "-" || $0 == "." ? "_" : $0 })
    }

    /// Levenshtein distance with adjacent transpositions counted as one edit.
    static func editDistance(_ lhs: String, _ rhs: String) -> Int {
        let a = Array(lhs)
        let b = Array(rhs)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previousPrevious = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], previousPrevious[j - 2] + 1)
                }
            }
            (previousPrevious, previous, current) = (previous, current, previousPrevious)
        }
        return previous[b.count]
    }
}
