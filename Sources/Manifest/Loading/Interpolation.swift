/// Docker compose's variable substitution for one string.
///
/// This reproduces compose-go's `template` package (v2), which works by matching the regular expression
/// `\$(?i:(\$)|([_a-z][_a-z0-9]*)|{(?:([_a-z][_a-z0-9]*(?::?[-+?](.*))?)}|()))` over the text and replacing
/// each match; the matcher below follows that expression by hand so its corner cases come out the same:
///
/// - `$$` is a literal `$`; `$NAME` and `${NAME}` substitute (an unset variable becomes empty and is reported
///   in ``Substitution/unsetVariables``); a `$` followed by anything else (`$5`, `$-`, `$}`, a trailing `$`) is
///   kept, as compose keeps it.
/// - `${` always starts a template: if it is not `${NAME}` or `${NAME` + operator + text + `}`, the text is an
///   invalid template (`${}`, `${ x}`, `${x!}`, `${x:y}`, `${x`).
/// - After an operator the template runs, as compose's greedy `.*}` does, to the last `}` on the same line; it is
///   then cut at the first `}` that balances the braces opened since the `$` (counting every `{`, and, as
///   compose does, skipping the character after each `{`). The text after the cut is substituted on its own.
/// - The operator is the one right after the name: `:-`, `-`, `:+`, `+`, `:?` or `?`. Its argument is
///   substituted only when it is used (compose-go v2.13 behaviour), so `${SET:-${X:?}}` does not fail.
struct Interpolation {
    /// Looks a variable up: nil when unset (an empty string is "set but empty").
    var lookup: (String) -> String?

    /// Creates an interpolation that resolves variables with `lookup`.
    init(lookup: @escaping (String) -> String?) {
        self.lookup = lookup
    }

    /// Substitutes every template in `text`. Throws on a malformed template or a `?`/`:?` error.
    func substitute(_ text: String) throws(InterpolationError) -> Substitution {
        var expander = Expander(text: text, lookup: lookup)
        let value = try expander.expand(0..<expander.scalars.count)
        return Substitution(value: value, unsetVariables: expander.unset)
    }
}

/// One substitution run over a text, kept as Unicode scalars so ranges can nest.
private struct Expander {
    /// What the pattern matched at a `$`.
    enum Match {
        /// `$$`.
        case escaped
        /// `$NAME`; the name ends before `nameEnd`.
        case named(nameEnd: Int)
        /// `${NAME…}`; the name ends before `nameEnd`, the whole match before `end`.
        case braced(nameEnd: Int, end: Int)
        /// `${` followed by something that is not a template.
        case invalid
    }

    let text: String
    let scalars: [Unicode.Scalar]
    let lookup: (String) -> String?
    var unset: [String] = []

    init(text: String, lookup: @escaping (String) -> String?) {
        self.text = text
        self.scalars = Array(text.unicodeScalars)
        self.lookup = lookup
    }

    /// Substitutes the templates in `range`, which the pattern sees as a whole string of its own.
    mutating func expand(_ range: Range<Int>) throws(InterpolationError) -> String {
        var out = String.UnicodeScalarView()
        var index = range.lowerBound
        while index < range.upperBound {
            let scalar = scalars[index]
            guard scalar == "$", let match = match(at: index, in: range) else {
                out.append(scalar)
                index += 1
                continue
            }
            switch match {
            case .escaped:
                out.append("$")
                index += 2
            case .named(let nameEnd):
                out.append(contentsOf: resolve(string(index + 1..<nameEnd)).unicodeScalars)
                index = nameEnd
            case .braced(let nameEnd, let end):
                out.append(contentsOf: try expandBraced(index..<end, nameEnd: nameEnd).unicodeScalars)
                index = end
            case .invalid:
                throw InterpolationError(
                    message: "invalid template: \(string(range).goQuoted)",
                    offset: characterOffset(index),
                    variable: nil
                )
            }
        }
        return String(out)
    }

    /// Matches the pattern at the `$` at `start`, seeing no further than `range`; nil when it does not match.
    func match(at start: Int, in range: Range<Int>) -> Match? {
        let end = range.upperBound
        let next = start + 1
        guard next < end else { return nil }
        if scalars[next] == "$" { return .escaped }
        if Self.isNameStart(scalars[next]) {
            return .named(nameEnd: nameEnd(from: next + 1, before: end))
        }
        guard scalars[next] == "{" else { return nil }
        let nameStart = next + 1
        guard nameStart < end, Self.isNameStart(scalars[nameStart]) else { return .invalid }
        let nameEnd = nameEnd(from: nameStart + 1, before: end)
        guard nameEnd < end else { return .invalid }
        // `(?::?[-+?](.*))?` then `}`: the optional group is tried first; `.*` does not cross a newline.
        var operatorIndex = nameEnd
        if scalars[operatorIndex] == ":" { operatorIndex += 1 }
        if operatorIndex < end, Self.isOperator(scalars[operatorIndex]) {
            var lastBrace: Int?
            var cursor = operatorIndex + 1
            while cursor < end, scalars[cursor] != "\n" {
                if scalars[cursor] == "}" { lastBrace = cursor }
                cursor += 1
            }
            if let lastBrace { return .braced(nameEnd: nameEnd, end: lastBrace + 1) }
        }
        if scalars[nameEnd] == "}" { return .braced(nameEnd: nameEnd, end: nameEnd + 1) }
        return .invalid
    }

    /// Substitutes one braced match `${NAME…}…` starting at `whole.lowerBound`.
    mutating func expandBraced(_ whole: Range<Int>, nameEnd: Int) throws(InterpolationError) -> String {
        let dollar = whole.lowerBound
        let name = string(dollar + 2..<nameEnd)
        guard scalars[nameEnd] != "}" else { return resolve(name) }

        var operatorText = String(scalars[nameEnd])
        if scalars[nameEnd] == ":" { operatorText.unicodeScalars.append(scalars[nameEnd + 1]) }
        let argumentStart = nameEnd + operatorText.unicodeScalars.count
        let cut = firstBalancedClosingBrace(in: whole).map { $0 + 1 } ?? whole.upperBound
        let argument = argumentStart..<(cut - 1)
        let rest = cut..<whole.upperBound

        let current = lookup(name)
        let isSet = current != nil
        let isNonEmpty = !(current ?? "").isEmpty
        let value: String
        switch operatorText {
        case ":-": value = try isNonEmpty ? current! : expand(argument)
        case "-": value = try isSet ? current! : expand(argument)
        case ":+": value = try isNonEmpty ? expand(argument) : current ?? ""
        case "+": value = try isSet ? expand(argument) : ""
        case ":?", "?":
            guard operatorText == ":?" ? isNonEmpty : isSet else {
                let reason = try expand(argument)
                throw InterpolationError(
                    message: "required variable \(name) is missing a value" + (reason.isEmpty ? "" : ": \(reason)"),
                    offset: characterOffset(dollar),
                    variable: name
                )
            }
            value = current!
        default:
            preconditionFailure("the matcher only accepts -, +, ? with an optional colon")
        }
        let tail = try expand(rest)
        return value + tail
    }

    /// compose-go's `getFirstBraceClosingIndex`: the `}` that brings the count of `{` seen back to zero.
    func firstBalancedClosingBrace(in range: Range<Int>) -> Int? {
        var open = 0
        var index = range.lowerBound
        while index < range.upperBound {
            if scalars[index] == "}" {
                open -= 1
                if open == 0 { return index }
            }
            if scalars[index] == "{" {
                open += 1
                index += 1  // compose skips the character after every `{`
            }
            index += 1
        }
        return nil
    }

    /// A plain reference: the value, or empty (and reported) when unset.
    mutating func resolve(_ name: String) -> String {
        if let value = lookup(name) { return value }
        if !unset.contains(name) { unset.append(name) }
        return ""
    }

    func nameEnd(from start: Int, before end: Int) -> Int {
        var index = start
        while index < end, Self.isNameCharacter(scalars[index]) { index += 1 }
        return index
    }

    func string(_ range: Range<Int>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[range])
        return String(view)
    }

    /// The offset in characters of `text` of the scalar at `scalarOffset`.
    func characterOffset(_ scalarOffset: Int) -> Int {
        let index = text.unicodeScalars.index(text.unicodeScalars.startIndex, offsetBy: scalarOffset)
        return text.distance(from: text.startIndex, to: index)
    }

    /// `[_a-z]` under Go's case folding, which also folds U+017F (ſ) to `s` and U+212A (Kelvin) to `k`.
    static func isNameStart(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "_", "a"..."z", "A"..."Z", "\u{017F}", "\u{212A}": true
        default: false
        }
    }

    /// `[_a-z0-9]` under Go's case folding.
    static func isNameCharacter(_ scalar: Unicode.Scalar) -> Bool {
        isNameStart(scalar) || ("0"..."9").contains(scalar)
    }

    static func isOperator(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "-" || scalar == "+" || scalar == "?"
    }
}
