import ArgumentParser
import DaemonKit
import FoundationEssentials
import Manifest
import Orchestrator

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract:
            "Write the manifest as Kubernetes objects or systemd units, with warnings for what does not carry over.",
        subcommands: [ExportKubernetes.self, ExportSystemd.self]
    )
}

/// Where an export goes: the files into a folder (`-o DIR`), or one stream on standard output; the warnings and notes
/// on standard error either way.
struct ExportDestination: ParsableArguments {
    @Option(name: [.customShort("o"), .customLong("output")], help: "Write one file per object into this folder.")
    var output: String?

    /// Writes `export`'s files, each after `header(file)` on standard output, or into ``output``.
    func write(_ export: ExportOutput, header: (ExportOutput.File) -> String) throws {
        if let output {
            do {
                try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
                for file in export.files {
                    let path = output.hasSuffix("/") ? output + file.name : output + "/" + file.name
                    try Data(file.contents.utf8).write(to: URL(fileURLWithPath: path))
                }
            } catch {
                throw CommandFailure.failure("cannot write into \(output): \(error)")
            }
        } else {
            Terminal.out(export.files.map { header($0) + $0.contents }.joined())
        }
        for warning in export.warnings { Terminal.warning(warning.description) }
        for note in export.notes { FileBytes.write(Array((note + "\n").utf8), to: 2) }
        if let output {
            FileBytes.write(Array("wrote \(export.files.count) files into \(output)\n".utf8), to: 2)
        }
    }
}
