import FoundationEssentials

/// Where a value of the manifest came from: a place in a file, an environment override, a `--set`
/// argument, or a built-in default.
public enum ValueOrigin: Hashable, Sendable {
    /// A line and column (1-based) in the manifest or another YAML file.
    case file(path: String, line: Int, column: Int)
    /// An `ORCHESTRATE__…` environment variable.
    case environment(variable: String)
    /// A `--set path=value` argument.
    case commandLine(argument: String)
    /// A default filled in by the loader.
    case builtInDefault

    /// Short human form: `daemons.yaml:7:15`, `ORCHESTRATE__DAEMONS__X__INTERVAL`, `--set x=1`.
    public var label: String {
        switch self {
        case .file(let path, let line, let column): "\(path):\(line):\(column)"
        case .environment(let variable): variable
        case .commandLine(let argument): "--set \(argument)"
        case .builtInDefault: "default"
        }
    }
}

/// One node of a parsed YAML document, with the place it came from.
///
/// Aliases are resolved while parsing, so the tree is plain data: scalars, sequences and mappings
/// whose keys are strings. Mappings keep the order of the file.
public struct YAMLNode: Hashable, Sendable {
    /// How a scalar was written: plain scalars are typed by YAML 1.2's core schema, the others are strings.
    public enum ScalarStyle: Hashable, Sendable {
        case plain
        case quoted
    }

    /// A key of a mapping with the place it was written.
    public struct Key: Hashable, Sendable {
        /// The key's text.
        public var text: String
        /// Where the key was written.
        public var origin: ValueOrigin
    }

    /// One entry of a mapping. (A struct rather than a tuple: tuples are copied through the runtime's
    /// generic witnesses, which made large manifests measurably slower.)
    public struct Pair: Hashable, Sendable {
        /// The key, with where it was written.
        public var key: Key
        /// The value.
        public var value: YAMLNode

        /// Makes an entry.
        public init(_ key: Key, _ value: YAMLNode) {
            self.key = key
            self.value = value
        }

        /// Entries are equal when their key texts and values are; where they were written does not matter.
        public static func == (lhs: Pair, rhs: Pair) -> Bool { lhs.key.text == rhs.key.text && lhs.value == rhs.value }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(key.text)
            hasher.combine(value)
        }
    }

    /// The content of a node.
    public enum Content: Hashable, Sendable {
        case scalar(String, ScalarStyle)
        case sequence([YAMLNode])
        case mapping([Pair])
    }

    /// What the node holds.
    public var content: Content
    /// Where the node came from. Equality ignores it: two nodes with the same content are equal.
    public var origin: ValueOrigin
    /// Whether a `$` appears in a scalar of this subtree, as the parser read it: interpolation visits only
    /// those subtrees. Nodes made later (overrides, defaults) are never interpolated, so they leave it false.
    var containsDollar: Bool

    /// Makes a node.
    public init(_ content: Content, origin: ValueOrigin) {
        self.init(content, origin: origin, containsDollar: false)
    }

    init(_ content: Content, origin: ValueOrigin, containsDollar: Bool) {
        self.content = content
        self.origin = origin
        self.containsDollar = containsDollar
    }

    public static func == (lhs: YAMLNode, rhs: YAMLNode) -> Bool { lhs.content == rhs.content }

    public func hash(into hasher: inout Hasher) { hasher.combine(content) }
}

extension YAMLNode {
    /// A plain or quoted scalar's text, nil for collections.
    public var scalarText: String? {
        if case .scalar(let text, _) = content { return text }
        return nil
    }

    /// Whether this is a plain scalar that YAML's core schema reads as null (`~`, `null`, or nothing).
    public var isNull: Bool {
        guard case .scalar(let text, .plain) = content else { return false }
        // By length first: this runs for nearly every value, and most are neither 1 nor 4 bytes long.
        switch text.utf8.count {
        case 0: return true
        case 1: return text == "~"
        case 4: return text == "null" || text == "Null" || text == "NULL"
        default: return false
        }
    }

    /// The pairs of a mapping, nil for other nodes.
    public var pairs: [Pair]? {
        if case .mapping(let pairs) = content { return pairs }
        return nil
    }

    /// The items of a sequence, nil for other nodes.
    public var items: [YAMLNode]? {
        if case .sequence(let items) = content { return items }
        return nil
    }

    /// The value under `key` in a mapping.
    public subscript(key: String) -> YAMLNode? {
        // A loop over indices rather than `first(where:)`: it copies no entry but the one found.
        guard case .mapping(let pairs) = content else { return nil }
        for index in pairs.indices where pairs[index].key.text == key { return pairs[index].value }
        return nil
    }

    /// Sets or replaces the value under `key` in a mapping (appending new keys); does nothing to other nodes.
    public mutating func set(_ key: String, to value: YAMLNode, keyOrigin: ValueOrigin? = nil) {
        guard case .mapping(var pairs) = content else { return }
        content = .mapping([])  // `pairs` is then the only reference: it changes in place
        if let index = pairs.firstIndex(where: { $0.key.text == key }) {
            pairs[index].value = value
        } else {
            pairs.append(Pair(Key(text: key, origin: keyOrigin ?? value.origin), value))
        }
        content = .mapping(pairs)
    }

    /// Removes `key` from a mapping.
    public mutating func remove(_ key: String) {
        guard case .mapping(var pairs) = content else { return }
        content = .mapping([])  // `pairs` is then the only reference: it changes in place
        pairs.removeAll { $0.key.text == key }
        content = .mapping(pairs)
    }

    /// A short description of the node's type and value, for "found …" in error messages.
    public var found: String {
        switch content {
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        case .scalar(let text, let style):
            if isNull { return "null" }
            if style == .quoted { return "string '\(text.truncatedForMessage)'" }
            switch CoreSchema.type(ofPlain: text) {
            case .boolean: return "boolean \(text)"
            case .integer: return "number \(text)"
            case .float: return "number \(text)"
            case .null: return "null"
            case .string: return "'\(text.truncatedForMessage)'"
            }
        }
    }
}

/// YAML 1.2 core schema resolution of plain scalars.
enum CoreSchema {
    enum PlainType { case null, boolean, integer, float, string }

    static func type(ofPlain text: String) -> PlainType {
        // The null and boolean words are at most 5 bytes long: longer text skips comparing with each.
        if text.utf8.count <= 5 {
            switch text {
            case "", "~", "null", "Null", "NULL": return .null
            case "true", "True", "TRUE", "false", "False", "FALSE": return .boolean
            default: break
            }
        }
        if integer(text) != nil { return .integer }
        if isFloat(text) || [".inf", ".Inf", ".INF", "-.inf", "+.inf", ".nan", ".NaN", ".NAN"].contains(text) {
            return .float
        }
        return .string
    }

    static func boolean(_ text: String) -> Bool? {
        guard text.utf8.count == 4 || text.utf8.count == 5 else { return nil }
        return switch text {
        case "true", "True", "TRUE": true
        case "false", "False", "FALSE": false
        default: nil
        }
    }

    static func integer(_ text: String) -> Int? {
        // Plain decimal digits, nearly every integer of a manifest, are added up without the general parse.
        let utf8 = text.utf8
        if !utf8.isEmpty, utf8.count <= 18, utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) {
            return utf8.reduce(0) { $0 * 10 + Int($1 - 48) }
        }
        if text.hasPrefix("0x") { return Int(text.dropFirst(2), radix: 16) }
        if text.hasPrefix("0o") { return Int(text.dropFirst(2), radix: 8) }
        var digits = Substring(text)
        if digits.first == "+" || digits.first == "-" { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return Int(text.hasPrefix("+") ? String(text.dropFirst()) : text)
    }

    /// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, scanned by hand: this runs for every
    /// scalar of a manifest, and a Swift `Regex` costs tens of microseconds a match.
    static func isFloat(_ text: String) -> Bool {
        var bytes = Substring(text).utf8[...]
        func digits() -> Int {
            let count = bytes.prefix { $0 >= 48 && $0 <= 57 }.count
            bytes = bytes.dropFirst(count)
            return count
        }
        if bytes.first == UInt8(ascii: "+") || bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
        let whole = digits()
        var fraction = 0
        if bytes.first == UInt8(ascii: ".") {
            bytes = bytes.dropFirst()
            fraction = digits()
        }
        guard whole > 0 || fraction > 0 else { return false }
        if bytes.first == UInt8(ascii: "e") || bytes.first == UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            if bytes.first == UInt8(ascii: "+") || bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
            guard digits() > 0 else { return false }
        }
        return bytes.isEmpty
    }
}

extension String {
    /// The string cut to a length that reads well inside an error message.
    var truncatedForMessage: String {
        let oneLine = replacing("\n", with: "\\n")
        return oneLine.count > 60 ? String(oneLine.prefix(57)) + "..." : oneLine
    }
}
