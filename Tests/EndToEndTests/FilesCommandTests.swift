import Foundation
import OrchestrateTesting
import Testing

@Suite("files")
struct FilesCommandTests {
    /// A project with nested folders, Python files, caches, generated files and a .gitignore.
    private func makeTree(_ manifest: String) async throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory()
        try directory.write("daemons.yaml", manifest)
        for file in [
            "src/main.py", "src/a/x.py", "src/a/b/y.py", "src/a/b/z.txt", "src/a/b/types.pyi",
            "src/__pycache__/c.py", "src/a/__pycache__/d.py", "src/build/gen.py", "src/a/secret.py", "docs/d.py",
            "other/e.py",
        ] {
            try directory.write(file, "# \(file)\n")
        }
        try directory.write("src/.gitignore", "# generated\nbuild/\nsecret.py\n")
        return directory
    }

    private static let watcher = """
        daemons:
          w:
            kind: watcher
            paths: [src]
            patterns: ["**/*.py"]
            ignore: ["**/__pycache__/**"]
            gitignore: GITIGNORE
            command: [echo]
          p:
            kind: periodic
            interval: 1s
            command: [echo]

        """

    @Test func patternsIgnoreAndGitignore() async throws {
        let directory = try await makeTree(Self.watcher.replacingOccurrences(of: "GITIGNORE", with: "true"))
        defer { directory.remove() }
        let result = try await E2E.run(["files", "w"], in: directory.path)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout == "src/a/b/y.py\nsrc/a/x.py\nsrc/main.py\n")
    }

    @Test func withoutGitignoreTheIgnoredFilesAreListed() async throws {
        let directory = try await makeTree(Self.watcher.replacingOccurrences(of: "GITIGNORE", with: "false"))
        defer { directory.remove() }
        let result = try await E2E.run(["files", "w"], in: directory.path)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout == "src/a/b/y.py\nsrc/a/secret.py\nsrc/a/x.py\nsrc/build/gen.py\nsrc/main.py\n")
    }

    @Test func outputIsRelativeToTheManifestFromASubfolder() async throws {
        let directory = try await makeTree(Self.watcher.replacingOccurrences(of: "GITIGNORE", with: "true"))
        defer { directory.remove() }
        let result = try await E2E.run(["files", "w"], in: directory.url("src/a/b"))
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout == "src/a/b/y.py\nsrc/a/x.py\nsrc/main.py\n")
        let fromOutside = try await E2E.run(["-f", directory.url("daemons.yaml"), "files", "w"], in: "/")
        #expect(fromOutside.stdout == result.stdout)
    }

    @Test func severalPathsAndPatternsRelativeToEachPath() async throws {
        let manifest = """
            daemons:
              w:
                kind: watcher
                paths: [src, docs]
                patterns: ["*.py", "**/*.pyi"]
                command: [echo]

            """
        let directory = try await makeTree(manifest)
        defer { directory.remove() }
        let result = try await E2E.run(["files", "w"], in: directory.path)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines == lines.sorted())
        #expect(lines == ["docs/d.py", "src/a/b/types.pyi", "src/main.py"])
    }

    @Test func pathsAreRelativeToCwd() async throws {
        let manifest = """
            daemons:
              w:
                kind: watcher
                cwd: src
                paths: [a/b]
                command: [echo]

            """
        let directory = try await makeTree(manifest)
        defer { directory.remove() }
        let result = try await E2E.run(["files", "w"], in: directory.path)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout == "src/a/b/types.pyi\nsrc/a/b/y.py\nsrc/a/b/z.txt\n")
    }

    @Test func theExampleWatcher() async throws {
        let result = try await E2E.run(
            ["-f", "examples/daemons.yaml", "files", "code-atlas"],
            in: E2E.repositoryRoot()
        )
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("src/main.py"))
        #expect(lines.allSatisfy { $0.hasPrefix("src/") && $0.hasSuffix(".py") && !$0.contains("__pycache__") })
        #expect(lines == lines.sorted())
    }

    @Test func nonWatcherIsAUsageError() async throws {
        let directory = try await makeTree(Self.watcher.replacingOccurrences(of: "GITIGNORE", with: "true"))
        defer { directory.remove() }
        let result = try await E2E.run(["files", "p"], in: directory.path)
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr == "orchestrate: 'p' is a periodic daemon; files lists what a watcher covers\n")
    }

    @Test func unknownNameSuggestsOne() async throws {
        let directory = try await makeTree(Self.watcher.replacingOccurrences(of: "GITIGNORE", with: "true"))
        defer { directory.remove() }
        let result = try await E2E.run(["files", "ww"], in: directory.path)
        #expect(result.status == 2)
        #expect(result.stderr == "orchestrate: no daemon named 'ww'; did you mean 'w'?\n")
    }

    @Test func missingNameIsAUsageError() async throws {
        let directory = try await makeTree(Self.watcher.replacingOccurrences(of: "GITIGNORE", with: "true"))
        defer { directory.remove() }
        let result = try await E2E.run(["files"], in: directory.path)
        #expect(result.status == 2)
        #expect(result.stderr.contains("Missing expected argument"))
    }
}
