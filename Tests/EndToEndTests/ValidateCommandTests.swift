import Foundation
import OrchestrateTesting
import Testing

/// One invalid manifest and what `validate` must say about it.
struct BadManifest: CustomTestStringConvertible, Sendable {
    var name: String
    var yaml: String
    /// Fragments each of which must appear in one error line (they start with `daemons.yaml:LINE:COLUMN:`).
    var expected: [String]
    /// How many errors the header announces.
    var count: Int = 1

    var testDescription: String { name }
}

@Suite("validate")
struct ValidateCommandTests {
    @Test("every example manifest is valid", arguments: E2E.exampleManifests())
    func exampleIsValid(_ relative: String) async throws {
        let root = E2E.repositoryRoot()
        let result = try await E2E.run(["-f", relative, "validate"], in: root)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stderr.isEmpty)
        let summary = result.stdout.trimmingCharacters(in: .newlines)
        #expect(summary.wholeMatch(of: /\d+ daemons?: \d+ [a-z]+(, \d+ [a-z]+)*/) != nil, "summary: \(summary)")
    }

    @Test func theBundledExampleHasOneDaemonOfEachKind() async throws {
        let result = try await E2E.run(["-f", "examples/daemons.yaml", "validate"], in: E2E.repositoryRoot())
        #expect(result.status == 0)
        #expect(result.stdout == "4 daemons: 1 periodic, 1 watcher, 1 rpc, 1 process\n")
    }

    @Test func summaryCountsEveryKind() async throws {
        let manifest = """
            daemons:
              a: {kind: process, command: x}
              b: {kind: process, command: x}
              c: {kind: rpc, listen: "unix:/tmp/orchestrate-e2e.sock"}
              d: {kind: watcher, command: x}
              e: {kind: periodic, cron: "* * * * *", command: x}

            """
        try await E2E.withManifest(manifest) { directory in
            let result = try await E2E.run(["validate"], in: directory.path)
            #expect(result.status == 0, "stderr: \(result.stderr)")
            #expect(result.stdout == "5 daemons: 1 periodic, 1 watcher, 1 rpc, 2 process\n")
        }
    }

    @Test func oneDaemonIsSingular() async throws {
        try await E2E.withManifest("daemons:\n  a: {kind: process, command: x}\n") { directory in
            let result = try await E2E.run(["validate"], in: directory.path)
            #expect(result.status == 0)
            #expect(result.stdout == "1 daemon: 1 process\n")
        }
    }

    static let badManifests: [BadManifest] = [
        BadManifest(
            name: "misspelt key",
            yaml: """
                version: 1
                daemons:
                  a:
                    kind: periodic
                    intervall: 5s
                    command: [echo]

                """,
            expected: [
                "daemons.yaml:5:5: daemons.a: unknown key 'intervall' in a periodic daemon; did you mean 'interval'?"
            ],
            count: 1
        ),
        BadManifest(
            name: "bad duration",
            yaml: """
                daemons:
                  a:
                    kind: periodic
                    interval: fast
                    command: [echo]

                """,
            expected: [
                "daemons.yaml:4:15: daemons.a.interval: expected a duration like 250ms, 30s, 5m or 1h30m, found 'fast'"
            ]
        ),
        BadManifest(
            name: "bad enum value",
            yaml: """
                daemons:
                  a:
                    kind: periodic
                    interval: 5s
                    overlap: skp
                    command: [echo]

                """,
            expected: [
                "daemons.yaml:5:14: daemons.a.overlap: expected one of 'skip', 'queue', 'replace', found 'skp'; "
                    + "did you mean 'skip'?"
            ]
        ),
        BadManifest(
            name: "wrong kind",
            yaml: """
                daemons:
                  a:
                    kind: periodc
                    interval: 5s
                    command: [echo]

                """,
            expected: [
                "daemons.yaml:3:11: daemons.a.kind: expected one of 'periodic', 'watcher', 'rpc', 'process', "
                    + "found 'periodc'; did you mean 'periodic'?"
            ]
        ),
        BadManifest(
            name: "duplicate key",
            yaml: """
                daemons:
                  a:
                    kind: periodic
                    interval: 5s
                    interval: 6s
                    command: [echo]

                """,
            expected: ["daemons.yaml:5:5: duplicate key 'interval' (first at daemons.yaml:4:5)"]
        ),
        BadManifest(
            name: "YAML syntax error: unclosed flow sequence",
            yaml: """
                daemons:
                  a: [
                    kind: periodic

                """,
            expected: [
                "daemons.yaml:4:1: while parsing a flow sequence (line 2, column 6): did not find expected ',' or ']'"
            ]
        ),
        BadManifest(
            name: "YAML syntax error: mapping value in a scalar",
            yaml: """
                daemons:
                  a:
                    kind: process
                    command: echo: x

                """,
            expected: ["daemons.yaml:4:18: mapping values are not allowed in this context"]
        ),
        BadManifest(
            name: "depends_on names a missing daemon",
            yaml: """
                daemons:
                  a:
                    kind: periodic
                    interval: 5s
                    command: [echo]
                  b:
                    kind: process
                    command: [x]
                    depends_on: [c]

                """,
            expected: [
                "daemons.yaml:9:18: daemons.b.depends_on: depends on 'c', which is not a daemon of this manifest"
            ]
        ),
        BadManifest(
            name: "dependency cycle of two",
            yaml: """
                daemons:
                  a:
                    kind: process
                    command: [echo]
                    depends_on: [b]
                  b:
                    kind: process
                    command: [x]
                    depends_on: [a]

                """,
            expected: ["daemons.yaml:5:17: daemons.a.depends_on: dependency cycle: a → b → a"]
        ),
        BadManifest(
            name: "dependency cycle of three",
            yaml: """
                daemons:
                  a: {kind: process, command: x, depends_on: [b]}
                  b: {kind: process, command: x, depends_on: [c]}
                  c: {kind: process, command: x, depends_on: [a]}

                """,
            expected: ["daemons.yaml:2:46: daemons.a.depends_on: dependency cycle: a → b → c → a"]
        ),
        BadManifest(
            name: "rpc on 0.0.0.0 without auth",
            yaml: """
                daemons:
                  a:
                    kind: rpc
                    listen: 0.0.0.0:8000

                """,
            expected: [
                "daemons.yaml:4:13: daemons.a.listen: listening on 0.0.0.0:8000, which is not loopback, "
                    + "needs auth.api_key_env"
            ]
        ),
        BadManifest(
            name: "empty manifest",
            yaml: "",
            expected: ["daemons.yaml:1:1: the manifest is empty; it needs at least a 'daemons:' mapping"]
        ),
        BadManifest(
            name: "a list at the top",
            yaml: "- a\n",
            expected: ["daemons.yaml:1:1: expected a mapping at the top of the manifest, found a list"]
        ),
    ]

    @Test("an invalid manifest is reported with file:line:column", arguments: badManifests)
    func invalidManifest(_ bad: BadManifest) async throws {
        try await E2E.withManifest(bad.yaml) { directory in
            let result = try await E2E.run(["validate"], in: directory.path)
            #expect(result.status == 2)
            #expect(result.stdout.isEmpty)
            let noun = bad.count == 1 ? "error" : "errors"
            #expect(result.stderr.hasPrefix("orchestrate: daemons.yaml is not valid (\(bad.count) \(noun)):\n"))
            let lines = E2E.errorLines(result.stderr)
            #expect(lines.count == bad.count, "stderr: \(result.stderr)")
            for fragment in bad.expected {
                #expect(lines.contains { $0.contains(fragment) }, "missing \(fragment) in:\n\(result.stderr)")
            }
        }
    }

    @Test func severalErrorsAreAllReported() async throws {
        let manifest = """
            version: 2
            daemons:
              a:
                kind: periodic
                interval: soon
                overlap: skp
                command: [echo]
              b:
                kind: watcher
                debounce: fast
                bogus: 1
                command: [echo]

            """
        try await E2E.withManifest(manifest) { directory in
            let result = try await E2E.run(
                ["validate"],
                in: directory.path,
                environment: ["ORCHESTRATE__DAEMONS__NOPE__ENABLED": "false"]
            )
            #expect(result.status == 2)
            #expect(result.stderr.hasPrefix("orchestrate: daemons.yaml is not valid (6 errors):\n"))
            let lines = E2E.errorLines(result.stderr)
            #expect(lines.count == 6, "stderr: \(result.stderr)")
            let expected = [
                "daemons.yaml:1:10: version:",
                "daemons.yaml:5:15: daemons.a.interval:",
                "daemons.yaml:6:14: daemons.a.overlap:",
                "daemons.yaml:10:15: daemons.b.debounce:",
                "daemons.yaml:11:5: daemons.b: unknown key 'bogus'",
                "ORCHESTRATE__DAEMONS__NOPE__ENABLED: daemons: no daemon named 'NOPE'",
            ]
            for fragment in expected {
                #expect(lines.contains { $0.hasPrefix(fragment) }, "missing \(fragment) in:\n\(result.stderr)")
            }
        }
    }

    @Test func invalidUTF8IsAClearErrorNotACrash() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var bytes = Array("daemons:\n  a:\n    kind: process\n    command: [\"".utf8)
        bytes += [0xFF, 0xFE]
        bytes += Array("\"]\n".utf8)
        #expect(FileManager.default.createFile(atPath: directory.url("daemons.yaml"), contents: Data(bytes)))
        let result = try await E2E.run(["validate"], in: directory.path)
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("orchestrate: daemons.yaml is not valid (1 error):\n"))
        #expect(result.stderr.contains("UTF-8"))
        #expect(result.stderr.contains("byte 0xFF at offset 47"))
        #expect(result.stderr.contains("  daemons.yaml:4:16: "), "stderr: \(result.stderr)")
    }

    @Test func invalidUTF8AtTheStartIsAClearError() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let bytes: [UInt8] = [0xFF, 0xFE] + Array("daemons:\n".utf8)
        #expect(FileManager.default.createFile(atPath: directory.url("daemons.yaml"), contents: Data(bytes)))
        let result = try await E2E.run(["validate"], in: directory.path)
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("orchestrate: daemons.yaml is not valid (1 error):\n  daemons.yaml:1:"))
    }

    @Test func controlCharacterIsRejected() async throws {
        try await E2E.withManifest("daemons:\n  a:\n    kind: process\n    command: [\"a\u{01}b\"]\n") { directory in
            let result = try await E2E.run(["validate"], in: directory.path)
            #expect(result.status == 2)
            #expect(result.stderr.hasPrefix("orchestrate: daemons.yaml is not valid (1 error):\n  daemons.yaml:"))
            #expect(result.stderr.contains("control characters are not allowed (byte 0x01"))
            #expect(result.stderr.contains("  daemons.yaml:4:17: "), "stderr: \(result.stderr)")
        }
    }

    @Test func billionLaughsIsRejectedQuickly() async throws {
        var lines = ["x-a0: &a0 \"lol\""]
        for level in 1...9 {
            lines.append(
                "x-a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 9).joined(separator: ",") + "]"
            )
        }
        lines.append("daemons:\n  a:\n    kind: process\n    command: [echo]\n    x-bomb: *a9\n")
        try await E2E.withManifest(lines.joined(separator: "\n")) { directory in
            let clock = ContinuousClock()
            let start = clock.now
            let result = try await E2E.run(["validate"], in: directory.path)
            let elapsed = clock.now - start
            #expect(result.status == 2)
            #expect(result.stderr.contains("alias"))
            #expect(result.stderr.contains("nodes"))
            #expect(elapsed < .seconds(10), "took \(elapsed)")
        }
    }

    @Test func aMissingFileIsABadManifest() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let result = try await E2E.run(["-f", "missing.yaml", "validate"], in: directory.path)
        #expect(result.status == 2)
        #expect(result.stderr.contains("missing.yaml"))
        #expect(result.stderr.contains("does not exist"))
    }
}
