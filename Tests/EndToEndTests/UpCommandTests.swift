import Foundation
import OrchestrateTesting
import Testing

@Suite("up and the command line")
struct UpCommandTests {
    @Test func upOnAnInvalidManifestIsABadManifest() async throws {
        try await E2E.withManifest("daemons:\n  a: {kind: periodic, interval: soon, command: x}\n") { directory in
            let result = try await E2E.run(["up"], in: directory.path)
            #expect(result.status == 2)
            #expect(result.stderr.contains("daemons.yaml:2:33: daemons.a.interval: expected a duration"))
        }
    }

    @Test func helpSucceeds() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let result = try await E2E.run(["--help"], in: directory.path)
        #expect(result.status == 0)
        for command in ["up", "validate", "config", "files", "schema"] {
            #expect(result.stdout.contains("  \(command) "), "help lacks \(command)")
        }
        let sub = try await E2E.run(["config", "--help"], in: directory.path)
        #expect(sub.status == 0)
        #expect(sub.stdout.contains("--json"))
    }

    @Test(
        "unknown subcommands and options are usage errors",
        arguments: [["frobnicate"], ["validate", "--bogus"], ["--bogus", "validate"], ["config", "--yaml"]]
    )
    func usageErrors(_ arguments: [String]) async throws {
        try await E2E.withManifest("daemons:\n  a: {kind: process, command: x}\n") { directory in
            let result = try await E2E.run(arguments, in: directory.path)
            #expect(result.status == 2)
            #expect(result.stdout.isEmpty)
            #expect(result.stderr.contains("Error: "))
            #expect(result.stderr.contains(arguments.first { $0 == "frobnicate" || $0.hasPrefix("--") }!))
        }
    }
}
