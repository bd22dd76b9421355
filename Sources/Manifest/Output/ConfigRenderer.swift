/// Writes a resolved manifest back out, as `orchestrate config` shows it: JSON, or YAML whose values
/// set from outside the file carry a comment naming where they came from.
public struct ConfigRenderer {
    /// One value that did not come from the manifest file.
    public struct Provenance: Hashable, Sendable {
        /// The field's dotted path.
        public var path: String
        /// Where it came from.
        public var origin: ValueOrigin
    }

    /// The resolved tree with every value in canonical form (durations like `30s`, signals like `SIGTERM`).
    public let json: JSONValue
    /// The values set by `ORCHESTRATE__…` variables or `--set`, with the path of each.
    public let provenance: [Provenance]

    /// Renders `loaded`'s resolved tree.
    public init(_ loaded: LoadedManifest) {
        var provenance: [Provenance] = []
        var root = loaded.resolved
        // `defaults` is already merged under every daemon; printing it again would only repeat it.
        root.remove("defaults")
        json = Self.render(
            root,
            as: .object(loaded.manifest.kinds.shapes.root),
            path: [],
            provenance: &provenance
        )
        self.provenance = provenance
    }

    /// The JSON document.
    public func renderJSON() -> String { json.serialized(pretty: true) + "\n" }

    /// The YAML document, with `# from …` comments on overridden values.
    public func renderYAML() -> String {
        let origins = Dictionary(provenance.map { ($0.path, $0.origin.label) }, uniquingKeysWith: { _, last in last })
        var out = ""
        YAMLWriter(origins: origins).write(json, path: [], indent: "", to: &out)
        return out
    }

    private static func render(
        _ node: YAMLNode,
        as shape: Shape,
        path: [String],
        provenance: inout [Provenance]
    ) -> JSONValue {
        switch node.origin {
        case .environment, .commandLine:
            provenance.append(Provenance(path: path.joined(separator: "."), origin: node.origin))
        default: break
        }
        switch shape {
        case .scalar(let format):
            if node.isNull { return .null }
            if case .success(let value) = format.read(node) { return value }
            return .string(node.scalarText ?? "")
        case .integer: return node.scalarText.flatMap(CoreSchema.integer).map(JSONValue.int) ?? .null
        case .boolean: return node.scalarText.flatMap(CoreSchema.boolean).map(JSONValue.bool) ?? .null
        case .choice: return node.scalarText.map { Int($0).map(JSONValue.int) ?? .string($0) } ?? .null
        case .list(let item, _):
            return .array(
                (node.items ?? []).enumerated().map { index, child in
                    render(child, as: item, path: path + ["\(index)"], provenance: &provenance)
                }
            )
        case .dictionary(_, let value):
            return .object(
                (node.pairs ?? []).map { pair in
                    (
                        pair.key.text,
                        render(pair.value, as: value, path: path + [pair.key.text], provenance: &provenance)
                    )
                }
            )
        case .object(let object):
            return renderObject(node, object, path: path, provenance: &provenance)
        case .either(let shapes):
            guard let chosen = shapes.first(where: { $0.accepts(node) }) else { return .null }
            return render(node, as: chosen, path: path, provenance: &provenance)
        case .tagged(let tagged):
            guard let tag = node[tagged.key]?.scalarText, let variant = tagged.variant(tag) else { return .null }
            return renderObject(node, variant, path: path, provenance: &provenance)
        }
    }

    private static func renderObject(
        _ node: YAMLNode,
        _ object: ObjectShape,
        path: [String],
        provenance: inout [Provenance]
    ) -> JSONValue {
        .object(
            (node.pairs ?? []).compactMap { pair in
                guard let property = object.property(pair.key.text) else { return nil }
                return (
                    pair.key.text,
                    render(pair.value, as: property.shape, path: path + [pair.key.text], provenance: &provenance)
                )
            }
        )
    }
}

/// Block-style YAML for a JSON value, quoting every string YAML could read as something else.
struct YAMLWriter {
    let origins: [String: String]

    func write(_ value: JSONValue, path: [String], indent: String, to out: inout String) {
        guard case .object(let pairs) = value else { return }
        for (key, child) in pairs {
            writeEntry(prefix: indent + Self.scalar(key) + ":", child, path: path + [key], indent: indent, to: &out)
        }
    }

    private func writeEntry(prefix: String, _ value: JSONValue, path: [String], indent: String, to out: inout String) {
        let comment = origins[path.joined(separator: ".")].map { "  # from \($0)" } ?? ""
        switch value {
        case .object(let pairs) where !pairs.isEmpty:
            out += prefix + comment + "\n"
            write(value, path: path, indent: indent + "  ", to: &out)
        case .array(let items) where !items.isEmpty && items.allSatisfy({ !$0.isCollection }):
            out +=
                prefix + " [" + items.map { Self.inline($0, flow: true) }.joined(separator: ", ") + "]" + comment + "\n"
        case .array(let items) where !items.isEmpty:
            out += prefix + comment + "\n"
            for (index, item) in items.enumerated() {
                writeEntry(prefix: indent + "  -", item, path: path + ["\(index)"], indent: indent + "  ", to: &out)
            }
        default:
            out += prefix + " " + Self.inline(value) + comment + "\n"
        }
    }

    private static func inline(_ value: JSONValue, flow: Bool = false) -> String {
        switch value {
        case .null: "null"
        case .bool(let flag): flag ? "true" : "false"
        case .int(let number): String(number)
        case .double(let number): String(number)
        case .string(let text): scalar(text, flow: flow)
        case .array: "[]"
        case .object: "{}"
        }
    }

    /// The string plain when YAML would read it back as the same string, else double-quoted.
    static func scalar(_ text: String, flow: Bool = false) -> String {
        let needsQuotes =
            text.isEmpty || CoreSchema.type(ofPlain: text) != .string
            || ["yes", "no", "on", "off", "y", "n"].contains(text.lowercased())
            || text.first.map { "-?:,[]{}#&*!|>'\"%@` ".contains($0) } == true
            || text.last == " " || text.last == ":" || text.contains(": ") || text.contains(" #")
            || text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
            || (flow && text.contains { ",[]{}".contains($0) })
        return needsQuotes ? JSONValue.string(text).serialized(pretty: false) : text
    }
}

extension JSONValue {
    fileprivate var isCollection: Bool {
        switch self {
        case .array, .object: true
        default: false
        }
    }
}
