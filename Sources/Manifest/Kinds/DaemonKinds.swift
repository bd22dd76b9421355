import Synchronization

/// The kinds of daemon a program knows, in order: what `kind:` may say in its manifests.
///
/// The loader (``ManifestLoader``), the JSON Schema (``JSONSchema/manifest(for:)``), `config`, overrides and the
/// supervisor read the kinds from this list, and the order is the order of the schema's `$defs` and of
/// ``Manifest/summary``. The orchestrator's own are `DaemonKinds.builtIn`; a program adds its own kinds to them:
///
/// ```swift
/// let kinds = DaemonKinds.builtIn + [HTTPCheckSpec.self]
/// ```
///
/// Two lists are equal when they hold the same kinds in the same order.
public struct DaemonKinds: Sendable, Hashable, RandomAccessCollection, ExpressibleByArrayLiteral {
    /// A kind: its spec's type.
    public typealias Element = any DaemonKind.Type

    private let storage: Storage

    /// Makes the list. Each kind's name must be unique, and its fields must not be the ones the loader adds
    /// (`kind` and the common fields): a list that breaks either is a programming error, and traps (the second when
    /// the shapes are first made).
    public init(_ kinds: [any DaemonKind.Type]) { storage = Storage(kinds) }

    /// Makes the list: `[PeriodicSpec.self, WatcherSpec.self]`.
    public init(arrayLiteral kinds: any DaemonKind.Type...) { self.init(kinds) }

    /// The position of the first kind, 0.
    public var startIndex: Int { 0 }

    /// The position after the last kind.
    public var endIndex: Int { storage.kinds.count }

    /// The kind at `position`.
    public subscript(position: Int) -> any DaemonKind.Type { storage.kinds[position] }

    /// The kind named `name` (`kind: name` in a manifest), if the list has it.
    public func kind(named name: String) -> (any DaemonKind.Type)? {
        storage.positions[name].map { storage.kinds[$0] }
    }

    /// The kinds' names, in order.
    public var names: [String] { storage.kinds.map { $0.name } }

    /// The kinds of `lhs`, then those of `rhs`.
    public static func + (lhs: DaemonKinds, rhs: DaemonKinds) -> DaemonKinds {
        DaemonKinds(lhs.storage.kinds + rhs.storage.kinds)
    }

    /// Whether both lists hold the same kinds in the same order.
    public static func == (lhs: DaemonKinds, rhs: DaemonKinds) -> Bool {
        lhs.storage === rhs.storage || lhs.storage.identifiers == rhs.storage.identifiers
    }

    /// Hashes the kinds, in order.
    public func hash(into hasher: inout Hasher) { hasher.combine(storage.identifiers) }

    /// The manifest's shapes for these kinds, made once, on first use.
    var shapes: ManifestShape.Kinds { storage.shapes }

    /// The kinds and what is made of them once: immutable, so shared by every copy of the list.
    private final class Storage: Sendable {
        let kinds: [any DaemonKind.Type]
        let identifiers: [ObjectIdentifier]
        let positions: [String: Int]
        /// Made on first use: a command that never reads a manifest (`--version`, `--help`) does not pay for every
        /// kind's fields and shapes.
        private let madeShapes = Mutex<ManifestShape.Kinds?>(nil)

        init(_ kinds: [any DaemonKind.Type]) {
            var positions: [String: Int] = [:]
            for (position, kind) in kinds.enumerated() {
                precondition(positions[kind.name] == nil, "two daemon kinds are named '\(kind.name)'")
                positions[kind.name] = position
            }
            self.kinds = kinds
            self.positions = positions
            identifiers = kinds.map { ObjectIdentifier($0) }
        }

        var shapes: ManifestShape.Kinds {
            madeShapes.withLock { made in
                if let made { return made }
                let reserved = Set(["kind", ManifestShape.replicas.name] + ManifestShape.commonProperties.map(\.name))
                for kind in kinds {
                    for field in kind.fields where reserved.contains(field.name) {
                        preconditionFailure("the \(kind.name) kind declares '\(field.name)', which every daemon has")
                    }
                }
                let shapes = ManifestShape.Kinds(kinds)
                made = shapes
                return shapes
            }
        }
    }
}
