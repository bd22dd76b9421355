import Testing

@testable import Manifest

private func parseEnv(
    _ contents: String,
    _ environment: [String: String] = [:]
) throws(DotEnvError) -> [DotEnvTests.Entry] {
    try DotEnv.parse(contents) { environment[$0] }.map { DotEnvTests.Entry($0.key, $0.value) }
}

@Suite struct DotEnvTests {
    /// One parsed entry, comparable in expectations.
    struct Entry: Equatable, Sendable, CustomStringConvertible {
        var key: String
        var value: String
        var description: String { "\(key)=\(value.debugDescription)" }

        init(_ key: String, _ value: String) {
            self.key = key
            self.value = value
        }
    }

    /// One `KEY=…` line and the value it should give.
    struct ValueCase: Sendable, CustomTestStringConvertible {
        var line: String
        var value: String
        var testDescription: String { line.debugDescription }

        init(_ line: String, _ value: String) {
            self.line = line
            self.value = value
        }
    }

    /// A file that must fail, and how.
    struct DotEnvErrorCase: Sendable, CustomTestStringConvertible {
        var contents: String
        var error: DotEnvError
        var testDescription: String { contents.debugDescription }

        init(_ contents: String, _ message: String, line: Int, column: Int) {
            self.contents = contents
            self.error = DotEnvError(message: message, line: line, column: column)
        }
    }

    @Test func `comments, blank lines, export and separators`() throws {
        let contents = """
            # a comment
              # an indented comment

            A=1
            export B=2
            export   C = 3
            D: 4
            E =5
            \t
            exported=6
            export=7
            """
        #expect(
            try parseEnv(contents) == [
                Entry("A", "1"), Entry("B", "2"), Entry("C", "3"), Entry("D", "4"), Entry("E", "5"),
                Entry("exported", "6"), Entry("export", "7"),
            ]
        )
    }

    @Test(arguments: [
        // single quotes: literal, only \' is unescaped
        ValueCase("K='single $SET ${SET} \\n'", "single $SET ${SET} \\n"),
        ValueCase("K='it\\'s'", "it's"),
        ValueCase("K='a\\\\b'", "a\\\\b"),
        ValueCase("K=''", ""),
        // double quotes
        ValueCase("K=\"double\"", "double"),
        ValueCase("K=\" keep spaces \"", " keep spaces "),
        ValueCase("K=\"\"", ""),
        ValueCase("K=\"a 'b' c\"", "a 'b' c"),
        ValueCase("K='a \"b\" c'", "a \"b\" c"),
        ValueCase("K=  \"padded\"  ", "padded"),
        ValueCase("K=\"a\" # comment", "a"),
        // unquoted, and backquotes are ordinary characters
        ValueCase("K=plain value  ", "plain value"),
        ValueCase("K=`back`", "`back`"),
        ValueCase("K=", ""),
        ValueCase("K=a=b:c", "a=b:c"),
        ValueCase("K=it's \"ok\"", "it's \"ok\""),
    ])
    func `quotes of each kind`(_ example: ValueCase) throws {
        #expect(try parseEnv(example.line, ["SET": "val"]) == [Entry("K", example.value)])
    }

    @Test(arguments: [
        ValueCase(#"K="a\nb""#, "a\nb"),
        ValueCase(#"K="a\tb""#, "a\tb"),
        ValueCase(#"K="a\rb""#, "a\rb"),
        ValueCase(#"K="\a\b\f\v""#, "\u{07}\u{08}\u{0C}\u{0B}"),
        ValueCase(#"K="back\\slash""#, "back\\slash"),
        ValueCase(#"K="say \"hi\"""#, "say \"hi\""),
        ValueCase(#"K="\$SET and $$SET""#, "$SET and $SET"),
        ValueCase(#"K="\0101\0351""#, "Aé"),
        ValueCase(#"K="\0 \01 \0999""#, "\\ \\1 \\999"),
        ValueCase(#"K="\x41 \c \q \'""#, "\\x41 \\c \\q \\'"),
    ])
    func `escapes in double quotes`(_ example: ValueCase) throws {
        #expect(try parseEnv(example.line, ["SET": "val"]) == [Entry("K", example.value)])
    }

    @Test(arguments: [
        ValueCase("K=value # comment", "value"),
        ValueCase("K=value#not-a-comment", "value#not-a-comment"),
        ValueCase("K=value\t# tab is not a space", "value\t# tab is not a space"),
        ValueCase("K=#x", "#x"),
        ValueCase("K= #x", "#x"),
        ValueCase("K=a # b # c", "a"),
        ValueCase("K='quoted # kept'", "quoted # kept"),
    ])
    func `inline comments in unquoted values`(_ example: ValueCase) throws {
        #expect(try parseEnv(example.line) == [Entry("K", example.value)])
    }

    @Test func `quoted values span lines`() throws {
        let contents = """
            K="line1
            line2\\nline3"
            S='a
              b'
            NEXT=after
            """
        #expect(
            try parseEnv(contents) == [Entry("K", "line1\nline2\nline3"), Entry("S", "a\n  b"), Entry("NEXT", "after")]
        )
    }

    @Test func `values are substituted from the lookup, then from earlier lines`() throws {
        let contents = """
            SHADOW=file
            A=${HOST}:80
            B="$A/path"
            C=${SHADOW}
            D=${MISSING:-dflt}
            E='${HOST}'
            F=$$HOST
            G="\\$HOST"
            H=${LATER:-not yet}
            LATER=now
            """
        #expect(
            try parseEnv(contents, ["HOST": "h", "SHADOW": "env"]) == [
                Entry("SHADOW", "file"), Entry("A", "h:80"), Entry("B", "h:80/path"), Entry("C", "env"),
                Entry("D", "dflt"), Entry("E", "${HOST}"), Entry("F", "$HOST"), Entry("G", "$HOST"),
                Entry("H", "not yet"), Entry("LATER", "now"),
            ]
        )
    }

    @Test func `a bare key takes its value from the lookup or is skipped`() throws {
        let contents = "PRESENT\nABSENT\nEMPTYVAR\nexport PRESENT \nKEPT=1\nKEPT\nLAST"
        let environment = ["PRESENT": "p", "EMPTYVAR": "", "LAST": "l"]
        #expect(
            try parseEnv(contents, environment) == [
                Entry("PRESENT", "p"), Entry("EMPTYVAR", ""), Entry("KEPT", "1"), Entry("LAST", "l"),
            ]
        )
    }

    @Test func `CRLF line endings`() throws {
        let contents = "# c\r\nA=1\r\nB=\"two\"\r\nC\r\nD='x' \r\nE=a # c\r\n\r\nF: f\r\n"
        #expect(
            try parseEnv(contents, ["C": "c"]) == [
                Entry("A", "1"), Entry("B", "two"), Entry("C", "c"), Entry("D", "x"), Entry("E", "a"), Entry("F", "f"),
            ]
        )
    }

    @Test func `later duplicates override earlier ones in place`() throws {
        #expect(try parseEnv("A=1\nB=2\nA=3\nexport B=4") == [Entry("A", "3"), Entry("B", "4")])
    }

    @Test func `keys as compose accepts them, and a byte order mark`() throws {
        #expect(
            try parseEnv("\u{FEFF}a.b-c[0]=x\nÜber_2=y\nK\t=z") == [
                Entry("a.b-c[0]", "x"), Entry("Über_2", "y"), Entry("K", "z"),
            ]
        )
    }

    @Test func `text after a closing quote starts the next statement, as in compose`() throws {
        #expect(try parseEnv("A=\"x\"B=y\nC='z'  # note") == [Entry("A", "x"), Entry("B", "y"), Entry("C", "z")])
    }

    @Test(arguments: [
        DotEnvErrorCase("1KEY=x", #"variable name "1KEY" must not start with a digit"#, line: 1, column: 1),
        DotEnvErrorCase("A=1\nKEY WITH SPACE=x", #"key "KEY WITH SPACE" cannot contain a space"#, line: 2, column: 4),
        DotEnvErrorCase("  KEY!=x", #"unexpected character "!" in variable name "KEY!=x""#, line: 1, column: 6),
        DotEnvErrorCase("export A B#=1", ##"unexpected character "#" in variable name "A B#=1""##, line: 1, column: 11),
        DotEnvErrorCase("A=1\n\nB=\"open\nstill", "unterminated quoted value \"open", line: 3, column: 3),
        DotEnvErrorCase("C='x\\'", "unterminated quoted value 'x\\'", line: 1, column: 3),
        DotEnvErrorCase("A=1\n=x", #"missing variable name before "=""#, line: 2, column: 1),
        DotEnvErrorCase("A=\"multi\nline\"\nB=${bad!}", #"invalid template: "${bad!}""#, line: 3, column: 3),
        DotEnvErrorCase("A=\"\\n\\t${bad!}\"", #"invalid template: "\n\t${bad!}""#, line: 1, column: 8),
        DotEnvErrorCase("A=x\r\nB C=y\r\n", #"key "B C" cannot contain a space"#, line: 2, column: 2),
        DotEnvErrorCase("# ok\r\nA=${X:?set X}", "required variable X is missing a value: set X", line: 2, column: 3),
        DotEnvErrorCase("A=\"pre ${X?}\"", "required variable X is missing a value", line: 1, column: 8),
    ])
    func `errors carry line and column`(_ example: DotEnvErrorCase) {
        #expect(throws: example.error) { try parseEnv(example.contents) }
    }
}
