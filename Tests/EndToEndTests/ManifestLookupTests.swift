import Foundation
import OrchestrateTesting
import Testing

/// The manifest is `-f`, else `$ORCHESTRATE_FILE`, else `./daemons.yaml`, else the nearest
/// `daemons.yaml` in a parent folder.
@Suite("manifest lookup")
struct ManifestLookupTests {
    /// A manifest whose summary names `count` process daemons, to tell the candidates apart.
    private static func manifest(_ count: Int) -> String {
        "daemons:\n" + (1...count).map { "  d\($0): {kind: process, command: x}\n" }.joined()
    }

    private static func summary(_ count: Int) -> String {
        "\(count) daemon\(count == 1 ? "" : "s"): \(count) process\n"
    }

    /// root/daemons.yaml (1), root/a/daemons.yaml (2), root/a/b/c (no manifest), root/other.yaml (3),
    /// root/env.yaml (4).
    private func makeTree() async throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory()
        try directory.write("daemons.yaml", Self.manifest(1))
        try directory.write("a/daemons.yaml", Self.manifest(2))
        try FileManager.default.createDirectory(atPath: directory.url("a/b/c"), withIntermediateDirectories: true)
        try directory.write("other.yaml", Self.manifest(3))
        try directory.write("env.yaml", Self.manifest(4))
        return directory
    }

    @Test func explicitFileComesFirst() async throws {
        let directory = try await makeTree()
        defer { directory.remove() }
        let result = try await E2E.run(
            ["-f", "other.yaml", "validate"],
            in: directory.path,
            environment: ["ORCHESTRATE_FILE": "env.yaml"]
        )
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout == Self.summary(3))
    }

    @Test func environmentComesBeforeTheCurrentFolder() async throws {
        let directory = try await makeTree()
        defer { directory.remove() }
        let result = try await E2E.run(["validate"], in: directory.path, environment: ["ORCHESTRATE_FILE": "env.yaml"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout == Self.summary(4))
    }

    @Test func emptyEnvironmentVariableIsIgnored() async throws {
        let directory = try await makeTree()
        defer { directory.remove() }
        let result = try await E2E.run(["validate"], in: directory.path, environment: ["ORCHESTRATE_FILE": ""])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout == Self.summary(1))
    }

    @Test func currentFolderComesBeforeParents() async throws {
        let directory = try await makeTree()
        defer { directory.remove() }
        let result = try await E2E.run(["validate"], in: directory.url("a"))
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout == Self.summary(2))
    }

    @Test func nearestParentIsFound() async throws {
        let directory = try await makeTree()
        defer { directory.remove() }
        let result = try await E2E.run(["validate"], in: directory.url("a/b/c"))
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout == Self.summary(2))
    }

    @Test func errorsOfAParentManifestNameItsFile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try directory.write("daemons.yaml", "daemons:\n  a: {kind: process, command: x, bogus: 1}\n")
        try FileManager.default.createDirectory(atPath: directory.url("x/y"), withIntermediateDirectories: true)
        let result = try await E2E.run(["validate"], in: directory.url("x/y"))
        #expect(result.status == 2)
        #expect(result.stderr.contains("daemons.yaml:2:34: daemons.a: unknown key 'bogus'"))
    }

    @Test func missingExplicitFile() async throws {
        let directory = try await makeTree()
        defer { directory.remove() }
        let result = try await E2E.run(["-f", "nothere.yaml", "validate"], in: directory.path)
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("nothere.yaml"))
        #expect(result.stderr.contains("does not exist"))
    }

    @Test func missingEnvironmentFile() async throws {
        let directory = try await makeTree()
        defer { directory.remove() }
        let result = try await E2E.run(
            ["validate"],
            in: directory.path,
            environment: ["ORCHESTRATE_FILE": "nothere.yaml"]
        )
        #expect(result.status == 2)
        #expect(result.stderr == "orchestrate: manifest 'nothere.yaml' (from ORCHESTRATE_FILE) does not exist\n")
    }

    @Test func noManifestAnywhere() async throws {
        // The filesystem root has no daemons.yaml (checked), so a lookup from / finds nothing.
        try #require(!FileManager.default.fileExists(atPath: "/daemons.yaml"))
        let result = try await E2E.run(["validate"], in: "/")
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr == "orchestrate: no daemons.yaml in / or any folder above it; name one with -f FILE\n")
    }

    @Test func aFolderIsNotAManifest() async throws {
        let directory = try await makeTree()
        defer { directory.remove() }
        let result = try await E2E.run(["-f", "a", "validate"], in: directory.path)
        #expect(result.status == 2)
        #expect(result.stderr.contains("is a folder"))
    }
}
