import DaemonKit
import Foundation
import OrchestrateTesting
import Testing

@Suite("FileScanner", .ownThread)
struct FileScannerTests {
    /// A real folder under the temporary directory, removed when the test is done with it.
    final class Tree {
        let root: String

        init(_ files: [String: String] = [:]) throws {
            let base = FileManager.default.temporaryDirectory.appendingPathComponent("scanner-\(UUID().uuidString)")
            root = base.path
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            for (path, contents) in files { try write(path, contents) }
        }

        deinit { try? FileManager.default.removeItem(atPath: root) }

        func path(_ relative: String) -> String { root + "/" + relative }

        func write(_ relative: String, _ contents: String = "") throws {
            let url = URL(fileURLWithPath: path(relative))
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(),
                withIntermediateDirectories: true
            )
            try Data(contents.utf8).write(to: url)
        }

        func folder(_ relative: String) throws {
            try FileManager.default.createDirectory(atPath: path(relative), withIntermediateDirectories: true)
        }

        func link(_ relative: String, to destination: String) throws {
            try FileManager.default.createSymbolicLink(atPath: path(relative), withDestinationPath: destination)
        }

        /// Every regular file and link under the root, as relative paths, found independently of the scanner.
        func allEntries() -> [(path: String, isDirectory: Bool)] {
            var result: [(String, Bool)] = []
            let enumerator = FileManager.default.enumerator(atPath: root)
            while let relative = enumerator?.nextObject() as? String {
                var isDirectory: ObjCBool = false
                let attributes = try? FileManager.default.attributesOfItem(atPath: path(relative))
                let isLink = attributes?[.type] as? FileAttributeType == .typeSymbolicLink
                _ = FileManager.default.fileExists(atPath: path(relative), isDirectory: &isDirectory)
                result.append((relative, isDirectory.boolValue && !isLink))
            }
            return result
        }
    }

    static func globs(_ patterns: [String]) throws -> [Glob] {
        try patterns.map { try Glob($0) }
    }

    static let sampleFiles: [String: String] = [
        "main.py": "",
        "README.md": "",
        ".env": "",
        "src/app.py": "",
        "src/app.pyi": "",
        "src/util/strings.py": "",
        "src/util/__pycache__/strings.cpython.pyc": "",
        "src/__pycache__/app.cpython.pyc": "",
        "build/out.py": "",
        "build/deep/x.py": "",
        "docs/index.md": "",
        "logs/app.log": "",
        "logs/keep.log": "",
        ".git/config": "",
        ".git/objects/ab/cdef": "",
        "vendor/lib/a.py": "",
        "vendor/.gitignore": "*.py\n!keep.py\n",
        "vendor/lib/keep.py": "",
        ".gitignore": "*.log\n!keep.log\n/build/\ndocs/\n",
    ]

    /// Patterns, ignores and gitignore, and the relative paths the scan must list.
    struct Scenario: CustomTestStringConvertible, Sendable {
        let name: String
        let patterns: [String]
        let ignore: [String]
        let gitignore: Bool
        let expected: [String]
        var testDescription: String { name }
    }

    static let scenarios: [Scenario] = [
        Scenario(
            name: "everything except .git",
            patterns: [],
            ignore: [],
            gitignore: false,
            expected: [
                ".env", ".gitignore", "README.md", "build/deep/x.py", "build/out.py", "docs/index.md", "logs/app.log",
                "logs/keep.log", "main.py", "src/__pycache__/app.cpython.pyc", "src/app.py", "src/app.pyi",
                "src/util/__pycache__/strings.cpython.pyc", "src/util/strings.py", "vendor/.gitignore",
                "vendor/lib/a.py", "vendor/lib/keep.py",
            ]
        ),
        Scenario(
            name: "python files with pruned folders",
            patterns: ["**/*.{py,pyi}"],
            ignore: ["**/__pycache__/**", "build/**", "vendor"],
            gitignore: false,
            expected: ["main.py", "src/app.py", "src/app.pyi", "src/util/strings.py"]
        ),
        Scenario(
            name: "top-level files only",
            patterns: ["*"],
            ignore: [".*"],
            gitignore: false,
            expected: ["README.md", "main.py"]
        ),
        Scenario(
            name: "gitignore root and nested",
            patterns: [],
            ignore: ["**/__pycache__"],
            gitignore: true,
            expected: [
                ".env", ".gitignore", "README.md", "logs/keep.log", "main.py", "src/app.py", "src/app.pyi",
                "src/util/strings.py", "vendor/.gitignore", "vendor/lib/keep.py",
            ]
        ),
        Scenario(
            name: "gitignore with patterns",
            patterns: ["src/**/*.py", "**/*.log"],
            ignore: [],
            gitignore: true,
            expected: ["logs/keep.log", "src/app.py", "src/util/strings.py"]
        ),
    ]

    @Test(arguments: scenarios)
    func scanListsCoveredFiles(_ scenario: Scenario) throws {
        let tree = try Tree(Self.sampleFiles)
        let scanner = FileScanner(
            .init(
                paths: [tree.root],
                patterns: try Self.globs(scenario.patterns),
                ignore: try Self.globs(scenario.ignore),
                gitignore: scenario.gitignore
            )
        )
        let files = try scanner.scan()
        #expect(files == scenario.expected.map(tree.path).sorted())
        #expect(files == files.sorted())

        // covers must agree with the scan for every file of the tree, and admit every folder holding one.
        let listed = Set(files)
        for entry in tree.allEntries() {
            let absolute = tree.path(entry.path)
            if entry.isDirectory {
                if listed.contains(where: { $0.hasPrefix(absolute + "/") }) {
                    #expect(scanner.covers(absolute, isDirectory: true), "\(entry.path)")
                }
            } else {
                #expect(scanner.covers(absolute, isDirectory: false) == listed.contains(absolute), "\(entry.path)")
            }
        }
    }

    @Test func coversAnswersForFoldersAndOutsidePaths() throws {
        let tree = try Tree(Self.sampleFiles)
        let scanner = FileScanner(
            .init(paths: [tree.root + "/"], ignore: try Self.globs(["**/__pycache__/**"]), gitignore: true)
        )
        #expect(scanner.covers(tree.root, isDirectory: true))
        #expect(scanner.covers(tree.path("src"), isDirectory: true))
        #expect(scanner.covers(tree.path("src/util"), isDirectory: true))
        #expect(!scanner.covers(tree.path("src/__pycache__"), isDirectory: true))
        #expect(!scanner.covers(tree.path(".git"), isDirectory: true))
        #expect(!scanner.covers(tree.path(".git/objects"), isDirectory: true))
        #expect(!scanner.covers(tree.path(".git/config"), isDirectory: false))
        #expect(!scanner.covers(tree.path("build"), isDirectory: true))
        #expect(!scanner.covers(tree.path("docs"), isDirectory: true))
        #expect(!scanner.covers(tree.path("docs/new.md"), isDirectory: false))
        #expect(scanner.covers(tree.path("logs"), isDirectory: true))
        #expect(scanner.covers(tree.path("src/new.py"), isDirectory: false))
        #expect(!scanner.covers(tree.path("src/new.log"), isDirectory: false))
        #expect(!scanner.covers(tree.root + "-other/a.py", isDirectory: false))
        #expect(!scanner.covers("/elsewhere/a.py", isDirectory: false))
    }

    @Test func symlinksToFilesAreListedAndLinkedFoldersAreNotFollowed() throws {
        let tree = try Tree(["a/file.txt": "x", "a/b/inner.txt": "y"])
        try tree.link("a/b/loop", to: tree.path("a"))
        try tree.link("a/relative-loop", to: ".")
        try tree.link("a/alias.txt", to: "file.txt")
        try tree.link("a/dangling.txt", to: "missing.txt")
        let scanner = FileScanner(.init(paths: [tree.root]))
        let files = try scanner.scan()
        #expect(files == ["a/alias.txt", "a/b/inner.txt", "a/file.txt"].map(tree.path))
        #expect(!scanner.covers(tree.path("a/b/loop/file.txt"), isDirectory: false))
        #expect(!scanner.covers(tree.path("a/b/loop"), isDirectory: true))
        #expect(scanner.covers(tree.path("a/alias.txt"), isDirectory: false))
    }

    @Test func missingPathThrows() throws {
        let tree = try Tree()
        let missing = tree.path("nope")
        let scanner = FileScanner(.init(paths: [tree.root, missing]))
        let error = #expect(throws: DaemonKitError.self) { try scanner.scan() }
        #expect(error?.code == .fileSystem)
        #expect(error?.message == "watch path '\(missing)' does not exist")
        #expect(error?.errno == ENOENT)
    }

    @Test func filePathCoversJustThatFile() throws {
        let tree = try Tree(["one.py": "", "two.py": "", "notes.txt": ""])
        let only = FileScanner(.init(paths: [tree.path("one.py")]))
        #expect(try only.scan() == [tree.path("one.py")])
        #expect(only.covers(tree.path("one.py"), isDirectory: false))
        #expect(!only.covers(tree.path("two.py"), isDirectory: false))

        let filtered = FileScanner(.init(paths: [tree.path("notes.txt")], patterns: try Self.globs(["*.py"])))
        #expect(try filtered.scan() == [])
        #expect(!filtered.covers(tree.path("notes.txt"), isDirectory: false))
    }

    @Test func overlappingPathsAreListedOnce() throws {
        let tree = try Tree(["a/x.txt": "", "a/b/y.txt": "", "z.txt": ""])
        let scanner = FileScanner(.init(paths: [tree.root, tree.path("a"), tree.path("a/b/y.txt")]))
        #expect(try scanner.scan() == ["a/b/y.txt", "a/x.txt", "z.txt"].map(tree.path))
    }

    @Test func patternsMatchRelativeToEachPath() throws {
        let tree = try Tree(["a/src/m.go": "", "b/src/n.go": "", "b/m.go": ""])
        let scanner = FileScanner(
            .init(paths: [tree.path("a"), tree.path("b")], patterns: try Self.globs(["src/*.go"]))
        )
        #expect(try scanner.scan() == ["a/src/m.go", "b/src/n.go"].map(tree.path))
        #expect(!scanner.covers(tree.path("b/m.go"), isDirectory: false))
    }

    @Test func nestedGitignoreAppliesOnlyBeneathItsFolder() throws {
        let tree = try Tree([
            "one/.gitignore": "*.tmp\n",
            "one/a.tmp": "",
            "one/deeper/b.tmp": "",
            "two/c.tmp": "",
            "c.tmp": "",
        ])
        let scanner = FileScanner(.init(paths: [tree.root], patterns: try Self.globs(["**/*.tmp"]), gitignore: true))
        #expect(try scanner.scan() == ["c.tmp", "two/c.tmp"].map(tree.path))
        #expect(!scanner.covers(tree.path("one/deeper/new.tmp"), isDirectory: false))
        #expect(scanner.covers(tree.path("two/new.tmp"), isDirectory: false))
    }

    @Test func excludedFolderCannotBeReincluded() throws {
        let tree = try Tree([".gitignore": "out/\n!out/keep.txt\n", "out/keep.txt": "", "in/keep.txt": ""])
        let scanner = FileScanner(.init(paths: [tree.root], patterns: try Self.globs(["**/keep.txt"]), gitignore: true))
        #expect(try scanner.scan() == [tree.path("in/keep.txt")])
        #expect(!scanner.covers(tree.path("out/keep.txt"), isDirectory: false))
    }

    @Test func largeTreeScans() throws {
        var files: [String: String] = [:]
        for folder in 0..<100 {
            for file in 0..<100 { files["d\(folder % 10)/e\(folder)/f\(file).\(file % 2 == 0 ? "py" : "txt")"] = "" }
        }
        let tree = try Tree(files)
        let scanner = FileScanner(.init(paths: [tree.root], patterns: try Self.globs(["**/*.py"]), gitignore: true))
        let scanned = try scanner.scan()
        #expect(scanned.count == 5_000)
        #expect(scanned.allSatisfy { $0.hasSuffix(".py") })
    }
}
