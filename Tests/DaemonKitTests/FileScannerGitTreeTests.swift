import DaemonKit
import Foundation
import OrchestrateTesting
import Testing

/// `gitignore: true` inside a git work tree: the `.gitignore` files above the watched folder apply, the way
/// `git status` reads them, with deeper files taking precedence.
@Suite("FileScanner in a git work tree", .ownThread)
struct FileScannerGitTreeTests {
    private typealias Tree = FileScannerTests.Tree

    private func tree() throws -> Tree {
        try Tree([
            ".git/HEAD": "ref: refs/heads/main\n",
            ".gitignore": "*.log\nbuild/\n/top-only.txt\n",
            "app/.gitignore": "secret.py\n!keep.log\n",
            "app/src/main.py": "",
            "app/src/secret.py": "",
            "app/src/debug.log": "",
            "app/src/keep.log": "",
            "app/src/build/out.py": "",
            "app/src/top-only.txt": "",
            "app/src/sub/.gitignore": "local.py\n",
            "app/src/sub/local.py": "",
            "app/src/sub/ok.py": "",
            "top-only.txt": "",
        ])
    }

    @Test func ancestorRulesApplyBelowTheWatchedFolder() throws {
        let tree = try tree()
        let scanner = FileScanner(.init(paths: [tree.path("app/src")], gitignore: true))
        let files = try scanner.scan().map { String($0.dropFirst(tree.root.count + 1)) }
        #expect(
            files == [
                "app/src/keep.log", "app/src/main.py", "app/src/sub/.gitignore", "app/src/sub/ok.py",
                "app/src/top-only.txt",
            ]
        )
        for file in try FileScanner(.init(paths: [tree.path("app/src")])).scan() {
            let listed = files.contains(String(file.dropFirst(tree.root.count + 1)))
            #expect(scanner.covers(file, isDirectory: false) == listed, "\(file)")
        }
        #expect(scanner.covers(tree.path("app/src/build"), isDirectory: true) == false)
        #expect(scanner.covers(tree.path("app/src/sub"), isDirectory: true))
    }

    @Test func withoutAWorkTreeOnlyTheWatchedFoldersOwnRulesApply() throws {
        let tree = try tree()
        try FileManager.default.removeItem(atPath: tree.path(".git"))
        let files = try FileScanner(.init(paths: [tree.path("app/src")], gitignore: true)).scan()
            .map { String($0.dropFirst(tree.root.count + 1)) }
        #expect(files.contains("app/src/debug.log"))
        #expect(files.contains("app/src/secret.py"))
        #expect(!files.contains("app/src/sub/local.py"))
    }

    @Test func theWorkTreeRootItself() throws {
        let tree = try tree()
        let files = try FileScanner(.init(paths: [tree.root], gitignore: true)).scan()
            .map { String($0.dropFirst(tree.root.count + 1)) }
        #expect(files.contains("app/src/top-only.txt"))
        #expect(!files.contains("top-only.txt"))
        #expect(!files.contains("app/src/debug.log"))
        #expect(files.contains("app/src/keep.log"))
        #expect(!files.contains { $0.hasPrefix(".git/") })
    }
}
