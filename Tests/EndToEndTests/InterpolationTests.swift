import Foundation
import OrchestrateTesting
import Testing

@Suite("interpolation through the binary")
struct InterpolationTests {
    /// Runs `config --json` on `manifest` and returns daemon `a`'s command list.
    private func command(
        _ manifest: String,
        environment: [String: String] = [:],
        files: [String: String] = [:]
    ) async throws -> (CommandResult, [String]?) {
        try await E2E.withManifest(manifest) { directory in
            for (name, contents) in files { try directory.write(name, contents) }
            let result = try await E2E.run(["config", "--json"], in: directory.path, environment: environment)
            guard result.status == 0 else { return (result, nil) }
            let document = try E2E.jsonObject(result.stdout)
            return (result, try E2E.daemon("a", in: document)["command"] as? [String])
        }
    }

    @Test func composeForms() async throws {
        let manifest = """
            daemons:
              a:
                kind: process
                command: ["${A:-dflt}", "${UNSET:-dflt}", "${EMPTY:-dflt}", "${EMPTY-dflt}", "$$HOME", "$X", "${Y:-${Z:-nested}}", "${A:+alt}", "${EMPTY+alt}", "${EMPTY:+alt}", "a$}b"]

            """
        let (result, command) = try await command(manifest, environment: ["A": "set", "X": "xx", "EMPTY": ""])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(command == ["set", "dflt", "dflt", "", "$HOME", "xx", "nested", "alt", "alt", "", "a$}b"])
    }

    @Test func requiredVariableMissingFailsWithItsMessage() async throws {
        let manifest = """
            daemons:
              a:
                kind: process
                command: ["${A:-dflt}", "${B:?B is required}"]

            """
        let (result, _) = try await command(manifest)
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(
            result.stderr.contains(
                "daemons.yaml:4:29: daemons.a.command[1]: required variable B is missing a value: B is required"
            )
        )
    }

    @Test func requiredVariableSetPasses() async throws {
        let manifest = "daemons:\n  a:\n    kind: process\n    command: [\"${B:?B is required}\"]\n"
        let (result, command) = try await command(manifest, environment: ["B": "here"])
        #expect(result.status == 0)
        #expect(command == ["here"])
    }

    @Test func malformedTemplateIsAnError() async throws {
        let manifest = "daemons:\n  a:\n    kind: process\n    command: [\"${foo!}\"]\n"
        let (result, _) = try await command(manifest)
        #expect(result.status == 2)
        #expect(result.stderr.contains("daemons.yaml:4:15: daemons.a.command[0]: invalid template: \"${foo!}\""))
    }

    @Test func unsetVariableWarnsAndIsBlank() async throws {
        let manifest = "daemons:\n  a:\n    kind: process\n    command: [\"x${NOT_SET_ANYWHERE}y\"]\n"
        let (result, command) = try await command(manifest)
        #expect(result.status == 0)
        #expect(command == ["xy"])
        #expect(result.stderr.contains("the NOT_SET_ANYWHERE variable is not set; defaulting to a blank string"))
    }

    @Test func aVariableOrchestrateSetsAtRunTimeWarnsWithHowToPassIt() async throws {
        let manifest = """
            daemons:
              a:
                kind: process
                command: ["sh", "-c", "cat $ORCHESTRATE_CHANGED_FILE $$ORCHESTRATE_RUN"]

            """
        let (result, command) = try await command(manifest)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(command == ["sh", "-c", "cat  $ORCHESTRATE_RUN"])
        #expect(
            result.stderr.contains(
                "the ORCHESTRATE_CHANGED_FILE variable is not set; defaulting to a blank string; ORCHESTRATE_CHANGED_FILE"
                    + " is set by orchestrate when the command runs; write $$ORCHESTRATE_CHANGED_FILE to pass it to the"
                    + " command"
            ),
            "stderr: \(result.stderr)"
        )
        #expect(!result.stderr.contains("ORCHESTRATE_RUN variable"))
    }

    static let dotEnv = """
        # a comment line
        export A=fromfile
        B="quoted value"
        C='single $X'
        D=plain # trailing comment

        E=from-env-file
        """

    @Test func envFileFeedsInterpolation() async throws {
        let manifest = """
            env_file: .env
            daemons:
              a:
                kind: process
                command: ["$A", "$B", "$C", "$D", "${E}"]

            """
        let (result, command) = try await command(manifest, files: [".env": Self.dotEnv])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(command == ["fromfile", "quoted value", "single $X", "plain", "from-env-file"])
    }

    @Test func processEnvironmentWinsOverEnvFile() async throws {
        let manifest = """
            env_file: .env
            daemons:
              a:
                kind: process
                command: ["$A", "$E"]

            """
        let (result, command) = try await command(manifest, environment: ["A": "fromenv"], files: [".env": Self.dotEnv])
        #expect(result.status == 0)
        #expect(command == ["fromenv", "from-env-file"])
    }

    @Test func envFileIsRelativeToTheManifestNotTheCurrentFolder() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try directory.write("project/.env", "A=beside-the-manifest\n")
        try directory.write(".env", "A=in-the-current-folder\n")
        try directory.write(
            "project/daemons.yaml",
            "env_file: .env\ndaemons:\n  a: {kind: process, command: [\"$A\"]}\n"
        )
        let result = try await E2E.run(["-f", "project/daemons.yaml", "config", "--json"], in: directory.path)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let command = try E2E.daemon("a", in: E2E.jsonObject(result.stdout))["command"] as? [String]
        #expect(command == ["beside-the-manifest"])
    }

    @Test func missingEnvFileIsAnError() async throws {
        let manifest = "env_file: nothere.env\ndaemons:\n  a: {kind: process, command: x}\n"
        let (result, _) = try await command(manifest)
        #expect(result.status == 2)
        #expect(result.stderr.contains("daemons.yaml:1:11: env_file: env_file 'nothere.env' cannot be read"))
    }
}
