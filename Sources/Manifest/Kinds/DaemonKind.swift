import DaemonKit

/// A kind of daemon: everything `kind: NAME` means in a manifest, from the fields it takes to the service that
/// runs it.
///
/// The conforming type is the kind's spec, the value a daemon's kind fields decode to (``DaemonSpec/kind``
/// holds it). A kind declares its name once, as ``name``; its own fields, as ``fields`` (the loader adds `kind`
/// before them and the fields every daemon has, `enabled`, `cwd`, `env`, `restart`, `stop_signal`,
/// `stop_timeout`, `log`, `depends_on` and `restart_with_dependencies`, after them); how to read them, as
/// ``init(fields:)``; the checks its shape cannot express, as ``check(_:)``; and the service that runs a daemon
/// of the kind, as ``makeService(for:stateFolder:)``.
///
/// The kinds a program knows are a ``DaemonKinds`` list: the loader, the JSON Schema, `config`, overrides and the
/// supervisor all read the kinds from it, so a kind registered there is accepted, validated, documented and run
/// at once.
///
/// ```swift
/// public struct EchoSpec: DaemonKind {
///     public static let name = "echo"
///     public static let fields = [
///         Property("text", .scalar(.nonEmptyText), "What to write to the log.", required: true),
///         Property("every", .duration(min: .milliseconds(10)), "Time between lines.", default: .string("1s")),
///     ]
///     public var text: String
///     public var every: Duration
///
///     public init(fields: ResolvedFields) {
///         text = fields.string("text")!  // required: always there once validated
///         every = fields.duration("every")!  // defaulted: likewise
///     }
///
///     public func makeService(for daemon: DaemonSpec, stateFolder: StateFolder) -> any DaemonService {
///         EchoDaemon(name: daemon.name, spec: self)  // a DaemonService
///     }
/// }
/// ```
///
/// `examples/custom-kind/` is a whole kind, `http-check`, in a package of its own.
public protocol DaemonKind: Hashable, Sendable {
    /// The kind's name in a manifest (`kind: periodic`), in `status` and in messages.
    static var name: String { get }

    /// The indefinite article of ``name`` in messages ("a periodic daemon"); by default "an" before a vowel and
    /// "a" otherwise. A name read letter by letter says so here ("an rpc daemon").
    static var article: String { get }

    /// The kind's own fields, in the order `config` prints them. The loader puts `kind` before them and the common
    /// fields after them; a kind declares neither.
    static var fields: [Property] { get }

    /// Fields of which exactly one must be present (a periodic daemon's `interval` or `cron`); none by default.
    static var exactlyOneOf: [String] { get }

    /// Whether `orchestrate trigger` (and the rpc kind's `daemons.trigger`) may ask a daemon of this kind to run
    /// now; its service then answers the requests of its ``DaemonContext/requests``. False by default.
    static var runsOnTrigger: Bool { get }

    /// Whether a daemon of this kind can end by itself with success (its service returns), so that another can
    /// wait for it with `depends_on: {NAME: completed}`. False by default.
    static var canComplete: Bool { get }

    /// Whether a daemon of this kind may run as several copies (`replicas: N`, `orchestrate scale`): the loader then
    /// adds the `replicas` field to the kind's fields. False by default.
    static var takesReplicas: Bool { get }

    /// Decodes a daemon's kind fields, resolved (interpolated, overridden, defaults filled in) and validated
    /// against ``fields``: a declared field with a default, or a required one, is always there and reads as its
    /// shape says, so reading it cannot fail. Throw for a problem the shape cannot express: it is reported as an
    /// error of the daemon.
    init(fields: ResolvedFields) throws

    /// Checks that span several fields, or need the manifest's folders (`max_wait` at least `debounce`; a socket
    /// that must not be the supervisor's own), reporting each problem with ``DaemonCheck/fail(_:_:suggestion:)``.
    ///
    /// It runs on every daemon of the kind, before decoding and also when the shape found errors: a field may be
    /// missing or not read as its shape says, so read each as optional. Nothing is checked by default.
    static func check(_ daemon: inout DaemonCheck)

    /// The TCP port a daemon of this kind listens on, and the field that sets it, for the manifest's check that
    /// no two daemons (nor the control API) take the same port; nil (the default) when it listens on none. Port 0
    /// (any free port) is never a conflict. As for ``check(_:)``, the fields may hold invalid values.
    static func listeningPort(in fields: ResolvedFields) -> (field: String, port: Int)?

    /// How long this daemon may take to become ready after it starts, which `up --wait` allows it; nil (the
    /// default) when it is ready once started.
    var readinessTimeout: Duration? { get }

    /// The service that runs `daemon`, whose ``DaemonSpec/kind`` is this value. `stateFolder` is the manifest's
    /// state folder, for files the service keeps there.
    func makeService(for daemon: DaemonSpec, stateFolder: StateFolder) throws -> any DaemonService
}

extension DaemonKind {
    public static var article: String { name.first.map { "aeiou".contains($0) } == true ? "an" : "a" }

    public static var exactlyOneOf: [String] { [] }

    public static var runsOnTrigger: Bool { false }

    public static var canComplete: Bool { false }

    public static var takesReplicas: Bool { false }

    public static func check(_ daemon: inout DaemonCheck) {}

    public static func listeningPort(in fields: ResolvedFields) -> (field: String, port: Int)? { nil }

    public var readinessTimeout: Duration? { nil }

    /// "a periodic daemon", "an rpc daemon": the kind in messages.
    public static var title: String { "\(article) \(name) daemon" }
}
