import Foundation
import OrchestrateTesting
import Orchestrator
import Testing

@testable import Manifest

@Suite("JSON Schema and config output")
struct SchemaAndConfigTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    @Test func theCommittedSchemaIsTheGeneratedOne() throws {
        let committed = try String(contentsOfFile: Self.repository + "/schemas/daemons.schema.json", encoding: .utf8)
        #expect(
            committed == JSONSchema.manifest(for: .builtIn).serialized(pretty: true) + "\n",
            "schemas/daemons.schema.json is stale: run `make schema`"
        )
    }

    @Test func theSchemaCoversEveryFieldOfTheModel() throws {
        let schema = JSONSchema.manifest(for: .builtIn)
        guard case .object(let properties)? = schema["properties"] else {
            Issue.record("no properties")
            return
        }
        let shapes = DaemonKinds.builtIn.shapes
        #expect(properties.map(\.0) == shapes.root.properties.map(\.name))
        for (tag, shape) in shapes.variants {
            guard case .object(let fields)? = schema["$defs"]?[tag]?["properties"] else {
                Issue.record("no $defs for \(tag)")
                continue
            }
            #expect(fields.map(\.0) == shape.properties.map(\.name))
        }
        #expect(schema["$schema"] == .string("https://json-schema.org/draft/2020-12/schema"))
    }

    @Test func configJSONHasTheManifestsKeysAndCanonicalValues() throws {
        let loaded = try load(
            """
            defaults: {stop_timeout: 3s}
            daemons:
              a: {kind: periodic, interval: 90s, command: [echo, "a b"], stop_signal: int}
              b: {kind: watcher, command: x, stop_timeout: 1m, log: {max_size: 1048576}}
            """
        )
        let json = ConfigRenderer(loaded).json
        guard case .object(let top) = json else {
            Issue.record("not an object")
            return
        }
        #expect(top.map(\.0) == ["version", "state_dir", "env", "reload", "auto_start", "daemons"])
        #expect(json["daemons"]?["a"]?["interval"] == .string("1m30s"))
        #expect(json["daemons"]?["a"]?["stop_timeout"] == .string("3s"))
        #expect(json["daemons"]?["b"]?["stop_timeout"] == .string("1m"))
        #expect(json["daemons"]?["a"]?["stop_signal"] == .string("SIGINT"))
        #expect(json["daemons"]?["a"]?["command"] == .array([.string("echo"), .string("a b")]))
        #expect(json["daemons"]?["b"]?["log"]?["max_size"] == .string("1MiB"))
        #expect(json["daemons"]?["b"]?["debounce"] == .string("100ms"))
        #expect(json["version"] == .int(1))
        #expect(json["daemons"]?["a"]?["enabled"] == .bool(true))
    }

    @Test func configYAMLReadsBackToTheSameManifest() throws {
        let original = try load(
            """
            env: {A: "yes", B: "1", C: "a: b", D: "#x", E: ""}
            daemons:
              a: {kind: periodic, cron: "*/5 * * * *", command: "echo 'x'", env: {T: "true"}}
              w: {kind: watcher, patterns: ["**/*.py", "{a,b}"], ignore: ["[ab]*"], command: [scan, --x=1]}
            """
        )
        let yaml = ConfigRenderer(original).renderYAML()
        let reloaded = try load(yaml)
        #expect(reloaded.manifest.daemons == original.manifest.daemons)
        #expect(reloaded.manifest.environment == original.manifest.environment)
    }

    @Test func examplesAndBadManifestsAgainstTheSchemaWithAnIndependentValidator() async throws {
        let script = """
            import json, os, sys, glob, yaml, jsonschema
            schema = json.load(open(sys.argv[1] + "/schemas/daemons.schema.json"))
            jsonschema.Draft202012Validator.check_schema(schema)
            validator = jsonschema.Draft202012Validator(schema)
            def own_package(path):  # an example that is a package of its own has kinds (and a schema) of its own
                folders = path.split("/examples/")[1].split("/")[:-1]
                return any(os.path.exists(os.path.join(sys.argv[1], "examples", *folders[:n], "Package.swift"))
                           for n in range(1, len(folders) + 1))
            for path in sorted(glob.glob(sys.argv[1] + "/examples/**/*.yaml", recursive=True)):
                if own_package(path) or path.split("/examples/")[1].startswith("kubernetes/"):
                    continue  # examples/kubernetes holds Kubernetes objects, not manifests
                errors = list(validator.iter_errors(yaml.safe_load(open(path))))
                print("good" if not errors else "bad", path.split("/examples/")[1], len(errors))
            bad = [
                {"daemons": {"a": {"kind": "periodic", "intervall": "5s", "command": "x"}}},
                {"daemons": {"a": {"kind": "watcher", "command": "x", "debounce": 5}}},
                {"daemons": {"a": {"kind": "rpc", "listen": "nowhere"}}},
                {"daemons": {"a": {"kind": "periodic", "interval": "5s", "cron": "@daily", "command": "x"}}},
                {"version": 2, "daemons": {}},
                {"daemons": {"a": {"kind": "nope"}}},
            ]
            for document in bad:
                print("rejected" if list(validator.iter_errors(document)) else "accepted", json.dumps(document))
            """
        let repository = Self.repository
        // Off the cooperative pool: a synchronous wait for Python would hold one of its two threads.
        let result = try await offPool { try TestProcess.run(["python3", "-c", script, repository]) }
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.filter { $0.hasPrefix("good ") }.count >= 2, "\(result.stdout)")
        #expect(!lines.contains { $0.hasPrefix("bad ") }, "\(result.stdout)")
        #expect(lines.filter { $0.hasPrefix("rejected ") }.count == 6, "\(result.stdout)")
    }
}
