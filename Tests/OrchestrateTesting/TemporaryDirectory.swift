import Foundation

/// A fresh folder under the system's temporary folder, removed by ``remove()``.
public struct TemporaryDirectory: Sendable {
    /// The folder's absolute path.
    public let path: String

    /// Makes a new, empty folder.
    public init(prefix: String = "orchestrate-test") throws {
        let base = FileManager.default.temporaryDirectory.path
        path = (base as NSString).appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// The absolute path of `relative` inside the folder.
    public func url(_ relative: String) -> String { (path as NSString).appendingPathComponent(relative) }

    /// Writes `contents` to `relative`, making folders as needed; returns the absolute path.
    @discardableResult
    public func write(_ relative: String, _ contents: String) throws -> String {
        let target = url(relative)
        try FileManager.default.createDirectory(
            atPath: (target as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true
        )
        try contents.write(toFile: target, atomically: false, encoding: .utf8)
        return target
    }

    /// Removes the folder and everything in it.
    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Runs `body` with a new folder and removes it afterwards.
    @discardableResult
    public static func with<T>(_ body: (TemporaryDirectory) throws -> T) throws -> T {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        return try body(directory)
    }
}

/// Writes `contents` to `path`, making its folder, from a short-lived child process: for tests that count what a
/// watcher reports.
///
/// A file written by the test process itself can be reported again, late. inotify sends IN_CLOSE_WRITE at the
/// last close of the file, and a child that another test spawns at that moment holds a copy of every descriptor
/// until its start-up has closed them (Foundation's `Process` closes them one by one, up to the descriptor limit):
/// the close then comes after the watcher's batch has gone. Here the child that writes holds the only descriptor.
public func writeFromChild(_ path: String, _ contents: String) throws {
    try FileManager.default.createDirectory(
        atPath: (path as NSString).deletingLastPathComponent,
        withIntermediateDirectories: true
    )
    let writer = Process()
    writer.executableURL = URL(fileURLWithPath: "/bin/sh")
    writer.arguments = ["-c", #"printf %s "$2" > "$1""#, "sh", path, contents]
    try writer.run()
    writer.waitUntilExit()
    guard writer.terminationStatus == 0 else {
        throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
    }
}

/// Writes `contents` to a new file in the temporary folder (from a child process, see ``writeFromChild(_:_:)``),
/// then renames it to `path`: a watcher of `path`'s folder sees one event, IN_MOVED_TO. A file written in place
/// gives IN_CREATE, IN_MODIFY and IN_CLOSE_WRITE, and when the writer is slow to close (a loaded machine), the
/// last can come after a short debounce has sent the batch, and make a second one.
public func writeByRename(_ path: String, _ contents: String) throws {
    let staged = FileManager.default.temporaryDirectory.path + "/staged-" + UUID().uuidString
    try writeFromChild(staged, contents)
    try FileManager.default.createDirectory(
        atPath: (path as NSString).deletingLastPathComponent,
        withIntermediateDirectories: true
    )
    guard rename(staged, path) == 0 else {
        let number = errno
        try? FileManager.default.removeItem(atPath: staged)
        throw POSIXError(POSIXErrorCode(rawValue: number) ?? .EIO)
    }
}
