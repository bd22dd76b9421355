import DaemonKit
import Manifest

/// The rpc kind: an `rpc` daemon's fields, which ``RPCDaemon`` serves.
public struct RPCSpec: DaemonKind {
    /// A JSON-RPC method backed by a command.
    public struct Method: Hashable, Sendable {
        /// The method's name.
        public var name: String
        /// Gets params on stdin, prints the result.
        public var command: Command
        /// Longest a call may take.
        public var timeout: Duration
        /// What it does, for `GET /methods`.
        public var description: String?
    }

    public static let name = "rpc"

    /// Read letter by letter: "an rpc daemon".
    public static let article = "an"

    public static let fields = [
        Property(
            "listen",
            .scalar(.listen(allowUnix: true)),
            "host:port, [::1]:port or unix:PATH; port 0 takes a free port, which status shows.",
            example: .string("127.0.0.1:8420"),
            required: true
        ),
        Property(
            "auth",
            .object(
                ObjectShape(
                    title: "rpc auth",
                    properties: [
                        Property(
                            "api_key_env",
                            .scalar(ScalarFormat.environmentName),
                            "Environment variable holding the API key every route but /health requires.",
                            example: .string("CORE_API_KEY")
                        ),
                        Property(
                            "insecure",
                            .boolean,
                            "Allow a non-loopback address without an API key.",
                            default: .bool(false),
                            example: .bool(true)
                        ),
                    ]
                )
            ),
            "API-key authentication.",
            default: .object([]),
            example: .object([("api_key_env", .string("CORE_API_KEY"))])
        ),
        Property(
            "methods",
            .dictionary(key: ScalarFormat.methodName, value: .object(method)),
            "JSON-RPC methods backed by commands.",
            default: .object([]),
            example: .object([
                (
                    "skills.list",
                    .object([
                        ("command", .array([.string("sh"), .string("scripts/skills-list.sh")])),
                        ("timeout", .string("5s")), ("description", .string("The skills on this machine.")),
                    ])
                )
            ])
        ),
        Property(
            "cache",
            .object(
                ObjectShape(
                    title: "rpc cache",
                    properties: [
                        Property(
                            "max_entries",
                            .integer(min: 0, max: 100_000_000),
                            "Most entries kept (LRU).",
                            default: .int(10_000),
                            example: .int(1_000)
                        ),
                        Property(
                            "max_bytes",
                            .scalar(.size(min: 0, max: 1 << 40)),
                            "Most bytes kept (LRU).",
                            default: .string("64MiB"),
                            example: .string("16MiB")
                        ),
                    ]
                )
            ),
            "The shared cache.",
            default: .object([])
        ),
        Property(
            "max_concurrency",
            .integer(min: 1, max: 100_000),
            "Calls run at once; the default is four per core.",
            example: .int(8)
        ),
        Property(
            "max_queue",
            .integer(min: 0, max: 1_000_000),
            "Calls waiting beyond that before -32000 busy.",
            default: .int(1_000),
            example: .int(100)
        ),
        Property(
            "max_body",
            .scalar(.size(min: 1, max: 1 << 30)),
            "Largest request body; larger gets 413.",
            default: .string("1MiB"),
            example: .string("4MiB")
        ),
    ]

    static let method = ObjectShape(
        title: "an rpc method",
        properties: [
            Property(
                "command",
                .command,
                "Gets params as JSON on stdin, prints the JSON result.",
                example: .array([.string("python3"), .string("scripts/search.py")]),
                required: true
            ),
            Property(
                "timeout",
                .duration(min: .milliseconds(1), max: .seconds(3_600)),
                "Longest a call may take.",
                default: .string("30s"),
                example: .string("5s")
            ),
            Property(
                "description",
                .scalar(.text),
                "What the method does, listed by GET /methods.",
                example: .string("Full-text search over the notes.")
            ),
        ]
    )

    /// Where it listens (a Unix socket path is absolute).
    public var listen: ListenAddress
    /// The environment variable holding the API key, if auth is on.
    public var apiKeyEnvironment: String?
    /// Whether a non-loopback address without a key was allowed on purpose.
    public var insecure: Bool
    /// Its methods, sorted by name.
    public var methods: [Method]
    /// Most cache entries.
    public var cacheMaxEntries: Int
    /// Most cache bytes.
    public var cacheMaxBytes: Int
    /// Calls run at once; nil means four per core.
    public var maxConcurrency: Int?
    /// Calls waiting beyond that.
    public var maxQueue: Int
    /// Largest request body in bytes.
    public var maxBody: Int

    public init(fields: ResolvedFields) {
        let auth = fields.object("auth")!
        let cache = fields.object("cache")!
        listen = fields.listenAddress("listen")!
        if case .unix(let path) = listen { listen = .unix(path: Paths.absolute(path, from: fields.manifestDirectory)) }
        apiKeyEnvironment = auth.string("api_key_env")
        insecure = auth.bool("insecure")!
        methods = fields.entries("methods").map { name, method in
            Method(
                name: name,
                command: method.command("command")!,
                timeout: method.duration("timeout")!,
                description: method.string("description")
            )
        }.sorted { $0.name < $1.name }
        cacheMaxEntries = cache.int("max_entries")!
        cacheMaxBytes = cache.size("max_bytes")!
        maxConcurrency = fields.int("max_concurrency")
        maxQueue = fields.int("max_queue")!
        maxBody = fields.size("max_body")!
    }

    /// A non-loopback address needs a key (or `insecure`); a Unix socket must not be the supervisor's control socket,
    /// whichever bound second would fail (and the supervisor stops without its control socket), nor lie in another
    /// manifest's state folder.
    public static func check(_ daemon: inout DaemonCheck) {
        guard let address = daemon.fields.listenAddress("listen") else { return }
        if !address.isLoopback, daemon.fields.object("auth")?.string("api_key_env") == nil,
            daemon.fields.object("auth")?.bool("insecure") != true
        {
            daemon.fail(
                "listen",
                "listening on \(address), which is not loopback, needs auth.api_key_env",
                suggestion: "set auth: {api_key_env: NAME}, or auth: {insecure: true} to allow it without a key"
            )
        }
        guard case .unix(let socket) = address else { return }
        let folder = daemon.fields.manifestDirectory
        let absolute = Paths.absolute(socket, from: folder)
        guard absolute == daemon.stateFolder.socket() else {
            daemon.checkOutsideOtherStateFolders(absolute, field: "listen", subject: "unix:\(socket)")
            return
        }
        daemon.fail(
            "listen",
            "unix:\(socket) is the supervisor's own control socket",
            suggestion:
                "choose another path, such as unix:\(Paths.relative(daemon.stateFolder.path, to: folder))/\(daemon.name).sock"
        )
    }

    public static func listeningPort(in fields: ResolvedFields) -> (field: String, port: Int)? {
        guard case .tcp(_, let port)? = fields.listenAddress("listen") else { return nil }
        return ("listen", port)
    }

    public func makeService(for daemon: DaemonSpec, stateFolder: StateFolder) -> any DaemonService {
        RPCDaemon(spec: daemon, rpc: self)
    }
}
