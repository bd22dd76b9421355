import DaemonKit
import Orchestrator
import Testing

@testable import Manifest

/// A kind declared outside the orchestrator, as another package would: a beacon that says `message` every `every`
/// until `until`, and listens on `port`.
struct BeaconSpec: DaemonKind {
    static let name = "beacon"

    static let fields = [
        Property("message", .scalar(.nonEmptyText), "What the beacon says.", required: true),
        Property("every", .duration(min: .milliseconds(10)), "Time between beacons.", default: .string("1s")),
        Property("until", .duration(min: .milliseconds(10)), "When it stops saying it."),
        Property("port", .integer(min: 0, max: 65_535), "The TCP port it also answers on."),
        Property("lamp", .choice(["red", "green"]), "Its colour.", default: .string("green")),
    ]

    static let canComplete = true

    var message: String
    var every: Duration
    var until: Duration?
    var port: Int?

    struct Refusal: Error, CustomStringConvertible {
        var description: String { "a beacon cannot say 'nothing'" }
    }

    init(fields: ResolvedFields) throws {
        message = fields.string("message")!
        guard message != "nothing" else { throw Refusal() }
        every = fields.duration("every")!
        until = fields.duration("until")
        port = fields.int("port")
    }

    static func check(_ daemon: inout DaemonCheck) {
        guard let every = daemon.fields.duration("every"), let until = daemon.fields.duration("until"), until < every
        else { return }
        daemon.fail("until", "until must be at least every", suggestion: "say it at least once")
    }

    static func listeningPort(in fields: ResolvedFields) -> (field: String, port: Int)? {
        fields.int("port").map { ("port", $0) }
    }

    var readinessTimeout: Duration? { every }

    func makeService(for daemon: DaemonSpec, stateFolder: StateFolder) -> any DaemonService {
        BeaconService(name: daemon.name)
    }
}

/// Says nothing and ends: what the beacon kind's daemons run.
struct BeaconService: DaemonService {
    let name: String
    var kind: String { BeaconSpec.name }
    func run(_ context: DaemonContext) async throws {}
}

@Suite("Kinds as plug-ins")
struct KindRegistrationTests {
    static let kinds = DaemonKinds.builtIn + [BeaconSpec.self]

    private func load(_ yaml: String, set: [String] = []) throws -> LoadedManifest {
        try ManifestLoader(
            file: "/project/daemons.yaml",
            fileLabel: "daemons.yaml",
            kinds: Self.kinds,
            setArguments: set
        )
        .load(bytes: Array(yaml.utf8))
    }

    private func errors(_ yaml: String, set: [String] = []) -> [ManifestError] {
        do {
            _ = try load(yaml, set: set)
            Issue.record("expected the manifest to be rejected")
            return []
        } catch {
            return (error as? ManifestErrors)?.errors ?? []
        }
    }

    @Test func theBuiltInKindsInOrder() {
        #expect(DaemonKinds.builtIn.names == ["periodic", "watcher", "rpc", "process"])
        #expect(Self.kinds.names == ["periodic", "watcher", "rpc", "process", "beacon"])
        #expect(Self.kinds.kind(named: "beacon") == BeaconSpec.self)
        #expect(Self.kinds.kind(named: "nope") == nil)
        #expect(Self.kinds == DaemonKinds.builtIn + [BeaconSpec.self])
        #expect(Self.kinds != DaemonKinds.builtIn)
        #expect(DaemonKinds.builtIn.filter { $0.runsOnTrigger }.map { $0.name } == ["periodic", "watcher"])
        #expect(DaemonKinds.builtIn.filter { $0.canComplete }.map { $0.name } == ["process"])
        #expect(
            DaemonKinds.builtIn.map { $0.title } == [
                "a periodic daemon", "a watcher daemon", "an rpc daemon", "a process daemon",
            ]
        )
    }

    @Test func anUnknownKindNamesTheRegisteredOnesAndSuggestsTheNearest() throws {
        let yaml = "daemons:\n  a: {kind: beakon, message: hi}\n"
        let error = try #require(errors(yaml).first)
        #expect(
            error.description
                == "daemons.yaml:2:13: daemons.a.kind: expected one of 'periodic', 'watcher', 'rpc', 'process', "
                + "'beacon', found 'beakon'; did you mean 'beacon'?"
        )
        // A loader without the kind does not know it.
        do {
            _ = try ManifestLoader(file: "/project/daemons.yaml", fileLabel: "daemons.yaml", kinds: .builtIn)
                .load(bytes: Array("daemons:\n  a: {kind: beacon, message: hi}\n".utf8))
            Issue.record("a beacon loaded without its kind")
        } catch {
            #expect(
                error.errors.map(\.description) == [
                    "daemons.yaml:2:13: daemons.a.kind: expected one of 'periodic', 'watcher', 'rpc', 'process', "
                        + "found 'beacon'"
                ]
            )
        }
    }

    @Test func aKindFromOutsideIsDecodedWithTheCommonFields() throws {
        let manifest = try load(
            """
            daemons:
              b: {kind: beacon, message: hello, until: 5s, cwd: sub, restart: {policy: never}}
              p: {kind: periodic, interval: 1s, command: x, depends_on: {b: completed}}
            """
        ).manifest
        let daemon = try #require(manifest[daemon: "b"])
        let beacon = try #require(daemon.settings(as: BeaconSpec.self))
        #expect(beacon.message == "hello")
        #expect(beacon.every == .seconds(1))
        #expect(beacon.until == .seconds(5))
        #expect(beacon.port == nil)
        #expect(daemon.settings(as: PeriodicSpec.self) == nil)
        #expect(daemon.kindName == "beacon")
        #expect(daemon.kindTitle == "a beacon daemon")
        #expect(daemon.kind.readinessTimeout == .seconds(1))
        #expect(daemon.workingDirectory == "/project/sub")
        #expect(daemon.restart.mode == .never)
        #expect(manifest.kinds == Self.kinds)
        #expect(manifest.summary == "2 daemons: 1 periodic, 1 beacon")
        #expect(
            try daemon.kind.makeService(for: daemon, stateFolder: StateFolder("/project/.orchestrate")).kind == "beacon"
        )
    }

    @Test func specsOfAKindFromOutsideCompareByValue() throws {
        let first = try load("daemons: {b: {kind: beacon, message: hi}}").manifest.daemons[0]
        let same = try load("daemons: {b: {kind: beacon, message: hi, every: 1s}}").manifest.daemons[0]
        let changed = try load("daemons: {b: {kind: beacon, message: ho}}").manifest.daemons[0]
        let other = try load("daemons: {b: {kind: periodic, interval: 1s, command: hi}}").manifest.daemons[0]
        #expect(first == same)
        #expect(first.hashValue == same.hashValue)
        #expect(first != changed)
        #expect(first != other)
    }

    @Test func aKindFromOutsideIsValidatedAndChecked() throws {
        let found = errors(
            """
            daemons:
              a: {kind: beacon, mesage: hi}
              b: {kind: beacon, message: hi, every: 2s, until: 1s}
              c: {kind: beacon, message: hi, port: 8420}
              d: {kind: rpc, listen: "127.0.0.1:8420"}
              e: {kind: beacon, message: hi, listen: x}
              f: {kind: periodic, interval: 1s, command: x, message: hi}
              g: {kind: beacon, message: hi, lamp: blue}
            """
        )
        #expect(
            found.map(\.description) == [
                "daemons.yaml:2:6: daemons.a: missing key 'message' (a beacon daemon needs it)",
                "daemons.yaml:2:21: daemons.a: unknown key 'mesage' in a beacon daemon; did you mean 'message'?",
                "daemons.yaml:3:52: daemons.b.until: until must be at least every; say it at least once",
                "daemons.yaml:5:26: daemons.d.listen: port 8420 is already used by daemons.c.port",
                "daemons.yaml:6:34: daemons.e: unknown key 'listen' in a beacon daemon; 'listen' belongs to rpc daemons",
                "daemons.yaml:7:49: daemons.f: unknown key 'message' in a periodic daemon; 'message' belongs to beacon daemons",
                "daemons.yaml:8:40: daemons.g.lamp: expected one of 'red', 'green', found 'blue'",
            ]
        )
    }

    @Test func whatAKindRefusesWhileDecodingIsAnErrorOfTheDaemon() throws {
        let found = errors("daemons:\n  a: {kind: beacon, message: nothing}\n")
        #expect(found.map(\.description) == ["daemons.yaml:2:6: daemons.a: a beacon cannot say 'nothing'"])
    }

    @Test func aKindCanCompleteForItsDependents() throws {
        let completed = "daemons:\n  b: {kind: beacon, message: hi}\n  w: {kind: watcher, command: x}\n"
        _ = try load(completed + "  p: {kind: process, command: x, depends_on: {b: completed}}\n")
        let found = errors(completed + "  p: {kind: process, command: x, depends_on: {w: completed}}\n")
        #expect(
            found.map(\.message) == [
                "'completed' needs 'w' to be a process or a beacon that can finish (restart policy 'never' or 'on-failure')"
            ]
        )
    }

    @Test func overridesReachTheFieldsOfAKindFromOutside() throws {
        let yaml = "daemons:\n  b: {kind: beacon, message: hi}\n"
        let loaded = try load(yaml, set: ["daemons.b.every=250ms", "daemons.b.MESSAGE=ho"])
        let beacon = try #require(loaded.manifest[daemon: "b"]?.settings(as: BeaconSpec.self))
        #expect(beacon.every == .milliseconds(250))
        #expect(beacon.message == "ho")
        let typo = try #require(errors(yaml, set: ["daemons.b.evry=1s"]).first)
        #expect(typo.message == "no field 'evry' in a beacon daemon")
        #expect(typo.suggestion == "did you mean 'every'?")
    }

    @Test func configAndTheSchemaShowAKindFromOutside() throws {
        let loaded = try load("daemons:\n  b: {kind: beacon, message: hi, every: 90s}\n")
        let json = ConfigRenderer(loaded).json
        let fields = try #require(json["daemons"]?["b"])
        guard case .object(let pairs) = fields else {
            Issue.record("not an object")
            return
        }
        #expect(Array(pairs.map(\.0).prefix(4)) == ["kind", "message", "every", "lamp"])
        #expect(fields["every"] == .string("1m30s"))
        #expect(fields["stop_timeout"] == .string("10s"))

        let schema = JSONSchema.manifest(for: Self.kinds)
        guard case .object(let definitions)? = schema["$defs"] else {
            Issue.record("no $defs")
            return
        }
        #expect(definitions.map(\.0) == ["periodic", "watcher", "rpc", "process", "beacon", "interpolated"])
        guard case .object(let properties)? = schema["$defs"]?["beacon"]?["properties"] else {
            Issue.record("no beacon properties")
            return
        }
        #expect(properties.map(\.0) == Self.kinds.shapes.variants[4].shape.properties.map(\.name))
        #expect(Array(properties.map(\.0).prefix(6)) == ["kind", "message", "every", "until", "port", "lamp"])
        #expect(schema["$defs"]?["beacon"]?["required"] == .array([.string("kind"), .string("message")]))
        let daemonSchema = schema["properties"]?["daemons"]?["additionalProperties"]
        #expect(
            daemonSchema?["properties"]?["kind"]?["enum"]
                == .array(["periodic", "watcher", "rpc", "process", "beacon"].map(JSONValue.string))
        )
        // The built-in kinds' fields are the same with the beacon or without it; only `kind` may say more.
        let builtIn = JSONSchema.manifest(for: .builtIn)
        for name in DaemonKinds.builtIn.names {
            guard case .object(let with)? = schema["$defs"]?[name]?["properties"],
                case .object(let without)? = builtIn["$defs"]?[name]?["properties"]
            else {
                Issue.record("no properties for \(name)")
                continue
            }
            #expect(JSONValue.object(with.filter { $0.0 != "kind" }) == .object(without.filter { $0.0 != "kind" }))
        }
    }
}
