import ArgumentParser
import DaemonKit
import Manifest

/// The command line's part of the manual (`docs/cli.md`): one generated block for each command, `command NAME`,
/// made from the same definitions as its `--help` (and the man pages that swift-argument-parser's generate-manual
/// makes of them), so the three cannot disagree.
enum CLIReference {
    /// The blocks: `command orchestrate` (the overview and the commands), then one for each visible command.
    static var blocks: [ManifestReference.Block] {
        let commands = Orchestrate.configuration.subcommands.filter { $0.configuration.shouldDisplay }
        return [block(Orchestrate.self, name: "orchestrate")]
            + commands.flatMap { command in
                // A command of commands (`export`) has a block of its own, then one for each of its commands.
                let name = command.configuration.commandName ?? ""
                return [block(command, name: name)]
                    + command.configuration.subcommands.filter { $0.configuration.shouldDisplay }.map { sub in
                        block(sub, name: name + " " + (sub.configuration.commandName ?? ""))
                    }
            }
    }

    /// A command's abstract and discussion as Markdown, then its usage and options as `--help` prints them.
    private static func block(_ command: any ParsableCommand.Type, name: String) -> ManifestReference.Block {
        let configuration = command.configuration
        var text = configuration.abstract + "\n\n"
        for paragraph in configuration.discussion.split(separator: "\n\n") {
            let lines = paragraph.split(separator: "\n")
            // "Examples:" and the indented command lines under it become a shell block.
            if lines.count > 1, lines.dropFirst().allSatisfy({ $0.hasPrefix("  ") }) {
                text += lines[0] + "\n\n```sh\n" + lines.dropFirst().map { $0.dropFirst(2) + "\n" }.joined() + "```\n\n"
            } else {
                text += paragraph + "\n\n"
            }
        }
        let help = Orchestrate.helpMessage(for: command, columns: 100)
        let usage = help.firstRange(of: "USAGE:").map { help[$0.lowerBound...] } ?? help[...]
        text += "```text\n" + usage.trimmingWhitespace() + "\n```\n"
        let heading = name == "orchestrate" ? "orchestrate" : "orchestrate \(name)"
        return ManifestReference.Block(name: "command \(name)", group: "cli", heading: heading, text: text)
    }
}
