import ArgumentParser
import DaemonKit
import FoundationEssentials
import Orchestrator

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "List every supervisor this user runs on the machine, whatever its manifest.",
        discussion: """
            Each supervisor with its manifest, PID, uptime, number of daemons and how many are in each state, found \
            through the records supervisors keep in the user's runtime folder ($XDG_RUNTIME_DIR/orchestrate, else \
            /tmp/orchestrate-UID): one left running in another project, or for a manifest a branch switch removed, \
            shows here. `orchestrate down --all` stops them all.

            Exit status: 0 (also when none runs).

            Examples:
              orchestrate ls
              orchestrate ls --json
            """
    )

    @Flag(help: "Print a JSON array, one object per supervisor (fields may be added, never renamed).")
    var json = false

    func run() throws {
        let listings = SupervisorListing.all()
        if json {
            let encoder = StatusDocument.encoder
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            let data = (try? encoder.encode(listings)) ?? Data("[]".utf8)
            Terminal.out(String(decoding: data, as: UTF8.self) + "\n")
            return
        }
        guard !listings.isEmpty else {
            FileBytes.write(Array("no supervisor runs\n".utf8), to: 2)
            return
        }
        let now = Date()
        let rows =
            [["MANIFEST", "PID", "UPTIME", "DAEMONS", "STATES"]]
            + listings.map { listing in
                let seconds = max(0, Int(now.timeIntervalSince(listing.startedAt)))
                let gone = FileManager.default.fileExists(atPath: listing.manifest) ? "" : " (file gone)"
                return [
                    listing.manifest + gone, String(listing.pid), Duration.seconds(seconds).shortText,
                    String(listing.daemons), listing.stateSummary,
                ]
            }
        let widths = (0..<5).map { column in rows.map { $0[column].count }.max() ?? 0 }
        Terminal.out(
            rows.map { row in
                row.enumerated().map { $1.padded(to: $0 == 4 ? 0 : widths[$0]) }.joined(separator: "  ")
                    .trimmingWhitespace() + "\n"
            }.joined()
        )
    }
}
