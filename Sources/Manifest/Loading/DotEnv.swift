import FoundationEssentials

/// Parses a docker compose .env file.
///
/// The grammar is compose-go's `dotenv` parser (v2), statement by statement rather than line by line:
///
/// - Whitespace (newlines included) before a statement is skipped; a statement starting with `#` is a comment up
///   to the end of its line. A UTF-8 byte order mark at the start is ignored.
/// - `export` followed by whitespace is dropped from the front of a statement.
/// - The key runs to the first `=`, `:` (YAML style, `KEY: value`) or newline (a bare `KEY`). It may contain
///   letters, digits, `_`, `.`, `-`, `[` and `]`; spaces around it are trimmed, and a space inside it is an error.
/// - After `=` or `:`, spaces and tabs are skipped; then the value is
///   - single-quoted: literal up to the closing `'`, where only `\'` is unescaped (the backslash dropped);
///   - double-quoted: up to the closing unescaped `"`, spanning lines if need be; `\"` is a quote, then the
///     escapes `\a \b \f \n \r \t \v \\ \"` and octal `\0NNN` are expanded, `\$` is a literal `$`, any other
///     backslash stays; then `${…}` templates are substituted;
///   - unquoted: the rest of the line, cut at the first ` #` (space, hash), trailing whitespace trimmed, then
///     substituted. There are no backquoted values: a leading backquote is an ordinary character.
/// - Anything left on the line after a closing quote is read as the next statement, as compose does
///   (so `A="x" # note` is fine).
/// - Substitution resolves a name with `lookup` first, then with the values defined earlier in the file (the
///   precedence of compose-go's `expandVariables`). A bare `KEY` takes `lookup(KEY)` and is skipped when unset
///   (earlier lines are not consulted, as in compose).
///
/// Deliberate departures from compose-go, which fails silently or stores nonsense in these cases: a key that
/// starts with an ASCII digit (compose drops it when reading files) and an empty key (`=value`) are errors, and
/// a bare key on the last line without a newline is a bare key (compose stores its name as the value of "").
struct DotEnv {
    /// Parses `contents`, returning each key once, in the order of its first definition, with the value of its
    /// last definition (a later duplicate overrides an earlier one in place).
    ///
    /// `lookup` resolves `${VAR}` inside values and bare `KEY` lines, as compose does (process environment
    /// first; variables defined earlier in the same file are visible to later lines).
    static func parse(
        _ contents: String,
        lookup: (String) -> String?
    ) throws(DotEnvError) -> [(key: String, value: String)] {
        try withoutActuallyEscaping(lookup) { (lookup) throws(DotEnvError) in
            var parser = Parser(contents: contents, lookup: lookup)
            return try parser.parse()
        }
    }

    /// The variables of the file at `path`, each key with the value of its last definition; nil when the file
    /// cannot be read. `lookup` is as for ``parse(_:lookup:)``.
    static func variables(
        ofFile path: String,
        lookup: (String) -> String?
    ) throws(DotEnvError) -> [String: String]? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let pairs = try parse(String(decoding: data, as: UTF8.self), lookup: lookup)
        return Dictionary(pairs.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
    }
}

/// The state of one parse: the file as Unicode scalars, a cursor, and the entries so far.
private struct Parser {
    let scalars: [Unicode.Scalar]
    let lookup: (String) -> String?
    var position = 0
    var keys: [String] = []
    var values: [String: String] = [:]

    init(contents: String, lookup: @escaping (String) -> String?) {
        var scalars = Array(contents.unicodeScalars)
        if scalars.first == "\u{FEFF}" { scalars.removeFirst() }
        self.scalars = scalars
        self.lookup = lookup
    }

    mutating func parse() throws(DotEnvError) -> [(key: String, value: String)] {
        while skipToStatement() {
            try parseStatement()
        }
        return keys.map { (key: $0, value: values[$0] ?? "") }
    }

    /// Skips whitespace and comment lines; false at the end of the file.
    mutating func skipToStatement() -> Bool {
        while true {
            while position < scalars.count, scalars[position].properties.isWhitespace { position += 1 }
            guard position < scalars.count else { return false }
            guard scalars[position] == "#" else { return true }
            while position < scalars.count, scalars[position] != "\n" { position += 1 }
        }
    }

    mutating func parseStatement() throws(DotEnvError) {
        if hasExportPrefix() {
            position += 6
            skipSpaces()
        }
        let keyStart = position
        var index = position
        var terminator: Unicode.Scalar?
        while index < scalars.count {
            let scalar = scalars[index]
            if scalar == "=" || scalar == ":" || scalar == "\n" {
                terminator = scalar
                break
            }
            guard Self.isSpace(scalar) || Self.isKeyScalar(scalar) else {
                let character = String(Character(scalar)).goQuoted
                throw error(at: index, "unexpected character \(character) in variable name \(line(from: keyStart))")
            }
            index += 1
        }
        var keyEnd = index
        while keyEnd > keyStart, scalars[keyEnd - 1].properties.isWhitespace { keyEnd -= 1 }
        let key = string(scalars[keyStart..<keyEnd])
        if let space = scalars[keyStart..<keyEnd].firstIndex(of: " ") {
            throw error(at: space, "key \(key.goQuoted) cannot contain a space")
        }
        if let first = key.unicodeScalars.first, ("0"..."9").contains(first) {
            throw error(at: keyStart, "variable name \(key.goQuoted) must not start with a digit")
        }

        guard let terminator, terminator != "\n" else {
            // A bare `KEY`: inherited from the lookup, or skipped.
            position = min(index + 1, scalars.count)
            if !key.isEmpty, let value = lookup(key) { define(key, value) }
            return
        }
        guard !key.isEmpty else {
            throw error(at: index, "missing variable name before \(String(Character(terminator)).goQuoted)")
        }
        position = index + 1
        skipSpaces()
        define(key, try extractValue())
    }

    mutating func extractValue() throws(DotEnvError) -> String {
        guard position < scalars.count, scalars[position] == "\"" || scalars[position] == "'" else {
            return try extractUnquotedValue()
        }
        let quote = scalars[position]
        let opening = position
        var characters: [Unicode.Scalar] = []
        var sources: [Int] = []
        var escaping = false
        var closing: Int?
        var index = opening + 1
        while index < scalars.count {
            let scalar = scalars[index]
            if escaping {
                // An escaped quote drops its backslash; any other escaped character keeps it for later.
                escaping = false
                if scalar != quote {
                    characters.append("\\")
                    sources.append(index - 1)
                }
                characters.append(scalar)
                sources.append(index)
            } else if scalar == "\\" {
                escaping = true
            } else if scalar == quote {
                closing = index
                break
            } else {
                characters.append(scalar)
                sources.append(index)
            }
            index += 1
        }
        guard let closing else {
            throw error(at: opening, "unterminated quoted value \(rawLine(from: opening))")
        }
        position = closing + 1
        guard quote == "\"" else { return string(characters[...]) }
        let (unescaped, unescapedSources) = Self.expandEscapes(characters, sources: sources)
        return try substitute(unescaped, sources: unescapedSources)
    }

    mutating func extractUnquotedValue() throws(DotEnvError) -> String {
        let start = position
        var end = start
        while end < scalars.count, scalars[end] != "\n" { end += 1 }
        position = min(end + 1, scalars.count)
        var valueEnd = end
        var index = start
        while index + 1 < end {
            if scalars[index] == " ", scalars[index + 1] == "#" {
                valueEnd = index
                break
            }
            index += 1
        }
        while valueEnd > start, scalars[valueEnd - 1].properties.isWhitespace { valueEnd -= 1 }
        return try substitute(Array(scalars[start..<valueEnd]), sources: Array(start..<valueEnd))
    }

    /// Substitutes `${…}` in a value; `sources` gives the file position of each of its scalars for errors.
    func substitute(_ value: [Unicode.Scalar], sources: [Int]) throws(DotEnvError) -> String {
        let text = string(value[...])
        let lookup = self.lookup
        let earlier = values
        let interpolation = Interpolation { name in lookup(name) ?? earlier[name] }
        do throws(InterpolationError) {
            return try interpolation.substitute(text).value
        } catch {
            let index = text.index(text.startIndex, offsetBy: error.offset)
            let scalarOffset = text.unicodeScalars.distance(from: text.unicodeScalars.startIndex, to: index)
            throw self.error(at: sources[scalarOffset], error.message)
        }
    }

    /// compose-go's `expandEscapes`: the escapes its regular expression `\\(?:[abcfnrtv$"\\]|0\d{0,3})` finds,
    /// unquoted as Go's `strconv.UnquoteChar` does; `\$` becomes `$$` so substitution leaves a literal `$`.
    static func expandEscapes(
        _ characters: [Unicode.Scalar],
        sources: [Int]
    ) -> (characters: [Unicode.Scalar], sources: [Int]) {
        var out: [Unicode.Scalar] = []
        var outSources: [Int] = []
        func emit(_ emitted: [Unicode.Scalar], from source: Int) {
            out.append(contentsOf: emitted)
            outSources.append(contentsOf: repeatElement(source, count: emitted.count))
        }
        var index = 0
        while index < characters.count {
            let scalar = characters[index]
            guard scalar == "\\", index + 1 < characters.count else {
                emit([scalar], from: sources[index])
                index += 1
                continue
            }
            let source = sources[index]
            switch characters[index + 1] {
            case "a": emit(["\u{07}"], from: source)
            case "b": emit(["\u{08}"], from: source)
            case "f": emit(["\u{0C}"], from: source)
            case "n": emit(["\n"], from: source)
            case "r": emit(["\r"], from: source)
            case "t": emit(["\t"], from: source)
            case "v": emit(["\u{0B}"], from: source)
            case "\"": emit(["\""], from: source)
            case "\\": emit(["\\"], from: source)
            case "$": emit(["$", "$"], from: source)
            case "c": emit(["\\", "c"], from: source)  // matched, but not a Go escape: kept
            case "0":
                var digits: [Unicode.Scalar] = []
                while digits.count < 3, index + 2 + digits.count < characters.count,
                    ("0"..."9").contains(characters[index + 2 + digits.count])
                {
                    digits.append(characters[index + 2 + digits.count])
                }
                // `\0NNN` is rewritten to `\NNN`, which Go decodes only as three octal digits up to 255.
                let octal = digits.reduce(UInt32(0)) { $0 * 8 + ($1.value - 48) }
                if digits.count == 3, digits.allSatisfy({ ("0"..."7").contains($0) }), octal <= 255,
                    let decoded = Unicode.Scalar(octal)
                {
                    emit([decoded], from: source)
                } else {
                    emit(["\\"] + digits, from: source)
                }
                index += 2 + digits.count
                continue
            default:
                emit(["\\"], from: source)
                index += 1
                continue
            }
            index += 2
        }
        return (out, outSources)
    }

    mutating func define(_ key: String, _ value: String) {
        if values.updateValue(value, forKey: key) == nil { keys.append(key) }
    }

    /// `^export\s+`, where Go's `\s` is `[\t\n\f\r ]`.
    func hasExportPrefix() -> Bool {
        let word: [Unicode.Scalar] = ["e", "x", "p", "o", "r", "t"]
        guard position + word.count < scalars.count,
            Array(scalars[position..<position + word.count]) == word
        else { return false }
        return ["\t", "\n", "\u{0C}", "\r", " "].contains(scalars[position + word.count])
    }

    mutating func skipSpaces() {
        while position < scalars.count, Self.isSpace(scalars[position]) { position += 1 }
    }

    /// The text from `start` to the end of its line, quoted as Go's `%q` would.
    func line(from start: Int) -> String {
        rawLine(from: start).goQuoted
    }

    /// The text from `start` to the end of its line, without a trailing carriage return.
    func rawLine(from start: Int) -> String {
        var end = start
        while end < scalars.count, scalars[end] != "\n" { end += 1 }
        if end > start, scalars[end - 1] == "\r" { end -= 1 }
        return string(scalars[start..<end])
    }

    func error(at index: Int, _ message: String) -> DotEnvError {
        var line = 1
        var lineStart = 0
        for offset in 0..<min(index, scalars.count) where scalars[offset] == "\n" {
            line += 1
            lineStart = offset + 1
        }
        return DotEnvError(message: message, line: line, column: index - lineStart + 1)
    }

    func string(_ slice: ArraySlice<Unicode.Scalar>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: slice)
        return String(view)
    }

    /// compose-go's `isSpace`: whitespace other than a line feed.
    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "\t", "\u{0B}", "\u{0C}", "\r", " ", "\u{85}", "\u{A0}": true
        default: false
        }
    }

    /// compose-go's `isValidKeyRune`: `_ . - [ ]`, or a Unicode letter or number.
    static func isKeyScalar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "_", ".", "-", "[", "]": return true
        default:
            switch scalar.properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
                .decimalNumber, .letterNumber, .otherNumber:
                return true
            default:
                return false
            }
        }
    }
}
