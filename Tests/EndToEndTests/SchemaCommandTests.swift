import Foundation
import OrchestrateTesting
import Testing

@Suite("schema")
struct SchemaCommandTests {
    @Test func outputEqualsTheCommittedSchema() async throws {
        let root = E2E.repositoryRoot()
        let result = try await E2E.run(["schema"], in: root)
        #expect(result.status == 0)
        let committed = try Data(contentsOf: URL(fileURLWithPath: root + "/schemas/daemons.schema.json"))
        #expect(Data(result.stdout.utf8) == committed)
        let document = try E2E.jsonObject(result.stdout)
        #expect(document["$schema"] as? String == "https://json-schema.org/draft/2020-12/schema")
    }

    /// docs/manifest.md and docs/cli.md are what `make docs` would write: the manifest's field tables match the
    /// kinds' shapes, and the commands' sections their definitions.
    @Test(arguments: ["docs/manifest.md", "docs/cli.md"])
    func theGeneratedManualIsCurrent(page: String) async throws {
        let root = E2E.repositoryRoot()
        let result = try await E2E.run(["reference", page], in: root)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let committed = try String(contentsOfFile: root + "/" + page, encoding: .utf8)
        #expect(result.stdout == committed, "\(page) is stale: run make docs")
    }

    @Test func schemaNeedsNoManifest() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let result = try await E2E.run(["schema"], in: directory.path)
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("{"))
    }

    /// Validates each YAML file against the schema with Python's jsonschema (the tests' Python, `E2E.python()`); prints
    /// `OK path` or `INVALID path`.
    private static let checker = """
        import json, sys, yaml, jsonschema
        schema = json.load(open(sys.argv[1]))
        jsonschema.Draft202012Validator.check_schema(schema)
        validator = jsonschema.Draft202012Validator(schema)
        for path in sys.argv[2:]:
            document = yaml.safe_load(open(path))
            errors = list(validator.iter_errors(document))
            print(("OK " if not errors else "INVALID ") + path)
        """

    private func check(_ files: [String], in directory: TemporaryDirectory) async throws -> CommandResult {
        let script = try directory.write("check.py", Self.checker)
        let schema = E2E.repositoryRoot() + "/schemas/daemons.schema.json"
        return try TestProcess.run([try E2E.python(), script, schema] + files)
    }

    @Test func examplesValidateAgainstTheSchema() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let root = E2E.repositoryRoot()
        let examples = E2E.exampleManifests().map { root + "/" + $0 }
        try #require(!examples.isEmpty)
        let result = try await check(examples, in: directory)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout == examples.map { "OK \($0)\n" }.joined())
    }

    @Test func badManifestsFailTheSchema() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let bad = [
            "misspelt.yaml": "daemons:\n  a: {kind: periodic, intervall: 5s, command: x}\n",
            "kind.yaml": "daemons:\n  a: {kind: periodc, interval: 5s, command: x}\n",
            "enum.yaml": "daemons:\n  a: {kind: periodic, interval: 5s, overlap: skp, command: x}\n",
            "duration.yaml": "daemons:\n  a: {kind: periodic, interval: fast, command: x}\n",
        ]
        var paths: [String] = []
        for (name, contents) in bad.sorted(by: { $0.key < $1.key }) {
            paths.append(try directory.write(name, contents))
            // The binary agrees that each is invalid.
            let validate = try await E2E.run(["-f", name, "validate"], in: directory.path)
            #expect(validate.status == 2, "\(name) passed validate")
        }
        let good = try directory.write("good.yaml", "daemons:\n  a: {kind: periodic, interval: 5s, command: x}\n")
        let result = try await check(paths + [good], in: directory)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout == paths.map { "INVALID \($0)\n" }.joined() + "OK \(good)\n")
    }
}
