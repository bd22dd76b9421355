import DaemonKit
import FoundationEssentials

/// One value set from outside the file: an `ORCHESTRATE__A__B=value` variable or a `--set a.b=value`.
public struct Override: Hashable, Sendable {
    /// The prefix of override variables.
    public static let environmentPrefix = "ORCHESTRATE__"

    /// Where the override came from, for errors and `config`.
    public var origin: ValueOrigin
    /// The path, one segment per key (`--set` segments may still hold dots that belong to a name).
    public var segments: [String]
    /// The value, read as a YAML scalar or flow collection.
    public var value: String

    /// Makes an override.
    public init(origin: ValueOrigin, segments: [String], value: String) {
        self.origin = origin
        self.segments = segments
        self.value = value
    }

    /// Every `ORCHESTRATE__…` variable of `environment`, sorted by name so the result is reproducible.
    public static func fromEnvironment(_ environment: [String: String]) -> [Override] {
        environment.keys.filter { $0.hasPrefix(environmentPrefix) }.sorted().map { name in
            Override(
                origin: .environment(variable: name),
                segments: name.dropFirst(environmentPrefix.count).components(separatedBy: "__"),
                value: environment[name]!
            )
        }
    }

    /// Whether this override sets the manifest's `state_dir`, which decides which supervisor a command talks to (each
    /// state folder has its own: `up --only` units run one per daemon).
    public var setsStateDirectory: Bool { segments.map(Suggestion.normalize) == ["state_dir"] }

    /// Reads `--set path=value` arguments; a malformed one is an error.
    public static func fromArguments(_ arguments: [String]) -> (overrides: [Override], errors: [ManifestError]) {
        var overrides: [Override] = []
        var errors: [ManifestError] = []
        for argument in arguments {
            guard let equals = argument.firstIndex(of: "="), equals != argument.startIndex else {
                errors.append(
                    ManifestError(
                        code: .override,
                        origin: .commandLine(argument: argument),
                        path: "",
                        message: "expected --set PATH=VALUE, such as --set daemons.web.enabled=false"
                    )
                )
                continue
            }
            let path = argument[..<equals]
            overrides.append(
                Override(
                    origin: .commandLine(argument: argument),
                    segments: path.split(separator: ".", omittingEmptySubsequences: false).map(String.init),
                    value: String(argument[argument.index(after: equals)...])
                )
            )
        }
        return (overrides, errors)
    }
}

/// Applies overrides to a manifest's node tree, guided by the manifest's shape.
///
/// Segments match keys case-insensitively with `-`, `_` and `.` equal. Existing daemons and methods are
/// found by name; a new entry can be made only in a mapping of plain values (`env`). An override that
/// names nothing is an error with a suggestion, never ignored.
struct OverrideApplier {
    /// The manifest's shape, which the overrides' paths follow.
    let shape: ObjectShape
    private(set) var errors: [ManifestError] = []

    mutating func apply(_ overrides: [Override], to root: inout YAMLNode) {
        for override in overrides {
            guard !override.segments.contains(where: \.isEmpty) else {
                fail(override, [], "the path has an empty segment")
                continue
            }
            guard let value = parseValue(override) else { continue }
            apply(
                override,
                value: value,
                to: &root,
                as: .object(shape),
                at: override.segments[...],
                path: []
            )
        }
    }

    private mutating func parseValue(_ override: Override) -> YAMLNode? {
        if override.value.trimmingWhitespace().isEmpty {
            return YAMLNode(.scalar("", .quoted), origin: override.origin)
        }
        let (node, errors) = YAMLParser(fileLabel: override.origin.label).parse(Array(override.value.utf8))
        if let error = errors.first {
            // `*.py` or `@daily` are not valid YAML scalars, but plainly meant as text; a broken flow
            // collection is a mistake worth reporting.
            let trimmed = override.value.trimmingWhitespace()
            if !trimmed.hasPrefix("["), !trimmed.hasPrefix("{") {
                return YAMLNode(.scalar(override.value, .quoted), origin: override.origin)
            }
            fail(override, [], "the value is not a YAML scalar or flow collection: \(error.message)")
            return nil
        }
        return node.map { Self.relabel($0, origin: override.origin) }
            ?? YAMLNode(.scalar("", .quoted), origin: override.origin)
    }

    private static func relabel(_ node: YAMLNode, origin: ValueOrigin) -> YAMLNode {
        switch node.content {
        case .scalar: return YAMLNode(node.content, origin: origin)
        case .sequence(let items): return YAMLNode(.sequence(items.map { relabel($0, origin: origin) }), origin: origin)
        case .mapping(let pairs):
            return YAMLNode(
                .mapping(
                    pairs.map {
                        YAMLNode.Pair(
                            YAMLNode.Key(text: $0.key.text, origin: origin),
                            relabel($0.value, origin: origin)
                        )
                    }
                ),
                origin: origin
            )
        }
    }

    private mutating func apply(
        _ override: Override,
        value: YAMLNode,
        to node: inout YAMLNode,
        as shape: Shape,
        at segments: ArraySlice<String>,
        path: [String]
    ) {
        guard let segment = segments.first else {
            node = value
            return
        }
        let rest = segments.dropFirst()
        switch shape {
        case .object(let object):
            applyToObject(override, value: value, to: &node, object: object, segment: segment, rest: rest, path: path)
        case .tagged(let tagged):
            guard let kind = node[tagged.key]?.scalarText, let variant = tagged.variant(kind) else {
                fail(override, path, "the daemon has no valid 'kind', so its fields cannot be overridden")
                return
            }
            guard variant.property(matching: segment) != nil else {
                let owners = tagged.variants.filter { $0.shape.property(matching: segment) != nil }.map(\.tag)
                let suggestion =
                    owners.isEmpty
                    ? Suggestion.didYouMean(segment, among: variant.properties.map(\.name))
                    : "'\(segment.lowercased())' belongs to \(owners.joined(separator: " and ")) daemons"
                fail(override, path, "no field '\(segment.lowercased())' in \(variant.title)", suggestion)
                return
            }
            applyToObject(override, value: value, to: &node, object: variant, segment: segment, rest: rest, path: path)
        case .dictionary(_, let valueShape):
            guard var pairs = node.pairs else {
                fail(override, path, "'\(path.joined(separator: "."))' is not a mapping in the manifest")
                return
            }
            // A name may itself hold dots (`skills.list`): try the longest run of segments first.
            for count in stride(from: segments.count, through: 1, by: -1) {
                let name = Suggestion.normalize(segments.prefix(count).joined(separator: "."))
                guard let index = pairs.firstIndex(where: { Suggestion.normalize($0.key.text) == name }) else {
                    continue
                }
                // The node lets go of its entries while one changes, so that they are changed in place, not copied.
                node.content = .mapping([])
                apply(
                    override,
                    value: value,
                    to: &pairs[index].value,
                    as: valueShape,
                    at: segments.dropFirst(count),
                    path: path + [pairs[index].key.text]
                )
                node = YAMLNode(.mapping(pairs), origin: node.origin)
                return
            }
            if case .scalar = valueShape, rest.isEmpty {
                pairs.append(YAMLNode.Pair(YAMLNode.Key(text: segment, origin: override.origin), value))
                node = YAMLNode(.mapping(pairs), origin: node.origin)
                return
            }
            let noun = path == ["daemons"] ? "daemon" : "entry"
            fail(
                override,
                path,
                "no \(noun) named '\(segment)' in '\(path.joined(separator: "."))'",
                Suggestion.didYouMean(segment, among: pairs.map(\.key.text))
            )
        case .either(let shapes):
            if let chosen = shapes.first(where: { $0.accepts(node) }), case .dictionary = chosen {
                apply(override, value: value, to: &node, as: chosen, at: segments, path: path)
            } else {
                fail(override, path, "'\(path.joined(separator: "."))' is set as a whole; give its whole value")
            }
        case .list:
            fail(override, path, "'\(path.joined(separator: "."))' is a list; set the whole list, such as '[a, b]'")
        case .scalar, .integer, .boolean, .choice:
            fail(
                override,
                path,
                "'\(path.joined(separator: "."))' has no fields; remove '\(segments.joined(separator: "__"))'"
            )
        }
    }

    private mutating func applyToObject(
        _ override: Override,
        value: YAMLNode,
        to node: inout YAMLNode,
        object: ObjectShape,
        segment: String,
        rest: ArraySlice<String>,
        path: [String]
    ) {
        guard let property = object.property(matching: segment) else {
            fail(
                override,
                path,
                "no field '\(segment.lowercased())' in \(object.title)",
                Suggestion.didYouMean(segment, among: object.properties.map(\.name))
            )
            return
        }
        if node.pairs == nil {
            guard node.isNull else {
                fail(override, path, "'\(path.joined(separator: "."))' is not a mapping in the manifest")
                return
            }
            node = YAMLNode(.mapping([]), origin: override.origin)
        }
        var child = node[property.name] ?? YAMLNode(.mapping([]), origin: override.origin)
        // The node lets go of the child while it changes, so that a large child (the daemons) is not copied.
        node.set(property.name, to: YAMLNode(.mapping([]), origin: override.origin), keyOrigin: override.origin)
        apply(override, value: value, to: &child, as: property.shape, at: rest, path: path + [property.name])
        node.set(property.name, to: child, keyOrigin: override.origin)
    }

    private mutating func fail(_ override: Override, _ path: [String], _ message: String, _ suggestion: String? = nil) {
        errors.append(
            ManifestError(
                code: .override,
                origin: override.origin,
                path: path.joined(separator: "."),
                message: message,
                suggestion: suggestion
            )
        )
    }
}

extension ObjectShape {
    /// The property a path segment names: case-insensitive, with `-`, `_` and `.` equal.
    func property(matching segment: String) -> Property? {
        let wanted = Suggestion.normalize(segment)
        return properties.first { Suggestion.normalize($0.name) == wanted }
    }
}
