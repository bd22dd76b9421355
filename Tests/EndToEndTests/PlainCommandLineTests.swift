import ArgumentParser
import Testing

@testable import OrchestrateCLI

@Suite("Plain command lines, read without ArgumentParser")
struct PlainCommandLineTests {
    @Test(
        "each line it covers becomes the command ArgumentParser makes of it",
        arguments: [
            ["status"], ["status", "--file", "x.yaml"], ["status", "-f", "a b/x.yaml"], ["status", "--file=x.yaml"],
            ["down"], ["down", "-f", "x.yaml"], ["validate"], ["validate", "--file", "x.yaml"], ["up"], ["up", "-d"],
            ["up", "--detach"], ["up", "-d", "--wait"],
            ["up", "--wait", "-f", "y.yaml", "--detach"], ["up", "--wait"],
        ]
    )
    func readsTheLineAsArgumentParserDoes(_ line: [String]) throws {
        let plain = try #require(PlainCommandLine.command(line))
        let parsed = try Orchestrate.parseAsRoot(line)
        #expect(ObjectIdentifier(type(of: plain)) == ObjectIdentifier(type(of: parsed)))
        // The description lists every property; one left unset would read `*definition*`.
        #expect(String(describing: plain) == String(describing: parsed))
        #expect(!String(describing: plain).contains("definition"))
    }

    @Test("--version prints what ArgumentParser prints for it")
    func versionIsArgumentParsers() {
        do {
            _ = try Orchestrate.parseAsRoot(["--version"])
            Issue.record("ArgumentParser made a command of --version instead of printing the version")
        } catch {
            #expect(Orchestrate.exitCode(for: error) == .success)
            #expect(Orchestrate.fullMessage(for: error) == Orchestrate.configuration.version)
        }
    }

    @Test(
        "every other line is left to ArgumentParser",
        arguments: [
            [], ["status", "--json"], ["status", "web"], ["status", "--help"], ["status", "-f", "a", "-f", "b"],
            ["status", "--file="], ["status", "-f"], ["status", "-f", "--json"], ["up", "--set", "a=b"],
            ["up", "-d", "--detach"], ["up", "-d", "-d"], ["up", "-dw"], ["down", "--timeout", "5s"], ["logs"],
            ["validate", "--json"], ["--version"], ["up", "--generate-completion-script", "bash"],
        ]
    )
    func leavesEveryOtherLineToArgumentParser(_ line: [String]) {
        #expect(PlainCommandLine.command(line) == nil)
    }
}
