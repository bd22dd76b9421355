import DaemonKit

/// How many copies of a daemon run (`replicas`).
public struct ReplicaCount: Hashable, Sendable {
    /// What the manifest's `replicas` says; nil when the manifest has none (the copies come from `orchestrate scale`).
    public var declared: Int?
    /// How many run.
    public var running: Int

    /// Makes a count.
    public init(declared: Int?, running: Int) {
        self.declared = declared
        self.running = running
    }
}

extension Manifest {
    /// The most copies of one daemon: more is likely a typo, and each copy is a process.
    public static let maximumReplicas = 1_000

    /// The name of copy `number` of daemon `name`: `web#2`.
    public static func replicaName(_ name: some StringProtocol, _ number: Int) -> String { "\(name)#\(number)" }

    /// The daemons `name` stands for: the daemon of that name, or the copies of the daemon the manifest names so;
    /// empty when there is neither.
    public func members(of name: String) -> [DaemonSpec] {
        if let spec = self[daemon: name] { return [spec] }
        guard let count = replicated[name]?.running else { return [] }
        return (1...max(count, 1)).compactMap { self[daemon: Self.replicaName(name, $0)] }
    }

    /// Each daemon once, as the manifest declares it: the copies of a daemon with `replicas` folded into one spec
    /// under its own name (what an export maps; ``replicated`` says how many copies run).
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

    /// Replaces each daemon of ``replicated`` by its copies, as many as its count says.
    mutating func expandReplicas() {
        guard !replicated.isEmpty else { return }
        daemons = daemons.flatMap { spec -> [DaemonSpec] in
            guard spec.replica == nil, let count = replicated[spec.name]?.running else { return [spec] }
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
        result.replicated[name] = ReplicaCount(declared: replicated[name]?.declared, running: count)
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
