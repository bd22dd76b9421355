import Testing

@testable import Manifest

@Suite("YAML parser")
struct YAMLParserTests {
    private func parse(_ text: String, limit: Int = YAMLParser.defaultNodeLimit) -> (YAMLNode?, [ManifestError]) {
        let result = YAMLParser(fileLabel: "f.yaml", nodeLimit: limit).parse(Array(text.utf8))
        return (result.root, result.errors)
    }

    private func parse(bytes: [UInt8]) -> [ManifestError] {
        YAMLParser(fileLabel: "f.yaml").parse(bytes).errors
    }

    @Test func nodesCarryLineAndColumn() throws {
        let (root, errors) = parse("a: 1\nb:\n  - x\n  - {c: d}\n")
        #expect(errors.isEmpty)
        let node = try #require(root)
        #expect(node["a"]?.origin.position?.line == 1)
        #expect(node["a"]?.origin.position?.column == 4)
        let items = try #require(node["b"]?.items)
        #expect(items[0].origin.position?.line == 3)
        #expect(items[0].origin.position?.column == 5)
        #expect(items[1]["c"]?.scalarText == "d")
        #expect(items[1]["c"]?.origin.position?.column == 9)
        let keys = try #require(node.pairs).map(\.key)
        #expect(keys.map(\.text) == ["a", "b"])
        #expect(keys[1].origin.position?.line == 2)
    }

    @Test func scalarStylesAndCoreSchema() throws {
        let (root, _) = parse("a: true\nb: 'true'\nc: \"x\"\nd: ~\ne:\nf: 12\ng: 1.5\nh: !!str 5\n")
        let node = try #require(root)
        #expect(node["a"]?.content == .scalar("true", .plain))
        #expect(node["b"]?.content == .scalar("true", .quoted))
        #expect(node["c"]?.content == .scalar("x", .quoted))
        #expect(node["d"]?.isNull == true)
        #expect(node["e"]?.isNull == true)
        #expect(node["f"]?.found == "number 12")
        #expect(node["g"]?.found == "number 1.5")
        #expect(node["h"]?.content == .scalar("5", .quoted))
        #expect(node["a"]?.found == "boolean true")
        #expect(node["b"]?.found == "string 'true'")
    }

    @Test func scalarsMayHoldNul() throws {
        let (root, errors) = parse("a: \"x\\0y\"\n")
        #expect(errors.isEmpty)
        #expect(root?["a"]?.scalarText == "x\u{0}y")
    }

    @Test func aliasesAndMergeKeys() throws {
        let text = """
            base: &base {restart: always, stop_timeout: 5s}
            list: &list [a, b]
            one:
              <<: *base
              stop_timeout: 9s
            two:
              <<: [*base, {extra: 1}]
            copy: *list
            """
        let (root, errors) = parse(text)
        #expect(errors.isEmpty)
        let node = try #require(root)
        #expect(node["one"]?["restart"]?.scalarText == "always")
        #expect(node["one"]?["stop_timeout"]?.scalarText == "9s")
        #expect(node["one"]?["<<"] == nil)
        #expect(node["two"]?["extra"]?.scalarText == "1")
        #expect(node["copy"]?.items?.compactMap(\.scalarText) == ["a", "b"])
    }

    @Test func duplicateKeysAreErrorsWithBothLocations() {
        let (_, errors) = parse("a: 1\nb: 2\na: 3\n")
        #expect(errors.count == 1)
        #expect(errors.first?.code == .duplicateKey)
        #expect(errors.first?.origin?.position?.line == 3)
        #expect(errors.first?.message == "duplicate key 'a' (first at f.yaml:1:1)")
    }

    @Test func aMergedKeyIsNotADuplicate() {
        let (_, errors) = parse("b: &b {x: 1}\nc:\n  <<: *b\n  x: 2\n")
        #expect(errors.isEmpty)
    }

    @Test func billionLaughsIsRejectedFast() {
        var lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
        let names = "abcdefghij".map(String.init)
        for level in 1..<10 {
            let refs = Array(repeating: "*\(names[level - 1])", count: 9).joined(separator: ", ")
            lines.append("\(names[level]): &\(names[level]) [\(refs)]")
        }
        let (root, errors) = parse(lines.joined(separator: "\n"))
        #expect(root == nil)
        #expect(errors.count == 1)
        #expect(errors.first?.code == .tooLarge)
        #expect(errors.first?.message.contains("aliases") == true)
    }

    @Test func aliasesWithinTheBoundAreExpanded() throws {
        let (root, errors) = parse("a: &a [1, 2, 3]\nb: [*a, *a, *a]\n", limit: 50)
        #expect(errors.isEmpty)
        #expect(root?["b"]?.items?.count == 3)
        let (_, tooMany) = parse("a: &a [1, 2, 3]\nb: [*a, *a, *a]\n", limit: 10)
        #expect(tooMany.first?.code == .tooLarge)
    }

    @Test func syntaxErrorsGiveLibyamlsProblemAndPlace() throws {
        let (_, errors) = parse("a: [1, 2\nb: 3\n")
        let error = try #require(errors.first)
        #expect(error.code == .syntax)
        #expect(error.message.contains("did not find expected ',' or ']'"))
        #expect(error.origin?.position != nil)
        let (_, tabs) = parse("a:\n\tb: 1\n")
        #expect(tabs.first?.message.contains("tab") == true)
    }

    @Test func invalidUTF8IsAnErrorWithItsLocation() throws {
        let errors = parse(bytes: Array("a: ok\nb: ".utf8) + [0xFF, 0xFE] + Array("\n".utf8))
        let error = try #require(errors.first)
        #expect(error.code == .syntax)
        #expect(error.message.contains("invalid leading UTF-8 octet"))
        #expect(error.origin?.position?.line == 2)
        #expect(error.origin?.position?.column == 4)
    }

    @Test func controlCharactersAreErrors() throws {
        let errors = parse(bytes: Array("a: \"x".utf8) + [0x07] + Array("\"\n".utf8))
        let error = try #require(errors.first)
        #expect(error.message.contains("control characters are not allowed"))
    }

    @Test func oneDocumentOnly() {
        let (_, errors) = parse("a: 1\n---\nb: 2\n")
        #expect(errors.first?.message.contains("one YAML document") == true)
        #expect(errors.first?.origin?.position?.line == 2)
    }

    @Test func unknownAnchorsAndNonScalarKeysAndTags() {
        #expect(parse("a: *nope\n").1.first?.message.contains("anchor") == true)
        #expect(parse("? [a, b]\n: 1\n").1.first?.message == "mapping keys must be scalars, found a list")
        #expect(parse("a: !reset x\n").1.first?.message.contains("unsupported YAML tag '!reset'") == true)
    }

    @Test func emptyInputHasNoRoot() {
        let (root, errors) = parse("")
        #expect(root == nil)
        #expect(errors.isEmpty)
    }
}
