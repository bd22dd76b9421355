import ArgumentParser
import DaemonKit
import FoundationEssentials
import Manifest

#if canImport(Glibc)
import Glibc
#endif

/// The `orchestrate` command line: parsing arguments and printing; all behaviour is in the libraries.
struct Orchestrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "orchestrate",
        abstract: "A declarative daemon orchestrator: runs the daemons a daemons.yaml declares.",
        discussion: """
            The manifest is -f FILE, else $ORCHESTRATE_FILE, else ./daemons.yaml, else the nearest daemons.yaml in a parent \
            folder. -f and --set may come before the command or after it. Any field can be set from outside: \
            ORCHESTRATE__DAEMONS__NAME__FIELD=VALUE in the environment, or --set daemons.NAME.field=VALUE (read as YAML; \
            null unsets a field).

            Exit status: 0 ok; 1 failure; 2 bad manifest or usage; 3 no supervisor runs. `trigger --wait` exits with the \
            run's status.

            Examples:
              orchestrate validate
              orchestrate up -d --wait
              orchestrate status
              orchestrate down

            The manual: docs/manifest.md (every field), docs/cli.md (every command), docs/control-api.md (the control API).
            """,
        version: "0.1.0",
        subcommands: [
            Up.self, Down.self, Reload.self, Status.self, Top.self, DashboardCommand.self, Logs.self, Events.self,
            Trigger.self, Start.self,
            Stop.self,
            Restart.self, Scale.self,
            List.self, Validate.self, Config.self, Files.self, Schema.self, RunCommand.self, Export.self, Install.self,
            MCPCommand.self,
            Reference.self,
        ]
    )

    /// Parses `arguments` and runs the command; its exit status, with the codes the README lists: 0 ok, 1 failure, 2 bad
    /// manifest or usage.
    @MainActor
    static func execute(_ arguments: [String]) async -> Int32 {
        do {
            let arguments = GlobalOptions.movedAfterSubcommand(arguments)
            if arguments == ["--version"] {
                // What ArgumentParser prints for it, without its start-up (see PlainCommandLine).
                Terminal.out(configuration.version + "\n")
                return 0
            }
            var command: any ParsableCommand
            if let plain = PlainCommandLine.command(arguments) {
                command = plain
            } else {
                command = try parseAsRoot(arguments)
            }
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            return 0
        } catch let exit as ExitCode {
            return exit.rawValue
        } catch let failure as CommandFailure {
            Terminal.error(failure.message)
            return failure.status
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if code == .success {
                Terminal.out(message + "\n")
                return 0
            }
            Terminal.error(message)
            // ArgumentParser uses EX_USAGE (64) for usage errors; orchestrate promises 2.
            return code == .validationFailure ? 2 : code.rawValue
        }
    }
}

/// A command that failed with a message and an exit status.
struct CommandFailure: Error {
    var message: String
    var status: Int32

    /// A bad manifest or bad usage: exit status 2.
    static func usage(_ message: String) -> CommandFailure { CommandFailure(message: message, status: 2) }
    /// Anything else that failed: exit status 1.
    static func failure(_ message: String) -> CommandFailure { CommandFailure(message: message, status: 1) }

    /// The daemons `name` stands for among `known`: itself, or the copies of a daemon with replicas (`web` for
    /// web#1…web#N); "no daemon named 'wbe'; did you mean 'web'?" (exit status 2) when neither.
    static func daemons(_ name: String, among known: [String]) throws(CommandFailure) -> [String] {
        let named = DaemonSpec.named(name, in: known, by: { $0 })
        guard named.isEmpty else { return named }
        let groups = Set(known.map { String(DaemonSpec.group(of: $0)) })
        let hint = Suggestion.didYouMean(name, among: groups.sorted()).map { "; \($0)" } ?? ""
        throw .usage("no daemon named '\(name)'\(hint)")
    }
}

/// Writes to the standard streams through file descriptors (the C `stdout` global is not concurrency-safe).
enum Terminal {
    static func out(_ text: String) { FileBytes.write(Array(text.utf8), to: 1) }

    static func error(_ text: String) {
        let line = text.hasSuffix("\n") ? text : text + "\n"
        FileBytes.write(Array(("orchestrate: " + line).utf8), to: 2)
    }

    static func warning(_ text: String) { FileBytes.write(Array(("warning: " + text + "\n").utf8), to: 2) }

    /// Whether standard output is a terminal.
    static var isTTY: Bool { isatty(1) == 1 }

    /// Colour only on a terminal, and never with NO_COLOR.
    static var usesColour: Bool { isTTY && ProcessInfo.processInfo.environment["NO_COLOR"] == nil }
}

/// `orchestrate [-f FILE] [--set P=V] COMMAND …`: the manifest options may come before the command, as
/// the README writes them; ArgumentParser reads options after the subcommand, so they are moved there.
enum GlobalOptions {
    static let withValue: Set<String> = ["-f", "--file", "--set"]
    /// The commands whose own subcommands read the options.
    static let parents: Set<String> = ["export"]

    static func movedAfterSubcommand(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if withValue.contains(argument), index + 1 < arguments.count {
                // Moved after the command, a `-f FILE` is written `--file FILE`: `logs -f` means "follow".
                leading += [argument == "-f" ? "--file" : argument, arguments[index + 1]]
                index += 2
            } else if argument.hasPrefix("--file=") || argument.hasPrefix("--set=") {
                leading.append(argument)
                index += 1
            } else {
                break
            }
        }
        guard !leading.isEmpty, index < arguments.count, !arguments[index].hasPrefix("-") else { return arguments }
        // A command with subcommands (`export systemd`) takes the options after its subcommand's name.
        var end = index + 1
        if parents.contains(arguments[index]), end < arguments.count, !arguments[end].hasPrefix("-") { end += 1 }
        return Array(arguments[index..<end]) + leading + arguments[end...]
    }
}

/// The commonest command lines, read without ArgumentParser: `up`, `up -d`, `up -d --wait`, `down`, `status` and
/// `validate`, each with at most one `-f`/`--file`. Before its first parse in a process, ArgumentParser reflects every
/// command on the way (Mirror and dynamic casts), and each first conformance check scans all of the binary's 6,000
/// conformance records: some forty scans, 2 ms of a 7 ms `status`. Any other line goes to ArgumentParser, which stays
/// the one definition of the grammar; a test checks that both read every line covered here into the same command.
enum PlainCommandLine {
    static func command(_ arguments: [String]) -> (any ParsableCommand)? {
        guard let name = arguments.first else { return nil }
        var options = ManifestOptions()
        options.file = nil
        options.set = []
        var flags: [String] = []
        var rest = arguments.dropFirst()
        while let argument = rest.popFirst() {
            if argument == "-f" || argument == "--file" {
                guard options.file == nil, let value = rest.popFirst(), !value.isEmpty, !value.hasPrefix("-") else {
                    return nil
                }
                options.file = value
            } else if argument.hasPrefix("--file=") {
                let value = String(argument.dropFirst("--file=".count))
                guard options.file == nil, !value.isEmpty else { return nil }
                options.file = value
            } else if !flags.contains(argument) {
                flags.append(argument)
            } else {
                return nil
            }
        }
        switch (name, Set(flags)) {
        case ("status", []):
            var status = Status()
            status.manifest = options
            status.name = nil
            status.json = false
            status.watch = false
            status.ready = false
            return status
        case ("validate", []):
            var validate = Validate()
            validate.manifest = options
            return validate
        case ("down", []):
            var down = Down()
            down.manifest = options
            down.timeout = Down.defaultTimeout
            down.all = false
            return down
        case ("up", let flags) where flags.isSubset(of: ["-d", "--detach", "--wait"]):
            guard !flags.isSuperset(of: ["-d", "--detach"]) else { return nil }
            var up = Up()
            up.manifest = options
            up.detach = !flags.isDisjoint(with: ["-d", "--detach"])
            up.wait = flags.contains("--wait")
            up.only = []
            up.except = []
            up.noDeps = false
            return up
        default:
            return nil
        }
    }
}
