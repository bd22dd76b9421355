import ArgumentParser
import DaemonKit
import Foundation
import Manifest

struct Logs: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Show the daemons' logs, interleaved by time with each daemon's name in front."
    )

    @OptionGroup var logsManifest: LogsManifestOptions

    @Argument(help: "Only these daemons (\"orchestrate\" is the supervisor's own log).")
    var names: [String] = []

    @Flag(name: [.customShort("f"), .customLong("follow")], help: "Keep printing new lines until Ctrl-C.")
    var follow = false

    @Option(name: [.customShort("n"), .customLong("lines")], help: "How many lines of each log to show first.")
    var lines: Int = 20

    func run() throws {
        let manifest = logsManifest.manifestOptions
        let loaded = try manifest.load()
        let folder = loaded.manifest.stateDirectory + "/logs"
        let known = loaded.manifest.daemons.map(\.name) + ["orchestrate"]
        for name in names where !known.contains(name) {
            let hint = Suggestion.didYouMean(name, among: known).map { "; \($0)" } ?? ""
            throw CommandFailure.usage("no daemon named '\(name)'\(hint)")
        }
        if follow {
            try ControlContext(manifest).autoStart(manifest)
        }
        let selected = names.isEmpty ? known : names
        let width = selected.map(\.count).max() ?? 0
        func prefixed(_ name: String, _ line: String) -> String {
            name.padding(toLength: width, withPad: " ", startingAt: 0) + " | " + line
        }
        var entries: [(String, String)] = []
        var offsets: [String: UInt64] = [:]
        for name in selected {
            let path = "\(folder)/\(name).log"
            for line in RotatingLogFile.tail(path: path, lines: lines) { entries.append((line, name)) }
            offsets[name] = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? UInt64) ?? 0
        }
        entries = Self.byTime(entries)
        Terminal.out(entries.map { prefixed($0.1, $0.0) + "\n" }.joined())
        guard follow else { return }
        var pending: [String: String] = [:]
        while true {
            var fresh: [(String, String)] = []
            for name in selected {
                let path = "\(folder)/\(name).log"
                let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? UInt64) ?? 0
                var offset = offsets[name] ?? 0
                if size < offset { offset = 0 }  // rotated: the file started again
                guard size > offset, let handle = FileHandle(forReadingAtPath: path) else { continue }
                try? handle.seek(toOffset: offset)
                let data = (try? handle.readToEnd()) ?? Data()
                try? handle.close()
                offsets[name] = offset + UInt64(data.count)
                var text = (pending[name] ?? "") + String(decoding: data, as: UTF8.self)
                if let last = text.lastIndex(of: "\n") {
                    pending[name] = String(text[text.index(after: last)...])
                    text = String(text[...last])
                    for line in text.split(separator: "\n") { fresh.append((String(line), name)) }
                } else {
                    pending[name] = text
                }
            }
            fresh = Self.byTime(fresh)
            if !fresh.isEmpty { Terminal.out(fresh.map { prefixed($0.1, $0.0) + "\n" }.joined()) }
            usleep(100_000)
        }
    }

    /// Lines start with an ISO-8601 UTC timestamp, so comparing the stamps sorts by time; lines of the same
    /// instant keep their order within each log.
    static func byTime(_ entries: [(String, String)]) -> [(String, String)] {
        entries.enumerated().sorted { lhs, rhs in
            let left = lhs.element.0.prefix { $0 != " " }
            let right = rhs.element.0.prefix { $0 != " " }
            return left == right ? lhs.offset < rhs.offset : left < right
        }.map(\.element)
    }
}
