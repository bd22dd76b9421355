import Dispatch
import Synchronization

/// Checks a node tree against a ``Shape``, collecting every problem, and fills in defaults.
///
/// The result is the resolved tree: the same nodes, with absent keys that have defaults added
/// (origin ``ValueOrigin/builtInDefault``) and null optional values removed.
struct ShapeValidator {
    /// Every problem found so far.
    var errors: [ManifestError] = []
    /// The path of the node being checked, kept as a stack: building a new array for every node of a
    /// large manifest would cost more than checking it.
    private var trail: [String] = []

    /// Validates `node` as `shape` at `path`, returning the resolved node.
    mutating func resolve(_ node: YAMLNode, as shape: Shape, path: [String]) -> YAMLNode {
        let saved = trail
        trail = path
        defer { trail = saved }
        return walk(node, as: shape)
    }

    private mutating func descend<T>(_ segment: String, _ body: (inout ShapeValidator) -> T) -> T {
        trail.append(segment)
        defer { trail.removeLast() }
        return body(&self)
    }

    private mutating func walk(_ node: YAMLNode, as shape: Shape) -> YAMLNode {
        switch shape {
        case .scalar(let format):
            if let failure = format.failure(node) {
                fail(
                    .invalidValue,
                    node.origin,
                    trail,
                    failure.message,
                    Suggestion.didYouMean(failure.given, among: failure.candidates)
                )
            }
            return node
        case .integer(let min, let max):
            guard case .scalar(let text, .plain) = node.content, let value = CoreSchema.integer(text) else {
                fail(.invalidValue, node.origin, trail, "expected \(shape.expectation), found \(node.found)")
                return node
            }
            if let min, value < min {
                fail(.invalidValue, node.origin, trail, "expected \(shape.expectation), found \(value)")
            } else if let max, value > max {
                fail(.invalidValue, node.origin, trail, "expected \(shape.expectation), found \(value)")
            }
            return node
        case .boolean:
            guard case .scalar(let text, .plain) = node.content, CoreSchema.boolean(text) != nil else {
                let hint =
                    ["yes", "no", "on", "off", "y", "n"].contains(node.scalarText?.lowercased() ?? "")
                    ? "write true or false (YAML 1.2 reads '\(node.scalarText ?? "")' as a string)" : nil
                fail(.invalidValue, node.origin, trail, "expected true or false, found \(node.found)", hint)
                return node
            }
            return node
        case .choice(let values):
            guard let text = node.scalarText, !node.isNull, values.contains(text) else {
                let given = node.scalarText ?? ""
                fail(
                    .invalidValue,
                    node.origin,
                    trail,
                    "expected \(shape.expectation), found \(node.found)",
                    Suggestion.didYouMean(given, among: values)
                )
                return node
            }
            return node
        case .list(let item, let minCount):
            guard let items = node.items else {
                fail(.invalidValue, node.origin, trail, "expected \(shape.expectation), found \(node.found)")
                return node
            }
            if items.count < minCount {
                fail(.invalidValue, node.origin, trail, "expected at least \(minCount) item(s), found an empty list")
            }
            // Items that resolve to themselves (scalars) are only checked: the list stays as it is.
            guard !item.resolvesToItself else {
                for index in items.indices { _ = descend(Self.segment(index)) { $0.walk(items[index], as: item) } }
                return node
            }
            var resolved: [YAMLNode] = []
            resolved.reserveCapacity(items.count)
            for index in items.indices {
                resolved.append(descend(Self.segment(index)) { $0.walk(items[index], as: item) })
            }
            return YAMLNode(.sequence(resolved), origin: node.origin)
        case .dictionary(let keyFormat, let value):
            guard let pairs = node.pairs else {
                fail(.invalidValue, node.origin, trail, "expected a mapping, found \(node.found)")
                return node
            }
            // Values that resolve to themselves (env's strings) are only checked: the mapping stays as it is.
            let keepsNode = value.resolvesToItself
            if !keepsNode, pairs.count >= Self.splitThreshold {
                return YAMLNode(.mapping(walkInHalves(pairs, keys: keyFormat, as: value)), origin: node.origin)
            }
            var resolved: [YAMLNode.Pair] = []
            if !keepsNode { resolved.reserveCapacity(pairs.count) }
            for index in pairs.indices {
                walkEntry(pairs[index], keys: keyFormat, as: value, collecting: !keepsNode, into: &resolved)
            }
            return keepsNode ? node : YAMLNode(.mapping(resolved), origin: node.origin)
        case .object(let object):
            return walk(node, as: object, siblings: nil)
        case .either(let shapes):
            guard let chosen = shapes.first(where: { $0.accepts(node) }) else {
                fail(.invalidValue, node.origin, trail, "expected \(shape.expectation), found \(node.found)")
                return node
            }
            return walk(node, as: chosen)
        case .tagged(let tagged):
            guard node.pairs != nil else {
                fail(
                    .invalidValue,
                    node.origin,
                    trail,
                    "expected a mapping with a '\(tagged.key)', found \(node.found)"
                )
                return node
            }
            guard let tagNode = node[tagged.key], !tagNode.isNull else {
                let tags = tagged.variants.map(\.tag)
                fail(
                    .missingKey,
                    node.origin,
                    trail,
                    "missing key '\(tagged.key)' (one of \(tags.map { "'\($0)'" }.joined(separator: ", ")))"
                )
                return node
            }
            guard let tag = tagNode.scalarText, let variant = tagged.variant(tag) else {
                let tags = tagged.variants.map(\.tag)
                fail(
                    .invalidValue,
                    tagNode.origin,
                    trail + [tagged.key],
                    "expected one of \(tags.map { "'\($0)'" }.joined(separator: ", ")), found \(tagNode.found)",
                    Suggestion.didYouMean(tagNode.scalarText ?? "", among: tags)
                )
                return node
            }
            return walk(node, as: variant, siblings: tagged)
        }
    }

    /// Checks one entry of a mapping whose keys have the format `keys` and whose values have the shape `value`;
    /// appends the resolved entry to `resolved` when `collecting`.
    private mutating func walkEntry(
        _ pair: YAMLNode.Pair,
        keys: ScalarFormat,
        as value: Shape,
        collecting: Bool,
        into resolved: inout [YAMLNode.Pair]
    ) {
        let key = pair.key
        if let failure = keys.failure(YAMLNode(.scalar(key.text, .quoted), origin: key.origin)) {
            fail(.invalidValue, key.origin, Self.dotted(trail + [key.text]), "invalid key: " + failure.message)
        }
        // A null value in a mapping of strings (env) is kept: it means "take it from the environment".
        if case .scalar = value, pair.value.isNull {
            if collecting { resolved.append(pair) }
            return
        }
        let child = descend(key.text) { $0.walk(pair.value, as: value) }
        if collecting { resolved.append(YAMLNode.Pair(key, child)) }
    }

    /// Mappings with at least this many entries (the daemons of a large manifest) are checked in two halves at once.
    static let splitThreshold = 256

    /// The entries of a large mapping, checked in two halves on two threads, each by a validator of its own; their
    /// errors join this one's in the order of the file. A thousand daemons take half as long on two cores.
    private mutating func walkInHalves(_ pairs: [YAMLNode.Pair], keys: ScalarFormat, as value: Shape) -> [YAMLNode.Pair]
    {
        let middle = pairs.count / 2
        let ranges = [0..<middle, middle..<pairs.count]
        let halves = Mutex<[(pairs: [YAMLNode.Pair], errors: [ManifestError])]>(Array(repeating: ([], []), count: 2))
        let trail = self.trail
        DispatchQueue.concurrentPerform(iterations: ranges.count) { half in
            var validator = ShapeValidator()
            validator.trail = trail
            var resolved: [YAMLNode.Pair] = []
            resolved.reserveCapacity(ranges[half].count)
            for index in ranges[half] {
                validator.walkEntry(pairs[index], keys: keys, as: value, collecting: true, into: &resolved)
            }
            halves.withLock { $0[half] = (resolved, validator.errors) }
        }
        return halves.withLock { halves in
            errors += halves.flatMap(\.errors)
            return halves.flatMap(\.pairs)
        }
    }

    private mutating func walk(_ node: YAMLNode, as object: ObjectShape, siblings: TaggedShape?) -> YAMLNode {
        guard case .mapping(let pairs) = node.content else {
            fail(.invalidValue, node.origin, trail, "expected a mapping (\(object.title)), found \(node.found)")
            return node
        }
        let properties = object.properties
        // Slots in the model's order, so that `config` prints every daemon the same way; a filled slot
        // also says the key is present. They are on the stack: an object is walked for every daemon.
        let resolved = withUnsafeTemporaryAllocation(of: YAMLNode.Pair?.self, capacity: properties.count) { slots in
            slots.initialize(repeating: nil)
            defer { slots.deinitialize() }
            var misspelt: Set<String> = []
            for index in pairs.indices {
                let key = pairs[index].key
                guard let position = object.positions[key.text] else {
                    if object.allowsExtensions, key.text.hasPrefix("x-") { continue }
                    if let meant = unknownKey(key, in: object, siblings: siblings) { misspelt.insert(meant) }
                    continue
                }
                // An explicit null means "not set": the default applies, as if the key were absent.
                if pairs[index].value.isNull, !properties[position].required { continue }
                trail.append(properties[position].name)
                slots[position] = YAMLNode.Pair(key, walk(pairs[index].value, as: properties[position].shape))
                trail.removeLast()
            }
            var resolved: [YAMLNode.Pair] = []
            resolved.reserveCapacity(properties.count)
            for position in properties.indices {
                if let pair = slots[position].take() {
                    resolved.append(pair)
                } else if properties[position].required {
                    let name = properties[position].name
                    fail(.missingKey, node.origin, trail, "missing key '\(name)' (\(object.title) needs it)")
                } else if let defaultNode = properties[position].defaultNode {
                    let key = YAMLNode.Key(text: properties[position].name, origin: .builtInDefault)
                    resolved.append(YAMLNode.Pair(key, defaultNode))
                }
            }
            if !object.exactlyOneOf.isEmpty { checkExactlyOne(of: object, in: resolved, misspelt: misspelt, at: node) }
            return resolved
        }
        return YAMLNode(.mapping(resolved), origin: node.origin)
    }

    /// Reports an object that has none, or more than one, of its ``ObjectShape/exactlyOneOf`` keys.
    private mutating func checkExactlyOne(
        of object: ObjectShape,
        in resolved: [YAMLNode.Pair],
        misspelt: Set<String>,
        at node: YAMLNode
    ) {
        let present = object.exactlyOneOf.filter { name in resolved.contains { $0.key.text == name } }
        // `intervall: 5s` already says "did you mean 'interval'?"; "needs 'interval' or 'cron'" would repeat it.
        if present.isEmpty, misspelt.isDisjoint(with: object.exactlyOneOf) {
            let names = object.exactlyOneOf.map { "'\($0)'" }
            let list = names.dropLast().joined(separator: ", ") + " or " + names.last!
            fail(.missingKey, node.origin, trail, "\(object.title) needs one of \(list)")
        } else if present.count > 1 {
            let origin = resolved.first { $0.key.text == present[1] }?.key.origin ?? node.origin
            fail(
                .invalidValue,
                origin,
                trail,
                "\(present.map { "'\($0)'" }.joined(separator: " and ")) cannot be used together; keep one"
            )
        }
    }

    /// Reports an unknown key; returns the property it was probably meant to be.
    private mutating func unknownKey(_ key: YAMLNode.Key, in object: ObjectShape, siblings: TaggedShape?) -> String? {
        let meant = Suggestion.closest(to: key.text, among: object.properties.map(\.name))
        var suggestion = meant.map { "did you mean '\($0)'?" }
        if suggestion == nil, let siblings {
            let owners = siblings.variants.filter { $0.shape.property(key.text) != nil }.map(\.tag)
            if !owners.isEmpty {
                suggestion = "'\(key.text)' belongs to \(owners.joined(separator: " and ")) daemons"
            }
        }
        fail(.unknownKey, key.origin, trail, "unknown key '\(key.text)' in \(object.title)", suggestion)
        return meant
    }

    mutating func fail(
        _ code: ManifestError.Code,
        _ origin: ValueOrigin,
        _ path: [String],
        _ message: String,
        _ suggestion: String? = nil
    ) {
        fail(code, origin, Self.dotted(path), message, suggestion)
    }

    mutating func fail(
        _ code: ManifestError.Code,
        _ origin: ValueOrigin,
        _ path: String,
        _ message: String,
        _ suggestion: String? = nil
    ) {
        errors.append(ManifestError(code: code, origin: origin, path: path, message: message, suggestion: suggestion))
    }
}

extension ShapeValidator {
    /// The path segments of the first list positions, made once: a manifest has thousands of list items, and
    /// interpolating `[0]` for each costs more than checking the item.
    private static let indexSegments = (0..<32).map { "[\($0)]" }

    /// The path segment of list position `index`: `[3]`.
    static func segment(_ index: Int) -> String {
        index < indexSegments.count ? indexSegments[index] : "[\(index)]"
    }

    /// `daemons.web.patterns[0]`: keys joined by dots, list indexes in brackets.
    static func dotted(_ path: [String]) -> String {
        path.reduce(into: "") { text, segment in
            if !text.isEmpty, !segment.hasPrefix("[") { text += "." }
            text += segment
        }
    }
}

extension Shape {
    /// Whether the validator returns a node of this shape as it is (no defaults to fill in, nothing to drop), so
    /// that a list or mapping of such values need not be rebuilt.
    var resolvesToItself: Bool {
        switch self {
        case .scalar, .integer, .boolean, .choice: true
        case .list(let item, _): item.resolvesToItself
        case .dictionary(_, let value): value.resolvesToItself
        case .either(let shapes): shapes.allSatisfy(\.resolvesToItself)
        case .object, .tagged: false
        }
    }

    /// Whether `node`'s type (scalar, list or mapping) fits this shape, to choose among ``Shape/either(_:)``.
    func accepts(_ node: YAMLNode) -> Bool {
        switch (self, node.content) {
        case (.scalar, .scalar), (.integer, .scalar), (.boolean, .scalar), (.choice, .scalar): true
        case (.list, .sequence): true
        case (.dictionary, .mapping), (.object, .mapping), (.tagged, .mapping): true
        case (.either(let shapes), _): shapes.contains { $0.accepts(node) }
        default: false
        }
    }

}

extension JSONValue {
    /// The value as a node of a manifest, for defaults.
    var node: YAMLNode {
        switch self {
        case .null: YAMLNode(.scalar("null", .plain), origin: .builtInDefault)
        case .bool(let value): YAMLNode(.scalar(value ? "true" : "false", .plain), origin: .builtInDefault)
        case .int(let value): YAMLNode(.scalar(String(value), .plain), origin: .builtInDefault)
        case .double(let value): YAMLNode(.scalar(String(value), .plain), origin: .builtInDefault)
        case .string(let value): YAMLNode(.scalar(value, .quoted), origin: .builtInDefault)
        case .array(let items): YAMLNode(.sequence(items.map(\.node)), origin: .builtInDefault)
        case .object(let pairs):
            YAMLNode(
                .mapping(pairs.map { YAMLNode.Pair(YAMLNode.Key(text: $0.0, origin: .builtInDefault), $0.1.node) }),
                origin: .builtInDefault
            )
        }
    }
}
