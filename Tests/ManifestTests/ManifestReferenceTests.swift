import DaemonKit
import Orchestrator
import Testing

@testable import Manifest

/// A kind whose example does not fit its field's shape: the reference refuses to document it.
struct BadExampleSpec: DaemonKind {
    static let name = "bad-example"
    static let fields = [
        Property("every", .duration(min: .seconds(1)), "Time between runs.", example: .string("5ms"), required: true)
    ]

    init(fields: ResolvedFields) {}

    func makeService(for daemon: DaemonSpec, stateFolder: StateFolder) -> any DaemonService {
        BeaconService(name: daemon.name)
    }
}

@Suite("The manifest's reference")
struct ManifestReferenceTests {
    static let kinds = DaemonKinds.builtIn + [BeaconSpec.self]

    static let document = """
        # Reference

        Hand-written text stays.

        <!-- BEGIN generated: top-level -->
        stale text
        <!-- END generated: top-level -->

        ## Beacons

        <!-- BEGIN generated: kind beacon -->
        <!-- END generated: kind beacon -->

        The end.
        """

    @Test func blocksAreFilledFromTheShapesAndTheTextAroundThemIsKept() throws {
        let updated = try ManifestReference.update(Self.document, kinds: Self.kinds)
        #expect(updated.hasPrefix("# Reference\n\nHand-written text stays.\n\n<!-- BEGIN generated: top-level -->\n"))
        #expect(!updated.contains("stale text"))
        #expect(updated.contains("\n<!-- END generated: kind beacon -->\n\nThe end.\n"))
        // Every field of the kind, with its type, default and summary; a required one says so.
        #expect(updated.contains("| `message` | non-empty string | required | What the beacon says. |"))
        #expect(updated.contains("| `every` | duration, at least 10ms | `1s` | Time between beacons. |"))
        #expect(updated.contains("| `lamp` | one of `red`, `green` | `green` | Its colour. |"))
        #expect(updated.contains("| `daemons` | mapping of daemon name to daemon | required | The daemons, by name. |"))
        // The errors are the validator's own, found by validating wrong values.
        #expect(
            updated.contains("- `daemons.NAME.lamp: expected one of 'red', 'green', found 'rd'; did you mean 'red'?`")
        )
        #expect(updated.contains("- `daemons.NAME.every: expected a duration of at least 10ms, found 0s`"))
        #expect(updated.contains("**`every`**, for example `every: 1s`"))
        // The smallest daemon of the kind holds its required fields.
        #expect(updated.contains("```yaml\ndaemons:\n  NAME:\n    kind: beacon\n    message: value\n```"))
        #expect(try ManifestReference.update(updated, kinds: Self.kinds) == updated)
    }

    @Test func aKindWithoutABlockGetsASectionAtTheEndOfAManifestReference() throws {
        #expect(try ManifestReference.update("# Another page\n", kinds: Self.kinds) == "# Another page\n")
        let page = "# Reference\n<!-- BEGIN generated: top-level -->\n<!-- END generated: top-level -->\n"
        let updated = try ManifestReference.update(page, kinds: Self.kinds)
        for name in Self.kinds.names {
            #expect(updated.contains("\n## The \(name) kind\n\n<!-- BEGIN generated: kind \(name) -->\n"))
        }
        #expect(try ManifestReference.update(updated, kinds: Self.kinds) == updated)
    }

    @Test func aBadDocumentOrExampleIsRefusedWithTheReason() {
        func failure(_ document: String, kinds: DaemonKinds = Self.kinds) -> String? {
            do {
                _ = try ManifestReference.update(document, kinds: kinds)
                return nil
            } catch {
                return error.description
            }
        }
        #expect(
            failure("<!-- BEGIN generated: kind nope -->\n<!-- END generated: kind nope -->\n")?.contains(
                "unknown block 'kind nope'"
            ) == true
        )
        #expect(failure("<!-- BEGIN generated: daemon -->\n")?.contains("block 'daemon' has no '<!-- END") == true)
        let twice = "<!-- BEGIN generated: daemon -->\n<!-- END generated: daemon -->\n"
        #expect(failure(twice + twice) == "block 'daemon' appears twice")
        #expect(
            failure("<!-- BEGIN generated: daemon -->\n<!-- END generated: daemon -->\n", kinds: [BadExampleSpec.self])
                == "the example of daemons.NAME.every is not valid: daemons.NAME.every: expected a duration of at least 1s, found 5ms"
        )
    }

    /// Every field of the built-in kinds has an example of its own, not one made up from its shape (`daemons` shows
    /// the smallest daemon of the first kind).
    @Test func everyBuiltInFieldHasAnExampleOrADefault() {
        func missing(_ properties: [Property], _ prefix: String) -> [String] {
            properties.flatMap { property -> [String] in
                let name = prefix + property.name
                switch property.shape {
                case .object(let object): return missing(object.properties, name + ".")
                case .dictionary(_, .tagged): return []  // the daemons: the first kind's smallest daemon
                case .dictionary(_, .object(let object)):
                    return (property.example == nil ? [name] : []) + missing(object.properties, name + ".NAME.")
                default: return property.example == nil ? [name] : []
                }
            }
        }
        let shapes = DaemonKinds.builtIn.shapes
        var fields = missing(shapes.root.properties, "") + missing(ManifestShape.commonProperties, "daemons.NAME.")
        for kind in DaemonKinds.builtIn { fields += missing(kind.fields, kind.name + ".") }
        #expect(fields == [])
    }
}
