/// The shape of a value in the manifest: the one description of the model that the validator, the JSON
/// Schema generator, the override resolver and `config` all read, so that they cannot disagree.
indirect enum Shape: Sendable {
    /// A scalar in a format.
    case scalar(ScalarFormat)
    /// An integer within bounds.
    case integer(min: Int?, max: Int?)
    /// `true` or `false`.
    case boolean
    /// One of a fixed set of strings (or integers, such as `version: 1`).
    case choice([String])
    /// A list of items; `minCount` items at least.
    case list(Shape, minCount: Int)
    /// A mapping with free keys in a format (daemon names, variable names) and values of one shape.
    case dictionary(key: ScalarFormat, value: Shape)
    /// A mapping with fixed keys.
    case object(ObjectShape)
    /// One of several shapes, told apart by the node's type (scalar, list or mapping).
    case either([Shape])
    /// A mapping whose `kind` key picks one of several object shapes.
    case tagged(TaggedShape)
}

/// A mapping with fixed, documented keys.
final class ObjectShape: Sendable {
    /// What the object is, in a few words (for messages: "a watcher daemon").
    let title: String
    /// Its keys, in the order `config` prints them.
    let properties: [Property]
    /// Whether `x-…` keys are allowed (and ignored), as docker compose allows extension fields.
    let allowsExtensions: Bool
    /// Exactly one of these keys must be present, when not empty (`interval` or `cron`).
    let exactlyOneOf: [String]
    /// The position of each property, so lookups do not scan the list (a manifest has thousands of keys).
    let positions: [String: Int]

    init(title: String, properties: [Property], allowsExtensions: Bool = false, exactlyOneOf: [String] = []) {
        self.title = title
        self.properties = properties
        self.allowsExtensions = allowsExtensions
        self.exactlyOneOf = exactlyOneOf
        positions = Dictionary(properties.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The property named `name`.
    func property(_ name: String) -> Property? { positions[name].map { properties[$0] } }
}

/// One key of an object.
struct Property: Sendable {
    /// The key.
    var name: String
    /// Its value's shape.
    var shape: Shape
    /// What it is for, for the JSON Schema's `description`.
    var summary: String
    /// The value used when the key is absent, as the manifest would write it.
    var defaultValue: JSONValue? = nil
    /// Whether the key must be present.
    var required = false
    /// The default as a resolved node (nested defaults filled in), made once: every daemon uses it.
    let defaultNode: YAMLNode?

    init(
        _ name: String,
        _ shape: Shape,
        _ summary: String,
        default defaultValue: JSONValue? = nil,
        required: Bool = false
    ) {
        self.name = name
        self.shape = shape
        self.summary = summary
        self.defaultValue = defaultValue
        self.required = required
        var validator = ShapeValidator()
        defaultNode = defaultValue.map { validator.resolve($0.node, as: shape, path: [name]) }
    }
}

/// Object shapes chosen by the value of a discriminating key.
struct TaggedShape: Sendable {
    /// The discriminating key, `kind`.
    var key: String
    /// The shape for each value of the key, in order.
    var variants: [(tag: String, shape: ObjectShape)]

    /// The shape for `tag`.
    func variant(_ tag: String) -> ObjectShape? { variants.first { $0.tag == tag }?.shape }
}

extension Shape {
    /// The object shape behind this shape, for the override resolver.
    var objectShape: ObjectShape? {
        if case .object(let shape) = self { return shape }
        return nil
    }

    /// A short description of the type, for "expected …, found …".
    var expectation: String {
        switch self {
        case .scalar(let format): format.expectation
        case .integer(let min, let max):
            switch (min, max) {
            case (let min?, let max?): "an integer from \(min) to \(max)"
            case (let min?, nil): "an integer of at least \(min)"
            case (nil, let max?): "an integer of at most \(max)"
            case (nil, nil): "an integer"
            }
        case .boolean: "true or false"
        case .choice(let values): "one of " + values.map { "'\($0)'" }.joined(separator: ", ")
        case .list(let item, _): "a list of \(item.expectationNoun)"
        case .dictionary: "a mapping"
        case .object(let object): "a mapping (\(object.title))"
        case .either(let shapes): shapes.map(\.expectation).joined(separator: " or ")
        case .tagged: "a mapping with a 'kind'"
        }
    }

    private var expectationNoun: String {
        switch self {
        case .scalar(.text), .scalar(.nonEmptyText): "strings"
        case .scalar(.glob): "glob patterns"
        case .scalar(.path): "paths"
        case .scalar(.name): "names"
        default: "values"
        }
    }
}
