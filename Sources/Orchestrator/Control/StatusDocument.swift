import DaemonKit
import FoundationEssentials
import Manifest

#if canImport(Glibc)
import Glibc
#endif

/// The document `GET /v1/status` and `orchestrate status --json` return: a contract for
/// scripts, whose fields may be added to but are never renamed.
public struct StatusDocument: Codable, Sendable {
    /// The supervisor itself.
    public struct Supervisor: Codable, Sendable {
        public var pid: Int32
        public var version: String
        public var manifest: String
        public var startedAt: Date
        public var stateDirectory: String
        public var socket: String

        enum CodingKeys: String, CodingKey {
            case pid, version, manifest
            case startedAt = "started_at"
            case stateDirectory = "state_dir"
            case socket
        }
    }

    public var supervisor: Supervisor
    /// The last reload of the manifest (null until the first).
    public var lastReload: ReloadReport?
    public var daemons: [DaemonRecord]

    enum CodingKeys: String, CodingKey {
        case supervisor
        case lastReload = "last_reload"
        case daemons
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(supervisor, forKey: .supervisor)
        try container.encode(lastReload, forKey: .lastReload)
        try container.encode(daemons, forKey: .daemons)
    }

    /// The encoder every status document is written with: ISO-8601 dates, stable key order.
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    /// The matching decoder.
    public static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}

/// The version `status` reports.
public enum OrchestrateVersion {
    /// The version of this build.
    public static let current = "0.1.0"
}

extension StatusDocument {
    /// The records `name` stands for: the daemon of that name, or each copy of a daemon with replicas (`web` for
    /// web#1…web#N); empty when there is neither.
    public func records(named name: String) -> [DaemonRecord] { DaemonSpec.named(name, in: daemons, by: \.name) }
}
