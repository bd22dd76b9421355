import DaemonKit

/// How many copies of a daemon `orchestrate scale` asked for, and the `replicas` the manifest said then (nil when it
/// said none): the scale holds until the manifest says another.
public struct ReplicaScale: Hashable, Sendable {
    /// What the manifest's `replicas` said when the scale was asked for.
    public var declared: Int?
    /// How many copies run.
    public var count: Int

    /// Makes a scale.
    public init(declared: Int?, count: Int) {
        self.declared = declared
        self.count = count
    }
}

extension Manifest {
    /// The most copies of one daemon: more is likely a typo, and each copy is a process.
    public static let maximumReplicas = 1_000

    /// The name of copy `number` of daemon `name`: `web#2`.
    public static func replicaName(_ name: some StringProtocol, _ number: Int) -> String { "\(name)#\(number)" }

    /// The daemons `name` stands for: the daemon of that name, or the copies of the daemon the manifest names so
    /// (numbered from 1 without a gap); empty when there is neither.
    public func members(of name: String) -> [DaemonSpec] {
        if let spec = self[daemon: name] { return [spec] }
        var copies: [DaemonSpec] = []
        while let copy = self[daemon: Self.replicaName(name, copies.count + 1)] { copies.append(copy) }
        return copies
    }

    /// Each daemon once, as the manifest declares it: the copies of a daemon with `replicas` folded into one spec
    /// under its own name (what an export maps; ``members(of:)`` are the copies).
    public var declaredDaemons: [DaemonSpec] {
        daemons.compactMap { spec in
            guard let number = spec.replica else { return spec }
            guard number == 1 else { return nil }
            var declared = spec
            declared.name = String(spec.group)
            declared.replica = nil
            declared.environment[CommandVariable.replica.name] = nil
            return declared
        }
    }

    /// Replaces each daemon of ``declaredReplicas`` by its copies, as many as its `replicas` says.
    mutating func expandReplicas() {
        guard !declaredReplicas.isEmpty else { return }
        daemons = daemons.flatMap { spec -> [DaemonSpec] in
            guard spec.replica == nil, let count = declaredReplicas[spec.name] else { return [spec] }
            return (1...count).map { Self.copy(spec, number: $0) }
        }
    }

    /// `self` with daemon `name` run as `count` copies: the copies it has keep their specs, the missing ones are made
    /// from its first, the extra ones are left out. A daemon run once becomes copy 1 of `count`. Nil when there is no
    /// daemon `name`.
    public func scaled(_ name: String, to count: Int) -> Manifest? {
        guard let template = self[daemon: name] ?? self[daemon: Self.replicaName(name, 1)] else { return nil }
        var result = self
        let copies = (1...count).map { number in
            self[daemon: Self.replicaName(name, number)] ?? Self.copy(template, number: number)
        }
        var placed = false
        result.daemons = daemons.flatMap { spec -> [DaemonSpec] in
            guard spec.group == name else { return [spec] }
            defer { placed = true }
            return placed ? [] : copies
        }
        return result
    }

    /// Copy `number` of `spec` (a daemon as declared, or another copy).
    private static func copy(_ spec: DaemonSpec, number: Int) -> DaemonSpec {
        var copy = spec
        copy.name = replicaName(spec.group, number)
        copy.replica = number
        copy.environment[CommandVariable.replica.name] = String(number)
        return copy
    }
}
