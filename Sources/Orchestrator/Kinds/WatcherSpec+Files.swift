import DaemonKit
import Manifest

extension WatcherSpec {
    /// The files the watcher covers now, relative to `directory` (the manifest's folder) where they lie
    /// beneath it, sorted.
    public func coveredFiles(relativeTo directory: String) throws(DaemonKitError) -> [String] {
        try FileScanner(files).scan().map { Paths.relative($0, to: directory) }.sorted()
    }
}
