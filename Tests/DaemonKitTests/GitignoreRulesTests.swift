import DaemonKit
import Testing

@Suite("GitignoreRules")
struct GitignoreRulesTests {
    /// The `.gitignore` files of a tree (folder → contents), a path, whether it is a folder, and whether git
    /// would ignore it.
    struct Case: CustomTestStringConvertible, Sendable {
        let files: [(base: String, contents: String)]
        let path: String
        let isDirectory: Bool
        let ignored: Bool

        init(_ contents: String, _ path: String, directory: Bool = false, _ ignored: Bool) {
            files = [("", contents)]
            self.path = path
            isDirectory = directory
            self.ignored = ignored
        }

        init(files: [(String, String)], _ path: String, directory: Bool = false, _ ignored: Bool) {
            self.files = files.map { (base: $0.0, contents: $0.1) }
            self.path = path
            isDirectory = directory
            self.ignored = ignored
        }

        var testDescription: String {
            "\(files.map { "\($0.base):\($0.contents.debugDescription)" }) \(path)\(isDirectory ? "/" : "") → \(ignored)"
        }

        func evaluate() -> Bool {
            var rules = GitignoreRules()
            for file in files { rules.add(contents: file.contents, base: file.base) }
            return rules.isIgnored(path, isDirectory: isDirectory)
        }
    }

    static let basicCases: [Case] = [
        Case("", "a.txt", false),
        Case("*.log", "a.log", true),
        Case("*.log", "deep/down/a.log", true),
        Case("*.log", "a.log.txt", false),
        Case("*.log", "logs", directory: true, false),
        Case("build", "build", directory: true, true),
        Case("build", "build", true),
        Case("build", "src/build", directory: true, true),
        Case("build", "builds", directory: true, false),
        Case("?.c", "a.c", true),
        Case("?.c", "ab.c", false),
        Case("[abc].txt", "b.txt", true),
        Case("[!abc].txt", "b.txt", false),
        Case("[^abc].txt", "d.txt", true),
        Case("*", ".hidden", true),
        Case("{a,b}", "a", false),
        Case("{a,b}", "{a,b}", true),
        Case("[z-a]x", "zx", true),
        Case("[z-a]x", "ax", false),
        Case("[z-ax]y", "xy", true),
        Case("[unclosed", "u", false),
        Case("[unclosed", "[unclosed", false),
        Case("a\\", "a", false),
    ]

    static let commentAndEscapeCases: [Case] = [
        Case("# comment", "# comment", false),
        Case("#*.log", "a.log", false),
        Case("\\#file", "#file", true),
        Case("\\!important", "!important", true),
        Case("\\!important", "important", false),
        Case("\n\n   \n*.o\n", "x.o", true),
        Case("*.o\r\n", "x.o", true),
        Case("\u{FEFF}*.o", "x.o", true),
        Case("a\\*b", "a*b", true),
        Case("a\\*b", "axb", false),
    ]

    static let trailingSpaceCases: [Case] = [
        Case("foo   ", "foo", true),
        Case("foo   ", "foo   ", false),
        Case("foo\\ ", "foo ", true),
        Case("foo\\ ", "foo", false),
        Case("foo\\  ", "foo ", true),
        Case("foo \\ ", "foo  ", true),
        Case("  foo", "  foo", true),
        Case("  foo", "foo", false),
    ]

    static let negationCases: [Case] = [
        Case("*.log\n!keep.log", "keep.log", false),
        Case("*.log\n!keep.log", "other.log", true),
        Case("!keep.log\n*.log", "keep.log", true),
        Case("*\n!*.py", "main.py", false),
        Case("*\n!*.py", "main.go", true),
        Case("*\n!*/", "src", directory: true, false),
        Case("*\n!*/", "src/a.txt", true),
        Case("!", "!", false),
    ]

    static let directoryOnlyCases: [Case] = [
        Case("logs/", "logs", directory: true, true),
        Case("logs/", "logs", false),
        Case("logs/", "app/logs", directory: true, true),
        Case("logs/", "app/logs", false),
        Case("/logs/", "app/logs", directory: true, false),
        Case("/logs/", "logs", directory: true, true),
        Case("a/b/", "a/b", directory: true, true),
        Case("a/b/", "a/b", false),
        Case("a/b/", "x/a/b", directory: true, false),
    ]

    static let anchoringCases: [Case] = [
        Case("/todo", "todo", true),
        Case("/todo", "sub/todo", false),
        Case("doc/frotz", "doc/frotz", true),
        Case("doc/frotz", "a/doc/frotz", false),
        Case("doc/*.txt", "doc/a.txt", true),
        Case("doc/*.txt", "doc/sub/a.txt", false),
        Case("frotz", "a/doc/frotz", true),
        Case("**/foo", "foo", true),
        Case("**/foo", "a/b/foo", true),
        Case("**/foo/bar", "x/foo/bar", true),
        Case("**/foo/bar", "foo/bar", true),
        Case("abc/**", "abc/x", true),
        Case("abc/**", "abc/x/y", true),
        Case("abc/**", "abc", directory: true, false),
        Case("a/**/b", "a/b", true),
        Case("a/**/b", "a/x/y/b", true),
        Case("a/**/b", "b", false),
        Case("a**b", "axxb", true),
        Case("a**b", "x/a/b", false),
    ]

    static let nestedCases: [Case] = [
        Case(files: [("", "*.log"), ("sub", "!keep.log")], "sub/keep.log", false),
        Case(files: [("", "*.log"), ("sub", "!keep.log")], "keep.log", true),
        Case(files: [("", "*.log"), ("sub", "!keep.log")], "other/keep.log", true),
        Case(files: [("sub", "!keep.log"), ("", "*.log")], "sub/keep.log", false),
        Case(files: [("sub", "*.tmp")], "sub/a.tmp", true),
        Case(files: [("sub", "*.tmp")], "a.tmp", false),
        Case(files: [("sub", "*.tmp")], "subway/a.tmp", false),
        Case(files: [("sub", "*.tmp")], "sub", directory: true, false),
        Case(files: [("sub", "/gen")], "sub/gen", directory: true, true),
        Case(files: [("sub", "/gen")], "sub/x/gen", directory: true, false),
        Case(files: [("sub", "/gen")], "gen", directory: true, false),
        Case(files: [("a/b", "x/y")], "a/b/x/y", true),
        Case(files: [("a/b", "x/y")], "a/x/y", false),
        Case(files: [("a/b/", "*.o")], "a/b/c.o", true),
        Case(files: [("", "!*.o"), ("a", "*.o")], "a/c.o", true),
    ]

    @Test(arguments: basicCases)
    func basics(_ item: Case) {
        #expect(item.evaluate() == item.ignored)
    }

    @Test(arguments: commentAndEscapeCases)
    func commentsAndEscapes(_ item: Case) {
        #expect(item.evaluate() == item.ignored)
    }

    @Test(arguments: trailingSpaceCases)
    func trailingSpaces(_ item: Case) {
        #expect(item.evaluate() == item.ignored)
    }

    @Test(arguments: negationCases)
    func negation(_ item: Case) {
        #expect(item.evaluate() == item.ignored)
    }

    @Test(arguments: directoryOnlyCases)
    func directoryOnly(_ item: Case) {
        #expect(item.evaluate() == item.ignored)
    }

    @Test(arguments: anchoringCases)
    func anchoring(_ item: Case) {
        #expect(item.evaluate() == item.ignored)
    }

    @Test(arguments: nestedCases)
    func nestedFiles(_ item: Case) {
        #expect(item.evaluate() == item.ignored)
    }

    @Test func emptyRulesIgnoreNothing() {
        let rules = GitignoreRules()
        #expect(!rules.isIgnored("a", isDirectory: false))
        #expect(!rules.isIgnored("a/b", isDirectory: true))
    }
}
