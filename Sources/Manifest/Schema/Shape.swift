/// The shape of a value in the manifest: the one description of the model that the validator, the JSON
/// Schema generator, the override resolver and `config` all read, so that they cannot disagree.
///
/// A kind declares its fields with shapes (``DaemonKind/fields``): `.duration(min: .seconds(1))` is a duration of
/// at least a second, `.list(.scalar(.glob), minCount: 1)` a non-empty list of globs, `.choice(["fast", "slow"])`
/// one of two words, `.object(ObjectShape(…))` a nested mapping with fixed keys.
public indirect enum Shape: Sendable {
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
public final class ObjectShape: Sendable {
    /// What the object is, in a few words (for messages: "a watcher daemon").
    public let title: String
    /// Its keys, in the order `config` prints them.
    public let properties: [Property]
    /// Whether `x-…` keys are allowed (and ignored), as docker compose allows extension fields.
    public let allowsExtensions: Bool
    /// Exactly one of these keys must be present, when not empty (`interval` or `cron`).
    public let exactlyOneOf: [String]
    /// The position of each property, so lookups do not scan the list (a manifest has thousands of keys).
    let positions: [String: Int]

    /// Makes an object shape; `title` names it in messages ("missing key 'command' (`title` needs it)").
    public init(
        title: String,
        properties: [Property],
        allowsExtensions: Bool = false,
        exactlyOneOf: [String] = []
    ) {
        self.title = title
        self.properties = properties
        self.allowsExtensions = allowsExtensions
        self.exactlyOneOf = exactlyOneOf
        positions = Dictionary(properties.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The property named `name`.
    public func property(_ name: String) -> Property? { positions[name].map { properties[$0] } }
}

/// One key of an object: its name, shape, documentation and default.
///
/// `Property("timeout", .scalar(.duration(min: .milliseconds(1), max: nil)), "A run taking longer is stopped.")`
/// is an optional duration; `default: .string("30s")` makes it always present once resolved, and
/// `required: true` makes it mandatory. Make the properties of a kind once (a `static let`): each resolves its
/// default when it is made.
public struct Property: Sendable {
    /// The key.
    public var name: String
    /// Its value's shape.
    public var shape: Shape
    /// What it is for, for the JSON Schema's `description`.
    public var summary: String
    /// The value used when the key is absent, as the manifest would write it.
    public var defaultValue: JSONValue? = nil
    /// A typical value, for the manifest's reference (`docs/manifest.md`); its generator checks it against
    /// ``shape``.
    public var example: JSONValue? = nil
    /// Whether the key must be present.
    public var required = false
    /// The default as a resolved node (nested defaults filled in), made once: every daemon uses it.
    let defaultNode: YAMLNode?

    /// Makes a property.
    public init(
        _ name: String,
        _ shape: Shape,
        _ summary: String,
        default defaultValue: JSONValue? = nil,
        example: JSONValue? = nil,
        required: Bool = false
    ) {
        self.name = name
        self.shape = shape
        self.summary = summary
        self.defaultValue = defaultValue
        self.example = example
        self.required = required
        var validator = ShapeValidator()
        defaultNode = defaultValue.map { validator.resolve($0.node, as: shape, path: [name]) }
    }
}

/// Object shapes chosen by the value of a discriminating key: a daemon, whose `kind` picks the shape of its
/// fields (the loader makes it from the ``DaemonKinds`` list).
public struct TaggedShape: Sendable {
    /// The discriminating key, `kind`.
    public var key: String
    /// The shape for each value of the key, in order.
    public var variants: [(tag: String, shape: ObjectShape)]

    /// Makes a tagged shape.
    public init(key: String, variants: [(tag: String, shape: ObjectShape)]) {
        self.key = key
        self.variants = variants
    }

    /// The shape for `tag`.
    public func variant(_ tag: String) -> ObjectShape? { variants.first { $0.tag == tag }?.shape }
}

extension Shape {
    /// A command: an argv list (`[python3, -m, http.server]`), or a string run by `/bin/sh -c`; read it with
    /// ``ResolvedFields/command(_:)``.
    public static let command = Shape.either([
        .scalar(.nonEmptyText),
        .list(.scalar(.text), minCount: 1),
    ])

    /// A duration within bounds, such as `30s`; read it with ``ResolvedFields/duration(_:)``.
    public static func duration(min: Duration = .zero, max: Duration? = nil) -> Shape {
        .scalar(.duration(min: min, max: max))
    }

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
