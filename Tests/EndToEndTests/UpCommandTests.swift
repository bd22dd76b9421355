import Foundation
import OrchestrateTesting
import Testing

@Suite("up and the command line")
struct UpCommandTests {
    @Test func upRefusesNamingEachDaemon() throws {
        let manifest = """
            daemons:
              web: {kind: process, command: ["sleep", "300"]}
              tick: {kind: periodic, interval: 1h, command: "true"}
            """
        try E2E.withManifest(manifest) { directory in
            let result = try E2E.run(["up"], in: directory.path)
            #expect(result.status == 1)
            #expect(result.stdout.isEmpty)
            #expect(result.stderr.hasPrefix("orchestrate: this version of orchestrate cannot run these daemons yet:\n"))
            let line = try #require(result.stderr.split(separator: "\n").first { $0.contains("'web'") })
            #expect(line.contains("a process daemon"))
            #expect(!result.stderr.contains("'tick'"))
            #expect(result.stderr.contains("--set daemons.web.enabled=false"))
        }
    }

    @Test func upOnAnInvalidManifestIsABadManifest() throws {
        try E2E.withManifest("daemons:\n  a: {kind: periodic, interval: soon, command: x}\n") { directory in
            let result = try E2E.run(["up"], in: directory.path)
            #expect(result.status == 2)
            #expect(result.stderr.contains("daemons.yaml:2:33: daemons.a.interval: expected a duration"))
            #expect(!result.stderr.contains("cannot run"))
        }
    }

    @Test func helpSucceeds() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let result = try E2E.run(["--help"], in: directory.path)
        #expect(result.status == 0)
        for command in ["up", "validate", "config", "files", "schema"] {
            #expect(result.stdout.contains("  \(command) "), "help lacks \(command)")
        }
        let sub = try E2E.run(["config", "--help"], in: directory.path)
        #expect(sub.status == 0)
        #expect(sub.stdout.contains("--json"))
    }

    @Test(
        "unknown subcommands and options are usage errors",
        arguments: [["frobnicate"], ["validate", "--bogus"], ["--bogus", "validate"], ["config", "--yaml"]]
    )
    func usageErrors(_ arguments: [String]) throws {
        try E2E.withManifest("daemons:\n  a: {kind: process, command: x}\n") { directory in
            let result = try E2E.run(arguments, in: directory.path)
            #expect(result.status == 2)
            #expect(result.stdout.isEmpty)
            #expect(result.stderr.contains("Error: "))
            #expect(result.stderr.contains(arguments.first { $0 == "frobnicate" || $0.hasPrefix("--") }!))
        }
    }
}
