import DaemonKit

/// The manifest's reference manual, `docs/manifest.md`: its field tables are generated from the shapes that the
/// validator, overrides, `config` and the JSON Schema read, so the manual cannot drift from the code.
///
/// The generated parts sit between markers in a hand-written document:
///
/// ```
/// <!-- BEGIN generated: kind periodic -->
/// (replaced on every update)
/// <!-- END generated: kind periodic -->
/// ```
///
/// A block is `top-level` (the manifest's own fields), `daemon` (`kind` and the fields every daemon has, which
/// `defaults` may set) or `kind NAME` (one kind's own fields). For each field it gives the type, the default, what
/// the field does, an example (checked against the field's shape) and the errors a wrong value gives, as the
/// validator words them (each found by validating a wrong value). A kind of the list that has no block gets a
/// section of its own at the end, so that a program with more kinds documents them as well.
public enum ManifestReference {
    /// A document the generator cannot fill in: a marker without its end, an unknown block, an invalid example.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// A block a document may hold: its name, its text, and the heading of the section a document of its group gets
    /// for it when the document lacks it (nil: never added).
    public struct Block: Sendable {
        /// The name in the markers, `kind periodic`.
        public var name: String
        /// Blocks that go together: a document with one of them gets the others that have a heading.
        public var group: String
        /// The heading of the section made for the block where the document has none.
        public var heading: String?
        /// The Markdown between the markers.
        public var text: String

        /// Makes a block.
        public init(name: String, group: String, heading: String?, text: String) {
            self.name = name
            self.group = group
            self.heading = heading
            self.text = text
        }
    }

    /// `document` with every generated block made anew, for manifests whose daemons are of `kinds`, and with the
    /// blocks of `more` (the command line's, say) as well.
    public static func update(_ document: String, kinds: DaemonKinds, more: [Block] = []) throws(Failure) -> String {
        let blocks = try manifestBlocks(kinds) + more
        var out: [Substring] = []
        var documented: Set<String> = []
        var lines = document.split(separator: "\n", omittingEmptySubsequences: false)[...]
        if lines.last == "" { lines.removeLast() }
        while let line = lines.popFirst() {
            out.append(line)
            guard let name = marker("BEGIN", line) else { continue }
            guard let block = blocks.first(where: { $0.name == name }) else {
                let names = blocks.map { "'\($0.name)'" }.joined(separator: ", ")
                throw Failure(description: "unknown block '\(name)'; the blocks are \(names)")
            }
            guard documented.insert(name).inserted else { throw Failure(description: "block '\(name)' appears twice") }
            guard let end = lines.firstIndex(where: { marker("END", $0) != nil }), marker("END", lines[end]) == name
            else { throw Failure(description: "block '\(name)' has no '<!-- END generated: \(name) -->' after it") }
            lines = lines[end...]
            out.append(contentsOf: block.text.dropLast().split(separator: "\n", omittingEmptySubsequences: false))
        }
        var text = out.joined(separator: "\n") + "\n"
        let groups = Set(blocks.filter { documented.contains($0.name) }.map(\.group))
        for block in blocks where groups.contains(block.group) && !documented.contains(block.name) {
            guard let heading = block.heading else { continue }
            text += "\n## \(heading)\n\n<!-- BEGIN generated: \(block.name) -->\n"
            text += block.text + "<!-- END generated: \(block.name) -->\n"
        }
        return text
    }

    /// The block's name when `line` is its `<!-- BEGIN|END generated: NAME -->` marker.
    private static func marker(_ word: String, _ line: Substring) -> String? {
        let prefix = "<!-- \(word) generated: "
        let trimmed = line.trimmingWhitespace()
        guard trimmed.hasPrefix(prefix), trimmed.hasSuffix(" -->") else { return nil }
        return String(trimmed.dropFirst(prefix.count).dropLast(4))
    }

    /// The manifest's blocks: `top-level`, `daemon`, and `kind NAME` for each kind.
    private static func manifestBlocks(_ kinds: DaemonKinds) throws(Failure) -> [Block] {
        let shapes = kinds.shapes
        var topLevel = Writer()
        // `defaults` takes the fields every daemon has: the `daemon` block lists them.
        try topLevel.fields(shapes.root.properties, under: [], unexpanded: ["defaults"])
        var daemon = Writer()
        if let first = shapes.variants.first?.shape.properties.first {
            try daemon.fields([first] + ManifestShape.commonProperties, under: ["daemons", "NAME"])
        }
        var blocks = [
            Block(name: "top-level", group: "manifest", heading: nil, text: topLevel.markdown),
            Block(name: "daemon", group: "manifest", heading: nil, text: daemon.markdown),
        ]
        for (kind, variant) in zip(kinds, shapes.variants) {
            var writer = Writer()
            try writer.kind(kind, shape: variant.shape)
            blocks.append(
                Block(
                    name: "kind \(kind.name)",
                    group: "manifest",
                    heading: "The \(kind.name) kind",
                    text: writer.markdown
                )
            )
        }
        return blocks
    }

    /// Writes the Markdown of one block.
    private struct Writer {
        var text = ""

        /// The text, ending with one newline.
        var markdown: String {
            var result = text
            while result.hasSuffix("\n\n") { result.removeLast() }
            return result.hasSuffix("\n") ? result : result + "\n"
        }

        /// A minimal daemon of `kind`, checked against its shape, then the kind's fields.
        mutating func kind(_ kind: any DaemonKind.Type, shape: ObjectShape) throws(Failure) {
            let path = ["daemons", "NAME"]
            let minimal = try minimalDaemon(kind.name, shape)
            text += "The smallest `\(kind.name)` daemon, with every required field:\n\n```yaml\n"
            text += yaml(.object([("daemons", .object([("NAME", .object(minimal))]))]))
            text += "```\n\n"
            if !kind.exactlyOneOf.isEmpty {
                let names = kind.exactlyOneOf.map { "`\($0)`" }
                text += "Exactly one of \(names.joined(separator: " and ")) is required. Errors:\n\n"
                let none = minimal.filter { !kind.exactlyOneOf.contains($0.0) }
                var both = minimal
                for field in kind.fields where kind.exactlyOneOf.dropFirst().contains(field.name) {
                    both.append((field.name, try example(of: field, at: path + [field.name])))
                }
                for sample in [none, both] {
                    for error in Self.errors(of: JSONValue.object(sample).node, as: .object(shape), at: path) {
                        text += "- `\(error)`\n"
                    }
                }
                text += "\n"
            }
            try fields(kind.fields + (kind.takesReplicas ? [ManifestShape.replicas] : []), under: path)
        }

        /// A daemon of the variant `tag`, `shape`, with its required fields and the first of those it needs one of,
        /// checked against the shape.
        func minimalDaemon(_ tag: String, _ shape: ObjectShape) throws(Failure) -> [(String, JSONValue)] {
            let path = ["daemons", "NAME"]
            var minimal: [(String, JSONValue)] = []
            for field in shape.properties where field.required || field.name == shape.exactlyOneOf.first {
                let value = field.name == "kind" ? .string(tag) : try example(of: field, at: path + [field.name])
                minimal.append((field.name, value))
            }
            let errors = Self.errors(of: JSONValue.object(minimal).node, as: .object(shape), at: path)
            guard errors.isEmpty else {
                throw Failure(description: "the smallest \(tag) daemon is not valid: \(errors.joined(separator: "; "))")
            }
            return minimal
        }

        /// A table of `properties` and their nested fields, then each one's example and errors.
        mutating func fields(
            _ properties: [Property],
            under path: [String],
            unexpanded: Set<String> = []
        ) throws(Failure) {
            let entries = Self.flatten(properties, prefix: [], unexpanded: unexpanded)
            text += "| field | type | default | what it does |\n|---|---|---|---|\n"
            for entry in entries {
                let name = "`" + entry.name.joined(separator: ".") + "`"
                let defaultText = Self.defaultText(of: entry.property)
                text +=
                    "| \(name) | \(entry.property.shape.referenceType) | \(defaultText) | \(entry.property.summary) |\n"
            }
            text += "\n"
            for entry in entries {
                let fieldPath = path + entry.name
                let value = try example(of: entry.property, at: fieldPath)
                let example = yaml(Self.nest(value, under: entry.name))
                text += "**`\(entry.name.joined(separator: "."))`**, for example"
                if example.dropLast().contains("\n") {
                    text += ":\n\n```yaml\n" + example + "```\n\n"
                } else {
                    text += " `\(example.dropLast())`\n\n"
                }
                let errors = Self.wrongValues(for: entry.property.shape).flatMap {
                    Self.errors(of: $0, as: entry.property.shape, at: fieldPath).prefix(1)
                }
                var seen: Set<String> = []
                let distinct = errors.filter { seen.insert($0).inserted }
                if !distinct.isEmpty {
                    text += "Errors:\n\n" + distinct.map { "- `\($0)`\n" }.joined() + "\n"
                }
            }
        }

        /// The property's example: its own, else one made of its fields' examples (for a mapping), else its default,
        /// else one made from its shape. Checked against the shape.
        func example(of property: Property, at path: [String]) throws(Failure) -> JSONValue {
            let value: JSONValue
            if let example = property.example {
                value = example
            } else if case .dictionary(_, .tagged(let tagged)) = property.shape, let first = tagged.variants.first {
                value = .object([("NAME", .object(try minimalDaemon(first.tag, first.shape)))])
            } else if case .object(let object) = property.shape {
                var pairs: [(String, JSONValue)] = []
                for field in object.properties where object.exactlyOneOf.dropFirst().contains(field.name) == false {
                    pairs.append((field.name, try example(of: field, at: path + [field.name])))
                }
                value = .object(pairs)
            } else if let defaultValue = property.defaultValue, !defaultValue.isEmptyCollection {
                value = defaultValue
            } else {
                value = property.shape.sample
            }
            let errors = Self.errors(of: value.node, as: property.shape, at: path)
            guard errors.isEmpty else {
                let where_ = path.joined(separator: ".")
                throw Failure(description: "the example of \(where_) is not valid: \(errors.joined(separator: "; "))")
            }
            return value
        }

        func yaml(_ value: JSONValue) -> String {
            var out = ""
            YAMLWriter(origins: [:]).write(value, path: [], indent: "", to: &out)
            return out
        }

        /// `value` under the keys of `name` (`restart.backoff.initial: 2s` as three nested mappings).
        static func nest(_ value: JSONValue, under name: [String]) -> JSONValue {
            name.reversed().reduce(value) { inner, key in .object([(key, inner)]) }
        }

        /// The validator's messages for `node` as `shape` at `path`: `path: message; suggestion`.
        static func errors(of node: YAMLNode, as shape: Shape, at path: [String]) -> [String] {
            var validator = ShapeValidator()
            _ = validator.resolve(node, as: shape, path: path)
            return validator.errors.map { error in
                [error.path + ": " + error.message, error.suggestion].compactMap { $0 }.joined(separator: "; ")
            }
        }

        /// Each property and, under it, the fields of a mapping it holds (`restart.backoff.initial`), or of the
        /// mappings under free keys (`methods.NAME.command`).
        static func flatten(
            _ properties: [Property],
            prefix: [String],
            unexpanded: Set<String> = []
        ) -> [(name: [String], property: Property)] {
            properties.flatMap { property -> [(name: [String], property: Property)] in
                let name = prefix + [property.name]
                guard !unexpanded.contains(property.name) else { return [(name, property)] }
                switch property.shape {
                case .object(let object): return [(name, property)] + flatten(object.properties, prefix: name)
                case .dictionary(_, .object(let object)):
                    return [(name, property)] + flatten(object.properties, prefix: name + ["NAME"])
                default: return [(name, property)]
                }
            }
        }

        static func defaultText(of property: Property) -> String {
            if property.required { return "required" }
            guard let value = property.defaultValue else { return "none" }
            switch value {
            case .object(let pairs) where pairs.isEmpty:
                if case .object = property.shape { return "its fields' defaults" }
                return "`{}`"
            case .string(let text): return "`\(YAMLWriter.scalar(text))`"
            default: return "`\(value.serialized(pretty: false))`"
            }
        }

        /// Values `shape` refuses, one for each kind of mistake it catches; those it accepts are dropped later.
        static func wrongValues(for shape: Shape) -> [YAMLNode] {
            func plain(_ text: String) -> YAMLNode { YAMLNode(.scalar(text, .plain), origin: .builtInDefault) }
            func mapping(_ pairs: [(String, YAMLNode)]) -> YAMLNode {
                YAMLNode(
                    .mapping(pairs.map { YAMLNode.Pair(YAMLNode.Key(text: $0.0, origin: .builtInDefault), $0.1) }),
                    origin: .builtInDefault
                )
            }
            let list = YAMLNode(.sequence([]), origin: .builtInDefault)
            switch shape {
            case .scalar(.text): return [mapping([])]
            case .scalar(.nonEmptyText), .scalar(.path), .scalar(.glob):
                return [YAMLNode(.scalar("", .quoted), origin: .builtInDefault), mapping([])]
            case .scalar(.name): return [plain("bad name!")]
            case .scalar(.duration(let min, let max)):
                var values = [plain("fast"), plain("5")]
                if min > .zero { values.append(plain("0s")) }
                if let max { values.append(plain((max * 2).shortText)) }
                return values
            case .scalar(.size(let min, let max)):
                var values = [plain("big")]
                if min > 0 { values.append(plain("1")) }
                if let max { values.append(plain(String(max) + "0")) }
                return values
            case .scalar(.listen): return [plain("8420"), plain("unix:")]
            case .scalar(.cron): return [plain("every day"), plain("61 * * * *")]
            case .scalar(.signal): return [plain("SIGNOPE")]
            case .scalar(.regex): return [plain("(unclosed")]
            case .scalar(.httpURL): return [plain("https://127.0.0.1:8443/")]
            case .scalar(.webhookURL): return [plain("ftp://example.com/hook")]
            case .integer(let min, let max):
                var values = [plain("many")]
                if let min { values.append(plain(String(min - 1))) }
                if let max { values.append(plain(String(max + 1))) }
                return values
            case .boolean: return [plain("yes")]
            case .choice(let values):
                guard let first = values.first else { return [] }
                return [plain(first.count > 2 ? String(first.prefix(1) + first.dropFirst(2)) : first + "x")]
            case .list(_, let minCount): return (minCount > 0 ? [list] : []) + [mapping([])]
            case .dictionary(let key, let value):
                let item = value.accepts(plain("x")) ? plain("x") : mapping([])
                return (key.accepts("bad key!") ? [] : [mapping([("bad key!", item)])]) + [list]
            case .object(let object):
                guard let first = object.properties.first else { return [plain("x")] }
                return [mapping([(first.name + first.name.suffix(1), plain("x"))]), plain("x")]
            case .either(let shapes):
                return [plain("x"), list, mapping([])].filter { node in !shapes.contains { $0.accepts(node) } }
            case .tagged: return [plain("x")]
            }
        }
    }
}

extension JSONValue {
    fileprivate var isEmptyCollection: Bool {
        switch self {
        case .array(let items): items.isEmpty
        case .object(let pairs): pairs.isEmpty
        default: false
        }
    }
}

/// The bounds of a type in the reference's tables: ", 1ms to 24h", ", at least 1", or nothing.
private func referenceBounds(_ min: String?, _ max: String?) -> String {
    switch (min, max) {
    case (let min?, let max?): ", \(min) to \(max)"
    case (let min?, nil): ", at least \(min)"
    case (nil, let max?): ", at most \(max)"
    case (nil, nil): ""
    }
}

extension ScalarFormat {
    /// Whether `text`, quoted, is a value of this format (a mapping's key, which is always a string).
    fileprivate func accepts(_ text: String) -> Bool {
        if case .success = read(YAMLNode(.scalar(text, .quoted), origin: .builtInDefault)) { return true }
        return false
    }
}

extension Shape {
    /// The type in the reference's tables: "duration, 1ms to 1d", "list of globs", "one of `skip`, `queue`".
    var referenceType: String {
        switch self {
        case .scalar(let format): format.referenceType
        case .integer(let min, let max): "integer" + referenceBounds(min.map(String.init), max.map(String.init))
        case .boolean: "`true` or `false`"
        case .choice(let values): "one of " + values.map { "`\($0)`" }.joined(separator: ", ")
        case .list(let item, let minCount):
            "list of \(item.referencePlural)" + (minCount > 0 ? ", at least \(minCount)" : "")
        case .dictionary(let key, let value): "mapping of \(key.referenceType) to \(value.referenceType)"
        case .object: "mapping (fields below)"
        case .either(let shapes): shapes.map(\.referenceType).joined(separator: ", or ")
        case .tagged: "daemon"
        }
    }

    /// The type of a list's items: "strings", "globs", "daemon names".
    private var referencePlural: String {
        switch self {
        case .scalar(.text), .scalar(.nonEmptyText): "strings"
        case .scalar(.path), .scalar(.glob), .scalar(.name): referenceType + "s"
        default: "items: " + referenceType
        }
    }

    /// A value of the shape, for a field that has neither an example nor a default.
    var sample: JSONValue {
        switch self {
        case .scalar(let format): .string(format.sample)
        case .integer(let min, let max): .int(Swift.min(Swift.max(min ?? 1, 1), max ?? Int.max))
        case .boolean: .bool(true)
        case .choice(let values): .string(values.last ?? "")
        case .list(let item, _): .array([item.sample])
        case .dictionary(let key, let value): .object([(key.sample, value.sample)])
        case .object(let object): .object(object.properties.filter(\.required).map { ($0.name, $0.shape.sample) })
        case .either(let shapes): shapes.first?.sample ?? .null
        case .tagged: .object([])
        }
    }
}

extension ScalarFormat {
    fileprivate var referenceType: String {
        switch self {
        case .text: "string"
        case .nonEmptyText: "non-empty string"
        case .name: Self.nameTypes[self] ?? "name"
        case .duration(let min, let max):
            "duration" + referenceBounds(min > .zero ? min.shortText : nil, max?.shortText)
        case .size(let min, let max):
            "size" + referenceBounds(min > 0 ? Self.sizeText(min) : nil, max.map(Self.sizeText))
        case .listen(let allowUnix): allowUnix ? "`HOST:PORT` or `unix:PATH`" : "`HOST:PORT`"
        case .cron: "cron expression"
        case .glob: "glob"
        case .signal: "signal name"
        case .regex: "regular expression"
        case .httpURL: "`http://` URL"
        case .webhookURL: "`http://` or `https://` URL"
        case .path: "path"
        }
    }

    /// The formats of names, by what they name; the reference says what each allows.
    private static let nameTypes: [ScalarFormat: String] = [
        .daemonName: "daemon name", .environmentName: "variable name", .methodName: "method name",
    ]

    fileprivate var sample: String {
        switch self {
        case .text, .nonEmptyText: "value"
        case .name: "name"
        case .duration(let min, _): Swift.max(min, .seconds(30)).shortText
        case .size(let min, _): Self.sizeText(Swift.max(min, 1 << 20))
        case .listen: "127.0.0.1:8080"
        case .cron: "*/5 * * * *"
        case .glob: "**/*.py"
        case .signal: "SIGTERM"
        case .regex: "ready"
        case .httpURL: "http://127.0.0.1:8080/"
        case .webhookURL: "https://ntfy.sh/my-alerts"
        case .path: "data"
        }
    }

    /// 1024 → 1KiB, 1099511627776 → 1TiB: the largest binary unit that divides it.
    private static func sizeText(_ bytes: Int) -> String {
        for (unit, size) in [("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
        where bytes >= size && bytes % size == 0 {
            return "\(bytes / size)\(unit)"
        }
        return "\(bytes)"
    }
}
