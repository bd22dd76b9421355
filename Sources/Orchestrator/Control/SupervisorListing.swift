import DaemonKit
import FoundationEssentials
import Manifest

/// One supervisor of `orchestrate ls`, and the shape of one entry of `ls --json` (fields may be added, never renamed):
/// its manifest, PID, start, state folder, and how many of its daemons are in each state.
public struct SupervisorListing: Codable, Sendable {
    /// The manifest it runs, absolute (its file may be gone: a branch switch, say).
    public var manifest: String
    /// Its process.
    public var pid: Int32
    /// When it started.
    public var startedAt: Date
    /// Its state folder.
    public var stateDirectory: String
    /// How many daemons it runs.
    public var daemons: Int
    /// How many daemons are in each state, by the state's name.
    public var states: [String: Int]

    enum CodingKeys: String, CodingKey {
        case manifest, pid, daemons, states
        case startedAt = "started_at"
        case stateDirectory = "state_dir"
    }

    /// The listing of the supervisor `document` describes.
    public init(_ document: StatusDocument) {
        manifest = document.supervisor.manifest
        pid = document.supervisor.pid
        startedAt = document.supervisor.startedAt
        stateDirectory = document.supervisor.stateDirectory
        daemons = document.daemons.count
        states = Dictionary(document.daemons.map { ($0.state.name, 1) }, uniquingKeysWith: +)
    }

    /// Every supervisor this user runs on the machine that answers within `timeout`, by manifest.
    public static func all(timeout: Duration = .seconds(2)) -> [SupervisorListing] {
        StateFolder.allRunning().compactMap { folder in
            (try? SupervisorClient(stateFolder: folder, timeout: timeout).status()).map(SupervisorListing.init)
        }.sorted { $0.manifest < $1.manifest }
    }

    /// The states in the order a summary names them: what runs first, what needs a look last.
    static let order: [DaemonRecord.State] = [
        .running, .idle, .starting, .waiting, .backoff, .stopping, .stopped, .completed, .failed, .disabled,
    ]

    /// `3 running, 1 idle, 1 failed`.
    public var stateSummary: String {
        let known = Set(Self.order.map(\.name))
        let names = Self.order.map(\.name) + states.keys.filter { !known.contains($0) }.sorted()
        return names.compactMap { name in states[name].map { "\($0) \(name)" } }.joined(separator: ", ")
    }
}
