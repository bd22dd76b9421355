/// What a file watcher hands over once changes have settled: the files that changed, and whether some
/// changes may have been lost so that the consumer must look at everything again.
public struct FileChangeBatch: Sendable, Hashable, CustomStringConvertible {
    /// The changed files (created, modified, deleted or renamed to or from), as absolute paths, sorted as
    /// ``FileScanner/scan()`` sorts them, without duplicates.
    public var paths: [String]
    /// Whether the watcher lost track of some changes (an inotify queue overflow, a folder moved away):
    /// `paths` may then be partial and the consumer should do a full rescan.
    public var rescan: Bool

    /// Makes a batch, sorting and de-duplicating `paths`.
    public init(paths: some Sequence<String>, rescan: Bool = false) {
        self.paths = Array(Set(paths)).sorted()
        self.rescan = rescan
    }

    /// The paths, one per line, and a note when the batch asks for a rescan.
    public var description: String {
        (rescan ? "(rescan)\n" : "") + paths.joined(separator: "\n")
    }
}
