import DaemonKit
import Testing

@Suite("Glob")
struct GlobTests {
    /// A pattern, a path, and whether the pattern must match it.
    struct Case: CustomTestStringConvertible, Sendable {
        let pattern: String
        let path: String
        let matches: Bool
        init(_ pattern: String, _ path: String, _ matches: Bool) {
            self.pattern = pattern
            self.path = path
            self.matches = matches
        }
        var testDescription: String { "'\(pattern)' ~ '\(path)' → \(matches)" }
    }

    static let doubleStarCases: [Case] = [
        Case("**/*.py", "a.py", true),
        Case("**/*.py", "x/y/a.py", true),
        Case("**/*.py", "x/y/a.pyc", false),
        Case("src/**", "src", true),
        Case("src/**", "src/a", true),
        Case("src/**", "src/a/b", true),
        Case("src/**", "srcs/a", false),
        Case("src/**", "lib/src/a", false),
        Case("a/**/b", "a/b", true),
        Case("a/**/b", "a/x/b", true),
        Case("a/**/b", "a/x/y/b", true),
        Case("a/**/b", "a/x/y/c", false),
        Case("a/**/b", "b", false),
        Case("**", "", true),
        Case("**", "a", true),
        Case("**", "a/b/c", true),
        Case("**", ".hidden/x", true),
        Case("**/**/**/a", "a", true),
        Case("**/**/**/a", "x/y/z/w/a", true),
        Case("**/**/**/a", "x/y/z/w/b", false),
        Case("**/__pycache__/**", "__pycache__", true),
        Case("**/__pycache__/**", "pkg/__pycache__", true),
        Case("**/__pycache__/**", "pkg/__pycache__/m.pyc", true),
        Case("**/__pycache__/**", "pkg/cache/m.pyc", false),
        Case("a/**/b/**/c", "a/b/c", true),
        Case("a/**/b/**/c", "a/1/b/2/3/c", true),
        Case("a/**/b/**/c", "a/1/c", false),
        Case("a**b", "ab", true),
        Case("a**b", "axxb", true),
        Case("a**b", "a/b", false),
        Case("**a", "xa", true),
        Case("**a", "x/a", false),
    ]

    static let wildcardCases: [Case] = [
        Case("*", "a", true),
        Case("*", "", true),
        Case("*", "a/b", false),
        Case("*.py", "main.py", true),
        Case("*.py", ".py", true),
        Case("*.py", "src/main.py", false),
        Case("*", ".env", true),
        Case(".*", ".env", true),
        Case("*/*.go", "cmd/main.go", true),
        Case("*/*.go", "main.go", false),
        Case("a*b*c", "abc", true),
        Case("a*b*c", "a-b-c", true),
        Case("a*b*c", "a-c-b", false),
        Case("*a*a*a*a*b", String(repeating: "a", count: 60) + "b", true),
        Case("*a*a*a*a*b", String(repeating: "a", count: 60), false),
        Case("?", "a", true),
        Case("?", "", false),
        Case("?", "/", false),
        Case("?", "é", true),
        Case("a?c", "abc", true),
        Case("a?c", "ac", false),
        Case("a?c", "a/c", false),
        Case("???.txt", "abc.txt", true),
        Case("???.txt", "ab.txt", false),
        Case("main.py", "main.py", true),
        Case("main.py", "main.pyc", false),
        Case("src/main.py", "src/main.py", true),
        Case("src/main.py", "src/main.pyx", false),
    ]

    static let classCases: [Case] = [
        Case("[abc]", "b", true),
        Case("[abc]", "d", false),
        Case("[a-z]", "m", true),
        Case("[a-z]", "M", false),
        Case("[a-z0-9_]x", "_x", true),
        Case("[!a-z]", "M", true),
        Case("[!a-z]", "m", false),
        Case("[^a-z]", "5", true),
        Case("[^a-z]", "q", false),
        Case("[]]", "]", true),
        Case("[]a]", "a", true),
        Case("[]a]", "b", false),
        Case("[!]]", "a", true),
        Case("[!]]", "]", false),
        Case("[a-]", "-", true),
        Case("[-a]", "-", true),
        Case("[\\]]", "]", true),
        Case("[\\-]", "-", true),
        Case("[{}]", "{", true),
        Case("[*]", "*", true),
        Case("[*]", "x", false),
        Case("[!/]", "/", false),
        Case("file[0-9].log", "file7.log", true),
        Case("file[0-9].log", "filex.log", false),
    ]

    static let braceCases: [Case] = [
        Case("{a,b,c}", "b", true),
        Case("{a,b,c}", "d", false),
        Case("*.{py,pyi}", "m.py", true),
        Case("*.{py,pyi}", "m.pyi", true),
        Case("*.{py,pyi}", "m.pyc", false),
        Case("{a,b{c,d}}", "a", true),
        Case("{a,b{c,d}}", "bc", true),
        Case("{a,b{c,d}}", "bd", true),
        Case("{a,b{c,d}}", "b", false),
        Case("{src,lib}/**/*.go", "src/x/y.go", true),
        Case("{src,lib}/**/*.go", "lib/y.go", true),
        Case("{src,lib}/**/*.go", "cmd/y.go", false),
        Case("{a/b,c}/d", "a/b/d", true),
        Case("{a/b,c}/d", "c/d", true),
        Case("{a/b,c}/d", "a/d", false),
        Case("x{,.bak}", "x", true),
        Case("x{,.bak}", "x.bak", true),
        Case("{}", "", true),
        Case("a,b", "a,b", true),
        Case("{[ab],c*}", "cat", true),
        Case("{[ab],c*}", "b", true),
        Case("{[ab],c*}", "d", false),
    ]

    static let escapeCases: [Case] = [
        Case("\\*", "*", true),
        Case("\\*", "a", false),
        Case("a\\*b", "a*b", true),
        Case("a\\*b", "axb", false),
        Case("\\{a,b\\}", "{a,b}", true),
        Case("\\{a,b\\}", "a", false),
        Case("\\[ab]", "[ab]", true),
        Case("\\[ab]", "a", false),
        Case("\\?", "?", true),
        Case("\\?", "x", false),
        Case("\\a", "a", true),
        Case("\\*\\*/x", "**/x", true),
        Case("\\*\\*/x", "y/x", false),
        Case("a\\\\b", "a\\b", true),
    ]

    @Test(arguments: doubleStarCases)
    func doubleStar(_ item: Case) throws {
        #expect(try Glob(item.pattern).matches(item.path) == item.matches)
    }

    @Test(arguments: wildcardCases)
    func wildcards(_ item: Case) throws {
        #expect(try Glob(item.pattern).matches(item.path) == item.matches)
    }

    @Test(arguments: classCases)
    func characterClasses(_ item: Case) throws {
        #expect(try Glob(item.pattern).matches(item.path) == item.matches)
    }

    @Test(arguments: braceCases)
    func braces(_ item: Case) throws {
        #expect(try Glob(item.pattern).matches(item.path) == item.matches)
    }

    @Test(arguments: escapeCases)
    func escapes(_ item: Case) throws {
        #expect(try Glob(item.pattern).matches(item.path) == item.matches)
    }

    /// A malformed pattern, the start of its message and its offset.
    struct Malformed: CustomTestStringConvertible, Sendable {
        let pattern: String
        let message: String
        let offset: Int
        var testDescription: String { "'\(pattern)'" }
    }

    static let malformedCases: [Malformed] = [
        Malformed(pattern: "", message: "empty pattern", offset: 0),
        Malformed(pattern: "[abc", message: "unclosed character class '[' (missing ']')", offset: 0),
        Malformed(pattern: "src/[a-z", message: "unclosed character class '[' (missing ']')", offset: 4),
        Malformed(pattern: "x[\\", message: "unclosed character class '[' (missing ']')", offset: 1),
        Malformed(pattern: "a[]", message: "empty character class '[]'", offset: 1),
        Malformed(pattern: "[!]", message: "empty character class '[!]'", offset: 0),
        Malformed(pattern: "[^]", message: "empty character class '[^]'", offset: 0),
        Malformed(pattern: "{a,b", message: "unclosed brace '{' (missing '}')", offset: 0),
        Malformed(pattern: "x/{a,{b,c}", message: "unclosed brace '{' (missing '}')", offset: 2),
        Malformed(pattern: "a}", message: "unmatched closing brace '}'", offset: 1),
        Malformed(pattern: "{a,b}}", message: "unmatched closing brace '}'", offset: 5),
        Malformed(pattern: "abc\\", message: "trailing backslash escapes nothing", offset: 3),
        Malformed(pattern: "{a,b\\", message: "trailing backslash escapes nothing", offset: 4),
        Malformed(pattern: "[z-a]", message: "inverted range 'z-a' in character class", offset: 1),
        Malformed(pattern: "x[!09-1]", message: "inverted range '9-1' in character class", offset: 4),
        Malformed(
            pattern: String(repeating: "{a,b}", count: 11),
            message: "brace expansion produces more than 1024 alternatives",
            offset: 50
        ),
    ]

    @Test(arguments: malformedCases)
    func malformedPatternsThrow(_ item: Malformed) {
        let error = #expect(throws: DaemonKitError.self) { try Glob(item.pattern) }
        #expect(error?.code == .invalidGlob)
        #expect(error?.message == item.message)
        #expect(error?.offset == item.offset)
    }

    @Test func braceExpansionAtTheCapCompiles() throws {
        let glob = try Glob(String(repeating: "{a,b}", count: 10))
        #expect(glob.matches("abababbbba"))
        #expect(!glob.matches("abababbbb"))
    }

    @Test func pathologicalPatternsFinish() throws {
        let long = String(repeating: "a", count: 5_000)
        #expect(try !Glob("*a*a*a*a*a*a*a*a*a*b").matches(long))
        let deep = Array(repeating: "a", count: 300).joined(separator: "/")
        #expect(try !Glob("**/**/**/**/**/**/**/**/b").matches(deep))
        #expect(try Glob("**/**/**/**/**/**/**/**/a").matches(deep))
        #expect(try !Glob("{a,**}/{a,**}/{a,**}/{a,**}/**/a*a*a*a*c").matches(deep + "/" + long))
    }

    /// A pattern and its literal prefix.
    @Test(arguments: [
        ("src/**/*.py", "src"),
        ("*.py", ""),
        ("src/lib/*.go", "src/lib"),
        ("src/main.py", "src"),
        ("main.py", ""),
        ("src/**", "src"),
        ("{src,lib}/**", ""),
        ("a/b\\*/c", "a"),
        ("a/[bc]/d", "a"),
    ])
    func literalPrefix(_ pattern: String, _ prefix: String) throws {
        #expect(try Glob(pattern).literalPrefix == prefix)
    }

    @Test func equalityHashingAndDescriptionFollowThePattern() throws {
        let one = try Glob("**/*.py")
        let two = try Glob("**/*.py")
        let other = try Glob("**/*.pyi")
        #expect(one == two)
        #expect(one != other)
        #expect(Set([one, two, other]).count == 2)
        #expect(one.description == "**/*.py")
        #expect(one.pattern == "**/*.py")
    }

    @Test func messagesReadWellAfterAPrefix() {
        let error = #expect(throws: DaemonKitError.self) { try Glob("[abc") }
        #expect(error?.description == "unclosed character class '[' (missing ']') (at offset 0)")
        #expect(error?.message.first?.isLowercase == true)
    }
}
