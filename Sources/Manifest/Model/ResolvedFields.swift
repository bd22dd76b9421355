import DaemonKit

/// Typed reads of a mapping of the resolved manifest: a daemon's fields, or a nested object of them.
///
/// The loader hands a kind its daemon's fields after interpolation, overrides, `defaults` and built-in defaults,
/// with each value validated against the kind's ``Property`` list: in ``DaemonKind/init(fields:)`` a field with a
/// default, or a required one, is present and reads as its shape says. Each read is still optional, because
/// ``DaemonKind/check(_:)`` reads the same fields before validation is known to have passed.
public struct ResolvedFields: Sendable {
    /// The mapping.
    public let node: YAMLNode
    /// The manifest's folder, absolute: where relative paths of the manifest start (``path(_:)``).
    public let manifestDirectory: String
    /// The daemon's working folder (`cwd`), absolute: where paths its commands use start.
    public let workingDirectory: String

    /// Reads `node`; relative paths start from `manifestDirectory`, or `workingDirectory` where a field says so.
    public init(_ node: YAMLNode, manifestDirectory: String, workingDirectory: String) {
        self.node = node
        self.manifestDirectory = manifestDirectory
        self.workingDirectory = workingDirectory
    }

    /// The value under `key`, as written (with where it was written).
    public subscript(key: String) -> YAMLNode? { node[key] }

    /// The text of the scalar under `key`; nil when absent, null or not a scalar.
    public func string(_ key: String) -> String? { node[key].flatMap { $0.isNull ? nil : $0.scalarText } }

    /// The integer under `key` (`.integer` shapes).
    public func int(_ key: String) -> Int? { string(key).flatMap(CoreSchema.integer) }

    /// The boolean under `key` (`.boolean` shapes).
    public func bool(_ key: String) -> Bool? { string(key).flatMap(CoreSchema.boolean) }

    /// The duration under `key` (`.scalar(.duration(…))` shapes), such as `30s`.
    public func duration(_ key: String) -> Duration? { string(key).flatMap(DurationText.parse) }

    /// The number of bytes under `key` (`.scalar(.size(…))` shapes), such as `10MiB`.
    public func size(_ key: String) -> Int? { string(key).flatMap(SizeText.parse) }

    /// The address under `key` (`.scalar(.listen(…))` shapes), such as `127.0.0.1:8420`, as written: a `unix:`
    /// path is still relative.
    public func listenAddress(_ key: String) -> ListenAddress? { string(key).flatMap(ListenAddress.init(parsing:)) }

    /// The path under `key` (`.scalar(.path)` shapes), made absolute from the manifest's folder.
    public func path(_ key: String) -> String? { string(key).map { Paths.absolute($0, from: manifestDirectory) } }

    /// The texts of the list under `key` (`.list(.scalar(…))` shapes); empty when absent.
    public func strings(_ key: String) -> [String] { node[key]?.items?.compactMap(\.scalarText) ?? [] }

    /// The compiled globs of the list under `key` (`.list(.scalar(.glob), …)` shapes); empty when absent.
    /// Validation compiled them already, and they are cached: each pattern is compiled once.
    public func globs(_ key: String) throws(DaemonKitError) -> [Glob] {
        var globs: [Glob] = []
        for pattern in strings(key) { globs.append(try GlobCache.shared.glob(pattern)) }
        return globs
    }

    /// The mapping under `key` (`.object(…)` shapes), read the same way.
    public func object(_ key: String) -> ResolvedFields? {
        guard let child = node[key], case .mapping = child.content else { return nil }
        return reading(child)
    }

    /// The entries of the mapping under `key` whose values are mappings (`.dictionary(key:value: .object(…))`
    /// shapes, such as an rpc daemon's methods), in the manifest's order; empty when absent.
    public func entries(_ key: String) -> [(name: String, fields: ResolvedFields)] {
        (node[key]?.pairs ?? []).map { ($0.key.text, reading($0.value)) }
    }

    /// The command under `key` (``Shape/command``): an argv list, or a string for `/bin/sh -c`.
    public func command(_ key: String) -> Command? {
        guard let value = node[key] else { return nil }
        if let items = value.items { return .argv(items.compactMap(\.scalarText)) }
        return value.scalarText.map(Command.shell)
    }

    /// A mapping of variables; a null value takes the variable from `processEnvironment`.
    public func environment(_ key: String, _ processEnvironment: [String: String]) -> [String: String] {
        var result: [String: String] = [:]
        for pair in node[key]?.pairs ?? [] {
            if pair.value.isNull {
                if let value = processEnvironment[pair.key.text] { result[pair.key.text] = value }
            } else if let text = pair.value.scalarText {
                result[pair.key.text] = text
            }
        }
        return result
    }

    private func reading(_ child: YAMLNode) -> ResolvedFields {
        ResolvedFields(child, manifestDirectory: manifestDirectory, workingDirectory: workingDirectory)
    }
}
