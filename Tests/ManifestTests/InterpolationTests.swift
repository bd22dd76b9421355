import Testing

@testable import Manifest

private let environment = ["SET": "val", "EMPTY": "", "OTHER": "other", "lower": "low"]

private func substitute(_ text: String) throws(InterpolationError) -> Substitution {
    try Interpolation { environment[$0] }.substitute(text)
}

private func outcome(_ text: String) -> InterpolationTests.Outcome {
    do throws(InterpolationError) {
        return .value(try substitute(text).value)
    } catch {
        return .failure(error.message)
    }
}

@Suite struct InterpolationTests {
    /// What substituting a template produced: a value, or an error's message.
    enum Outcome: Equatable, Sendable, CustomStringConvertible {
        case value(String)
        case failure(String)

        var description: String {
            switch self {
            case .value(let value): "value \(value.debugDescription)"
            case .failure(let message): "failure \(message.debugDescription)"
            }
        }
    }

    /// One substitution case: a text and what it should give.
    struct SubstitutionCase: Sendable, CustomTestStringConvertible {
        var text: String
        var expected: Outcome
        var testDescription: String { "\(text.debugDescription) → \(expected)" }

        init(_ text: String, _ expected: String) {
            self.text = text
            self.expected = .value(expected)
        }
    }

    /// One malformed or failing template: the error it must produce.
    struct ErrorCase: Sendable, CustomTestStringConvertible {
        var text: String
        var error: InterpolationError
        var testDescription: String { text.debugDescription }
    }

    /// One operator applied to a set, an empty and an unset variable.
    struct OperatorCase: Sendable, CustomTestStringConvertible {
        /// The template, with `V` standing for the variable's name.
        var template: String
        /// The outcomes for `SET`, `EMPTY` and `UNSET`, in that order.
        var outcomes: [Outcome]
        var testDescription: String { template }
    }

    static let operators: [OperatorCase] = [
        OperatorCase(template: "$V", outcomes: [.value("val"), .value(""), .value("")]),
        OperatorCase(template: "${V}", outcomes: [.value("val"), .value(""), .value("")]),
        OperatorCase(template: "${V:-dflt}", outcomes: [.value("val"), .value("dflt"), .value("dflt")]),
        OperatorCase(template: "${V-dflt}", outcomes: [.value("val"), .value(""), .value("dflt")]),
        OperatorCase(
            template: "${V:?gone}",
            outcomes: [
                .value("val"), .failure("required variable EMPTY is missing a value: gone"),
                .failure("required variable UNSET is missing a value: gone"),
            ]
        ),
        OperatorCase(
            template: "${V?gone}",
            outcomes: [.value("val"), .value(""), .failure("required variable UNSET is missing a value: gone")]
        ),
        OperatorCase(template: "${V:+repl}", outcomes: [.value("repl"), .value(""), .value("")]),
        OperatorCase(template: "${V+repl}", outcomes: [.value("repl"), .value("repl"), .value("")]),
    ]

    @Test(arguments: operators)
    func `each operator on a set, an empty and an unset variable`(_ operation: OperatorCase) {
        for (name, expected) in zip(["SET", "EMPTY", "UNSET"], operation.outcomes) {
            let text = operation.template.split(separator: "V", omittingEmptySubsequences: false).joined(
                separator: name
            )
            #expect(outcome("<\(text)>") == wrapped(expected), "\(text)")
        }
    }

    /// Puts an expected value between the `<` `>` the operator test surrounds its templates with.
    func wrapped(_ outcome: Outcome) -> Outcome {
        switch outcome {
        case .value(let value): .value("<\(value)>")
        case .failure: outcome
        }
    }

    @Test(arguments: [
        // two levels
        SubstitutionCase("${UNSET:-${OTHER}}", "other"),
        SubstitutionCase("${UNSET:-$OTHER}", "other"),
        SubstitutionCase("${UNSET:-pre${OTHER}post}", "preotherpost"),
        SubstitutionCase("${UNSET-${UNSET2:-x}}", "x"),
        SubstitutionCase("${SET:+<${OTHER:-x}>}", "<other>"),
        SubstitutionCase("${EMPTY:+${OTHER}}", ""),
        // three levels
        SubstitutionCase("${UNSET:-${UNSET2:-${OTHER}}}", "other"),
        SubstitutionCase("${UNSET:-a${UNSET2:-b${OTHER:+c}d}e}", "abcde"),
        SubstitutionCase("${UNSET:-${UNSET2-${EMPTY:-deep}}} tail", "deep tail"),
        // a default is only substituted when it is used
        SubstitutionCase("${SET:-${MISSING:?boom}}", "val"),
        SubstitutionCase("${UNSET:+${MISSING:?boom}}", ""),
        // templates side by side, and the text between them
        SubstitutionCase("${UNSET:-a}-${OTHER}", "a-other"),
        SubstitutionCase("${UNSET:-x} ${UNSET:-y}", "x y"),
        SubstitutionCase("${UNSET:-a}\n${UNSET:-b}", "a\nb"),
        SubstitutionCase("$SET/${OTHER}.$SET", "val/other.val"),
        // the first operator after the name wins; later ones are text
        SubstitutionCase("${UNSET-a:-b}", "a:-b"),
        SubstitutionCase("${UNSET:-a-b}", "a-b"),
        SubstitutionCase("${EMPTY:-a?b}", "a?b"),
        SubstitutionCase("${UNSET:-a:+b}", "a:+b"),
        // braces in defaults are counted as compose counts them
        SubstitutionCase("${UNSET:-{x}}", "{x}"),
        SubstitutionCase("${UNSET:-x}}", "x}"),
        // compose skips the character after each `{` when balancing, so `{}` opens without closing
        SubstitutionCase("${UNSET:-{}} tail}", "{}} tail"),
        SubstitutionCase("${UNSET:-}", ""),
        // names: case-insensitive pattern, digits and underscores after the first character
        SubstitutionCase("$lower ${lower}", "low low"),
        SubstitutionCase("${SET}x $SET-x $SET.x", "valx val-x val.x"),
        SubstitutionCase("$SETx|$SET_1|${_UNSET9}", "||"),
    ])
    func `nested and adjacent templates`(_ example: SubstitutionCase) {
        #expect(outcome(example.text) == example.expected)
    }

    @Test(arguments: [
        SubstitutionCase("$$", "$"),
        SubstitutionCase("a$$b", "a$b"),
        SubstitutionCase("$$SET", "$SET"),
        SubstitutionCase("$${SET}", "${SET}"),
        SubstitutionCase("$$$SET", "$val"),
        SubstitutionCase("$$$$", "$$"),
        SubstitutionCase("${UNSET:-$$}", "$"),
        SubstitutionCase("${UNSET:-$${SET}}", "${SET}"),
    ])
    func `a doubled dollar is a literal dollar`(_ example: SubstitutionCase) {
        #expect(outcome(example.text) == example.expected)
    }

    @Test(arguments: [
        SubstitutionCase("$", "$"),
        SubstitutionCase("100$", "100$"),
        SubstitutionCase("$5", "$5"),
        SubstitutionCase("a $ b", "a $ b"),
        SubstitutionCase("$-x", "$-x"),
        SubstitutionCase("$.", "$."),
        SubstitutionCase("$ {SET}", "$ {SET}"),
        SubstitutionCase("$SET$", "val$"),
        SubstitutionCase("$é", "$é"),
        SubstitutionCase("${UNSET:-$}", "$"),
        // `$}` is not a template: compose keeps it (docker/compose#12287: `config` accepts it and prints `$$}`)
        SubstitutionCase("$}", "$}"),
        SubstitutionCase("a$}b", "a$}b"),
        SubstitutionCase("$}}", "$}}"),
        SubstitutionCase("$SET$}", "val$}"),
        SubstitutionCase("${UNSET:-$}}", "$}"),
        SubstitutionCase("${SET:+$}}", "$}"),
        SubstitutionCase("$@ $1 $- $*", "$@ $1 $- $*"),
    ])
    func `a dollar before anything else is kept`(_ example: SubstitutionCase) {
        #expect(outcome(example.text) == example.expected)
    }

    /// Every printable ASCII character after a `$`, as compose-go's pattern reads it: `$` escapes, a letter or
    /// `_` starts a name, `{` starts a template that must hold a name, and anything else leaves the `$` as it is.
    @Test func `a single character after a dollar, or inside braces, is read as compose reads it`() {
        for character in (32...126).map({ Character(Unicode.Scalar(UInt8($0))) }) {
            let isNameStart = character == "_" || (character.isASCII && character.isLetter)
            let dollar = "$" + String(character)
            let braced = "${" + String(character) + "}"
            switch character {
            case "$":
                #expect(outcome(dollar) == .value("$"))
            case "{":
                #expect(outcome(dollar) == .failure(#"invalid template: "${""#))
            case _ where isNameStart:
                #expect(outcome(dollar) == .value(""), "\(dollar)")
                #expect(outcome(braced) == .value(""), "\(braced)")
            default:
                #expect(outcome(dollar) == .value(dollar), "\(dollar)")
                #expect(outcome(braced) == .failure("invalid template: \(braced.goQuoted)"), "\(braced)")
            }
        }
    }

    @Test(arguments: [
        ErrorCase(text: "${foo!}", error: .init(message: #"invalid template: "${foo!}""#, offset: 0, variable: nil)),
        ErrorCase(text: "ab ${ foo}", error: .init(message: #"invalid template: "ab ${ foo}""#, offset: 3)),
        ErrorCase(text: "${}", error: .init(message: #"invalid template: "${}""#, offset: 0)),
        ErrorCase(text: "x${foo", error: .init(message: #"invalid template: "x${foo""#, offset: 1)),
        ErrorCase(text: "${1abc}", error: .init(message: #"invalid template: "${1abc}""#, offset: 0)),
        ErrorCase(text: "${foo:x}", error: .init(message: #"invalid template: "${foo:x}""#, offset: 0)),
        ErrorCase(text: "${foo:}", error: .init(message: #"invalid template: "${foo:}""#, offset: 0)),
        ErrorCase(text: "${foo:-x", error: .init(message: #"invalid template: "${foo:-x""#, offset: 0)),
        ErrorCase(text: "$SET ${-x}", error: .init(message: #"invalid template: "$SET ${-x}""#, offset: 5)),
        ErrorCase(text: "${UNSET:-x\n}", error: .init(message: #"invalid template: "${UNSET:-x\n}""#, offset: 0)),
        // a nested template is reported as compose reports it: quoting the text it was substituted from
        ErrorCase(text: "${UNSET:-${foo!}}", error: .init(message: #"invalid template: "${foo!}""#, offset: 9)),
        // the offset counts characters, not scalars
        ErrorCase(text: "e\u{301} ${!}", error: .init(message: "invalid template: \"e\u{301} ${!}\"", offset: 2)),
    ])
    func `a malformed template fails at its dollar`(_ example: ErrorCase) {
        #expect(throws: example.error) { try substitute(example.text) }
    }

    @Test(arguments: [
        ErrorCase(
            text: "${UNSET:?please set it}",
            error: .init(
                message: "required variable UNSET is missing a value: please set it",
                offset: 0,
                variable: "UNSET"
            )
        ),
        ErrorCase(
            text: "${EMPTY:?}",
            error: .init(message: "required variable EMPTY is missing a value", offset: 0, variable: "EMPTY")
        ),
        ErrorCase(
            text: "${UNSET?}",
            error: .init(message: "required variable UNSET is missing a value", offset: 0, variable: "UNSET")
        ),
        ErrorCase(
            text: "x=${UNSET?need $OTHER}",
            error: .init(
                message: "required variable UNSET is missing a value: need other",
                offset: 2,
                variable: "UNSET"
            )
        ),
        ErrorCase(
            text: "${UNSET:-${INNER:?inner missing}}",
            error: .init(
                message: "required variable INNER is missing a value: inner missing",
                offset: 9,
                variable: "INNER"
            )
        ),
        ErrorCase(
            text: "${SET} ${EMPTY?ok} ${UNSET:?e}",
            error: .init(message: "required variable UNSET is missing a value: e", offset: 19, variable: "UNSET")
        ),
        // the first failure, by position, is the one reported
        ErrorCase(
            text: "${A?first} ${B?second}",
            error: .init(message: "required variable A is missing a value: first", offset: 0, variable: "A")
        ),
    ])
    func `a required variable that is missing fails with compose's message`(_ example: ErrorCase) {
        #expect(throws: example.error) { try substitute(example.text) }
    }

    @Test(arguments: [
        ("$A ${B} ${C:-x} ${D-y} ${E:+z} ${F+w} $A", ["A", "B"]),
        ("${UNSET:-$NESTED}", ["NESTED"]),
        ("${SET:-$NESTED}", []),
        ("$SET ${EMPTY} $$UNSET", []),
        ("${Z}${Y}${Z}", ["Z", "Y"]),
    ])
    func `unset variables referenced without a default are reported`(_ text: String, _ expected: [String]) throws {
        #expect(try substitute(text).unsetVariables == expected)
    }

    @Test func `the lookup decides between unset and empty`() throws {
        var calls: [String] = []
        let interpolation = Interpolation { name in
            calls.append(name)
            return name == "E" ? "" : nil
        }
        let result = try interpolation.substitute("${E-a}|${U-b}|$E|$U")
        #expect(result == Substitution(value: "|b||", unsetVariables: ["U"]))
        #expect(calls == ["E", "U", "E", "U"])
    }
}

extension InterpolationError {
    fileprivate init(message: String, offset: Int) {
        self.init(message: message, offset: offset, variable: nil)
    }
}
