import Foundation
import OrchestrateTesting
import Testing

/// Shared helpers of the end-to-end tests: every test runs the built `orchestrate` binary on its own files.
enum E2E {
    /// The repository's root folder, found from this file's path (Tests/EndToEndTests/Support.swift).
    static func repositoryRoot(_ file: String = #filePath) -> String {
        var url = URL(fileURLWithPath: file)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }

    /// A small, fixed environment for the child: nothing of the test process's own `ORCHESTRATE…`
    /// variables leaks in, and `extra` is added on top.
    static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var base: [String: String] = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        if let home = ProcessInfo.processInfo.environment["HOME"] { base["HOME"] = home }
        return base.merging(extra) { _, new in new }
    }

    /// Runs `orchestrate arguments` in `directory` with ``environment(_:)`` plus `extra`.
    static func run(
        _ arguments: [String],
        in directory: String,
        environment extra: [String: String] = [:]
    ) throws -> CommandResult {
        let result = try TestProcess.orchestrate(arguments, in: directory, environment: environment(extra))
        recordStatusDocument(arguments, result)
        return result
    }

    /// The same, for async tests: the wait happens on a thread of its own, so it does not hold one of the few
    /// threads of the cooperative pool (one per core) that every asynchronous test shares.
    static func run(
        _ arguments: [String],
        in directory: String,
        environment extra: [String: String] = [:]
    ) async throws -> CommandResult {
        let environment = environment(extra)
        let result = try await offPool {
            try TestProcess.orchestrate(arguments, in: directory, environment: environment)
        }
        recordStatusDocument(arguments, result)
        return result
    }

    /// What `status --json` printed (the body of its `GET /v1/status`, as the supervisor wrote it) goes to the record
    /// of exchanges, so the status documents of every scenario are checked against the API's description too.
    private static func recordStatusDocument(_ arguments: [String], _ result: CommandResult) {
        guard result.status == 0, arguments.suffix(2) == ["status", "--json"] else { return }
        ExchangeLog.recordStatusCommand(result.stdout)
    }

    /// Writes `manifest` as `daemons.yaml` in a new folder, runs `body`, then removes the folder.
    static func withManifest<T>(
        _ manifest: String,
        _ body: (TemporaryDirectory) throws -> T
    ) throws -> T {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try directory.write("daemons.yaml", manifest)
        return try body(directory)
    }

    /// The same, for async tests.
    static func withManifest<T>(
        _ manifest: String,
        _ body: (TemporaryDirectory) async throws -> T
    ) async throws -> T {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try directory.write("daemons.yaml", manifest)
        return try await body(directory)
    }

    /// The Python with the tests' tools (jsonschema, PyYAML): `ORCHESTRATE_TEST_PYTHON`, which `make test` sets, else
    /// the virtual environment `make venv` makes in the package's .build/venv. Never the system's Python, which need
    /// not have them.
    static func python() throws -> String {
        if let path = ProcessInfo.processInfo.environment["ORCHESTRATE_TEST_PYTHON"], !path.isEmpty { return path }
        let path = repositoryRoot() + "/.build/venv/bin/python"
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw MissingTool(
                description: "the tests' Python tools are missing: run `make venv`, which installs "
                    + "Tests/python-requirements.txt into .build/venv (or set ORCHESTRATE_TEST_PYTHON)"
            )
        }
        return path
    }

    /// A tool the tests need is not installed.
    struct MissingTool: Error, CustomStringConvertible {
        var description: String
    }

    /// Parses `text` as one JSON object.
    static func jsonObject(_ text: String) throws -> [String: Any] {
        let value = try JSONSerialization.jsonObject(with: Data(text.utf8))
        return try #require(value as? [String: Any], "expected a JSON object, got: \(text.prefix(200))")
    }

    /// The `daemons.NAME` object of a `config --json` document.
    static func daemon(_ name: String, in document: [String: Any]) throws -> [String: Any] {
        let daemons = try #require(document["daemons"] as? [String: Any])
        return try #require(daemons[name] as? [String: Any], "no daemon '\(name)' in \(daemons.keys.sorted())")
    }

    /// The error lines of an invalid-manifest report: the indented lines after the header.
    static func errorLines(_ stderr: String) -> [String] {
        stderr.split(separator: "\n").filter { $0.hasPrefix("  ") }.map {
            String($0.dropFirst(2))
        }
    }

    /// Every YAML file under examples/, relative to the repository root, sorted; hidden folders (a build's
    /// `.build`), examples that are packages of their own (with kinds, and a schema, of their own) and
    /// examples/kubernetes (Kubernetes objects, not manifests) left out.
    static func exampleManifests() -> [String] {
        let root = repositoryRoot()
        let examples = (root as NSString).appendingPathComponent("examples")
        let enumerator = FileManager.default.enumerator(atPath: examples)
        var found: [String] = []
        while let relative = enumerator?.nextObject() as? String {
            let name = (relative as NSString).lastPathComponent
            let ownPackage = FileManager.default.fileExists(atPath: examples + "/" + relative + "/Package.swift")
            if name.hasPrefix(".") || ownPackage || relative == "kubernetes" {
                enumerator?.skipDescendants()
            } else if relative.hasSuffix(".yaml") || relative.hasSuffix(".yml") {
                found.append("examples/" + relative)
            }
        }
        return found.sorted()
    }
}
