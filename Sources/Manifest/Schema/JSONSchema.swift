import DaemonKit

/// Generates the manifest's JSON Schema (draft 2020-12) from ``ManifestShape``, the model the decoder uses.
public enum JSONSchema {
    /// The schema document of manifests whose daemons are of `kinds`, as `orchestrate schema` prints it (for the
    /// built-in kinds, `schemas/daemons.schema.json` holds it). Each kind's fields are under `$defs`, by name.
    public static func manifest(for kinds: DaemonKinds) -> JSONValue {
        let shapes = kinds.shapes
        var document: [(String, JSONValue)] = [
            ("$schema", .string("https://json-schema.org/draft/2020-12/schema")),
            ("title", .string("orchestrate daemons.yaml")),
            ("description", .string("The manifest of orchestrate, a declarative daemon orchestrator.")),
        ]
        guard case .object(let root) = schema(for: .object(shapes.root)) else { return .object(document) }
        document += root
        let interpolated: JSONValue = .object([
            ("description", .string("A value with ${VARIABLE} interpolation, checked once it is resolved.")),
            ("type", .string("string")), ("pattern", .string("\\$\\{?[A-Za-z_]")),
        ])
        let variants = shapes.variants.map { ($0.tag, schema(for: .object($0.shape))) }
        document.append(("$defs", .object(variants + [("interpolated", interpolated)])))
        return .object(document)
    }

    /// Typed scalars may also be written as templates (`interval: ${SYNC_INTERVAL:-30s}`), which the
    /// loader resolves before it checks them.
    private static func orInterpolated(_ schema: JSONValue) -> JSONValue {
        .object([("anyOf", .array([schema, .object([("$ref", .string("#/$defs/interpolated"))])]))])
    }

    static func schema(for shape: Shape) -> JSONValue {
        switch shape {
        case .scalar(.text), .scalar(.nonEmptyText), .scalar(.path), .scalar(.glob), .scalar(.regex):
            guard case .scalar(let format) = shape else { return .null }
            return schema(for: format)
        case .scalar(let format): return orInterpolated(schema(for: format))
        case .integer(let min, let max):
            var object: [(String, JSONValue)] = [("type", .string("integer"))]
            if let min { object.append(("minimum", .int(min))) }
            if let max { object.append(("maximum", .int(max))) }
            return orInterpolated(.object(object))
        case .boolean: return orInterpolated(.object([("type", .string("boolean"))]))
        case .choice(let values):
            let allowed = values.flatMap { value -> [JSONValue] in
                Int(value).map { [.int($0), .string(value)] } ?? [.string(value)]
            }
            return orInterpolated(.object([("enum", .array(allowed))]))
        case .list(let item, let minCount):
            var object: [(String, JSONValue)] = [("type", .string("array")), ("items", schema(for: item))]
            if minCount > 0 { object.append(("minItems", .int(minCount))) }
            return .object(object)
        case .dictionary(let key, let value):
            var valueSchema = schema(for: value)
            if case .scalar(.text) = value { valueSchema = .object([("type", textTypes(orNull: true))]) }
            return .object([
                ("type", .string("object")), ("propertyNames", schema(for: key)),
                ("additionalProperties", valueSchema),
            ])
        case .object(let object): return schema(for: object)
        case .either(let shapes): return .object([("anyOf", .array(shapes.map(schema(for:))))])
        case .tagged(let tagged):
            let tags = tagged.variants.map { JSONValue.string($0.tag) }
            return .object([
                ("type", .string("object")),
                ("required", .array([.string(tagged.key)])),
                ("properties", .object([(tagged.key, .object([("enum", .array(tags))]))])),
                (
                    "allOf",
                    .array(
                        tagged.variants.map { variant in
                            .object([
                                (
                                    "if",
                                    .object([
                                        (
                                            "properties",
                                            .object([(tagged.key, .object([("const", .string(variant.tag))]))])
                                        ),
                                        ("required", .array([.string(tagged.key)])),
                                    ])
                                ),
                                ("then", .object([("$ref", .string("#/$defs/\(variant.tag)"))])),
                            ])
                        }
                    )
                ),
            ])
        }
    }

    private static func schema(for object: ObjectShape) -> JSONValue {
        var properties: [(String, JSONValue)] = []
        for property in object.properties {
            guard case .object(var fields) = schema(for: property.shape) else { continue }
            fields.insert(("description", .string(property.summary)), at: 0)
            if let value = property.defaultValue { fields.append(("default", value)) }
            properties.append((property.name, .object(fields)))
        }
        var result: [(String, JSONValue)] = [("type", .string("object")), ("properties", .object(properties))]
        let required = object.properties.filter(\.required).map { JSONValue.string($0.name) }
        if !required.isEmpty { result.append(("required", .array(required))) }
        if object.allowsExtensions { result.append(("patternProperties", .object([("^x-", .object([]))]))) }
        result.append(("additionalProperties", .bool(false)))
        if !object.exactlyOneOf.isEmpty {
            result.append(
                ("oneOf", .array(object.exactlyOneOf.map { .object([("required", .array([.string($0)]))]) }))
            )
        }
        return .object(result)
    }

    private static func textTypes(orNull: Bool) -> JSONValue {
        .array((["string", "number", "boolean"] + (orNull ? ["null"] : [])).map(JSONValue.string))
    }

    private static func schema(for format: ScalarFormat) -> JSONValue {
        func string(_ pattern: String? = nil, minLength: Int? = nil) -> JSONValue {
            var object: [(String, JSONValue)] = [("type", .string("string"))]
            if let minLength { object.append(("minLength", .int(minLength))) }
            if let pattern { object.append(("pattern", .string(pattern))) }
            return .object(object)
        }
        switch format {
        case .text: return .object([("type", textTypes(orNull: false))])
        case .nonEmptyText, .path, .regex: return string(minLength: 1)
        case .name(let first, let rest, _): return string(ScalarFormat.namePattern(first: first, rest: rest))
        case .duration:
            return .object([
                (
                    "anyOf",
                    .array([string("^([0-9]+(\\.[0-9]+)?(ms|s|m|h|d))+$|^0$"), .object([("const", .int(0))])])
                )
            ])
        case .size(let min, _):
            return .object([
                (
                    "anyOf",
                    .array([
                        string("^[0-9]+(\\.[0-9]+)? *([kKmMgGtT][iI]?[bB]?|[bB])?$"),
                        .object([("type", .string("integer")), ("minimum", .int(min))]),
                    ])
                )
            ])
        case .listen(let allowUnix):
            let tcp = "\\[[0-9A-Fa-f:.]+\\]:[0-9]{1,5}|[^:\\s\\[\\]]*:[0-9]{1,5}"
            return string("^(" + (allowUnix ? "unix:.+|" : "") + tcp + ")$")
        case .cron:
            return string("^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|\\S+([ \\t]+\\S+){4})$")
        case .glob: return string(minLength: 1)
        case .signal:
            let names = Signal.all.map { String($0.name.dropFirst(3)) }.map(caseInsensitive)
            return string("^(" + caseInsensitive("SIG") + ")?(" + names.joined(separator: "|") + ")$")
        case .httpURL: return string("^[hH][tT][tT][pP]://[^/\\s]+")
        case .webhookURL: return string("^[hH][tT][tT][pP][sS]?://[^/\\s]+")
        }
    }

    private static func caseInsensitive(_ word: String) -> String {
        word.map { character in
            character.isLetter ? "[\(character.uppercased())\(character.lowercased())]" : String(character)
        }.joined()
    }
}
