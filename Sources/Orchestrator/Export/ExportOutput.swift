/// What `orchestrate export` makes of a manifest: files for another engine (Kubernetes objects, systemd units), and a
/// warning for each thing that does not carry over as it means in the manifest.
public struct ExportOutput: Sendable, Hashable {
    /// One file to write.
    public struct File: Sendable, Hashable {
        /// The file's name, without a folder (`web.service`, `web-deployment.yaml`).
        public var name: String
        /// Its text, ending with a line break.
        public var contents: String

        public init(name: String, contents: String) {
            self.name = name
            self.contents = contents
        }
    }

    /// Something that does not carry over, or carries over differently, said in a sentence.
    public struct Warning: Sendable, Hashable, CustomStringConvertible {
        /// The daemon it is about; nil for the manifest as a whole.
        public var daemon: String?
        /// What happens instead, and what to do about it.
        public var message: String

        public init(daemon: String?, _ message: String) {
            self.daemon = daemon
            self.message = message
        }

        /// `issues-sync: …`, or the message alone.
        public var description: String { daemon.map { "\($0): \(message)" } ?? message }
    }

    /// The files, in the order they are printed.
    public var files: [File]
    /// The warnings, in the order they were found.
    public var warnings: [Warning]
    /// Notes for the user that are not warnings (the Secret to create, the commands to run), printed after the files.
    public var notes: [String]

    public init(files: [File] = [], warnings: [Warning] = [], notes: [String] = []) {
        self.files = files
        self.warnings = warnings
        self.notes = notes
    }
}
