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
        // A daemon from a fragment (`include`) is marked with where it was written.
        for pair in loaded.resolved["daemons"]?.pairs ?? [] {
            guard case .file(let path, _, _) = pair.key.origin, case .file(let main, _, _) = loaded.resolved.origin,
                path != main
            else { continue }
            provenance.append(Provenance(path: "daemons." + pair.key.text, origin: pair.key.origin))
        }
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
