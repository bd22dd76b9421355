import DaemonKit
import FoundationEssentials

/// Finds the manifest the way the README says: `-f`, else `$ORCHESTRATE_FILE`, else `./daemons.yaml`,
/// else the nearest `daemons.yaml` in a parent folder (as git finds its repository).
public struct ManifestLocator: Sendable {
    /// The file name looked for.
    public static let fileName = "daemons.yaml"

    /// A found manifest: its absolute path and the name to show in messages.
    public struct Location: Hashable, Sendable {
        /// The absolute path.
        public var path: String
        /// The path as the user gave it, or relative to the current folder.
        public var label: String
    }

    /// Why no manifest was found.
    public struct NotFound: Error, Hashable, Sendable, CustomStringConvertible {
        /// One sentence.
        public var description: String
    }

    /// The current folder.
    public var currentDirectory: String
    /// The environment (`ORCHESTRATE_FILE`).
    public var environment: [String: String]

    /// Makes a locator for the process's current folder and environment.
    public init(
        currentDirectory: String = FileManager.default.currentDirectoryPath,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.currentDirectory = currentDirectory
        self.environment = environment
    }

    /// The manifest to use, given the `-f` option. A path `isKnown` accepts counts as found even when no file is there:
    /// the commands that talk to a supervisor find one running for a manifest a branch switch removed.
    public func locate(
        explicit: String?,
        orWhere isKnown: (String) -> Bool = { _ in false }
    ) throws(NotFound) -> Location {
        if let given = explicit ?? environment["ORCHESTRATE_FILE"].flatMap({ $0.isEmpty ? nil : $0 }) {
            let path = Paths.absolute(given, from: currentDirectory)
            guard FileManager.default.fileExists(atPath: path) || isKnown(path) else {
                let source = explicit == nil ? " (from ORCHESTRATE_FILE)" : ""
                throw NotFound(description: "manifest '\(given)'\(source) does not exist")
            }
            return Location(path: path, label: given)
        }
        var folder = Paths.absolute(".", from: currentDirectory)
        while true {
            let candidate = folder == "/" ? "/" + Self.fileName : folder + "/" + Self.fileName
            if FileManager.default.fileExists(atPath: candidate) || isKnown(candidate) {
                let label = Paths.relative(candidate, to: currentDirectory)
                return Location(path: candidate, label: label.hasPrefix("/") ? candidate : label)
            }
            guard folder != "/" else { break }
            folder = PathText.folder(of: folder)
            if folder.isEmpty { folder = "/" }
        }
        throw NotFound(
            description: "no \(Self.fileName) in \(currentDirectory) or any folder above it; name one with -f FILE"
        )
    }
}
