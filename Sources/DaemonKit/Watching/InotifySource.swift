#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The raw side of ``InotifyWatcher``: one inotify descriptor with a watch on every folder the scanner would
/// walk, turning events into covered paths that changed.
///
/// Only folders are watched: a watch on a file dies when an editor replaces it by rename, while the folder's
/// `IN_MOVED_TO` shows the save. A configured path that is a file is covered by watching its folder.
final class InotifySource: ChangeSource {
    /// Events asked for on every folder.
    private static let mask = UInt32(
        IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO
            | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR
    )
    /// Big enough for many events per `read`; it must hold at least one header plus `NAME_MAX + 1` bytes of
    /// name, or `read` fails with `EINVAL`.
    private static let bufferSize = 64 * 1024
    /// Reads per wake-up at most, so a flood of events cannot keep the monitor from emitting due batches.
    private static let readsPerRound = 64
    /// The size of `struct inotify_event` without its name.
    private static let headerSize = 16

    private let scanner: FileScanner
    private let inotify: Int32
    private let buffer: UnsafeMutableRawBufferPointer
    /// Watched folder of each watch descriptor, and the reverse.
    private var folders: [Int32: String] = [:]
    private var watches: [String: Int32] = [:]
    /// Watched subfolders of each watched folder, so forgetting a folder forgets its subtree cheaply.
    private var subfolders: [String: Set<String>] = [:]
    /// Watches that stand for a configured path (its folder, or the folder of a configured file), with that
    /// path: losing one of them ends the watcher.
    private var roots: [Int32: String] = [:]
    /// The last file event's path and whether it is covered, as one write brings several events in a row;
    /// forgotten on any folder event or `.gitignore` change, which can change the answer.
    private var lastFile: (path: String, covered: Bool)?

    var descriptor: Int32? { inotify }
    var nextPoll: ContinuousClock.Instant? { nil }

    /// Opens the inotify descriptor and watches every covered folder.
    init(_ configuration: FileScanner.Configuration) throws(DaemonKitError) {
        precondition(Self.bufferSize >= Self.headerSize + Int(NAME_MAX) + 1)
        scanner = FileScanner(configuration)
        inotify = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard inotify >= 0 else { throw DaemonKitError.inotifyUnavailable(errno: errno) }
        buffer = .allocate(byteCount: Self.bufferSize, alignment: MemoryLayout<inotify_event>.alignment)
        do {
            try watchRoots()
        } catch {
            close()
            throw error
        }
    }

    func close() {
        closeDescriptor(inotify)
        buffer.deallocate()
    }

    func poll(at now: ContinuousClock.Instant, into changes: inout RawChanges) throws(DaemonKitError) {}

    func readReady(into changes: inout RawChanges) throws(DaemonKitError) {
        for _ in 0..<Self.readsPerRound {
            let count = read(inotify, buffer.baseAddress, buffer.count)
            if count < 0 {
                let code = errno
                if code == EINTR { continue }
                if code == EAGAIN || code == EWOULDBLOCK { return }
                throw DaemonKitError(code: .watchFailed, message: "cannot read inotify events", errno: code)
            }
            if count == 0 { return }
            var offset = 0
            while offset + Self.headerSize <= count {
                let descriptor = buffer.loadUnaligned(fromByteOffset: offset, as: Int32.self)
                let mask = buffer.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                let length = Int(buffer.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                let nameStart = offset + Self.headerSize
                let nameBytes = UnsafeRawBufferPointer(rebasing: buffer[nameStart..<min(nameStart + length, count)])
                // The name is NUL-padded up to `len`.
                let name = String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
                offset = nameStart + length
                try handle(descriptor, mask, name, into: &changes)
            }
        }
    }

    /// Turns one event into changes and watch updates.
    private func handle(
        _ descriptor: Int32,
        _ mask: UInt32,
        _ name: String,
        into changes: inout RawChanges
    )
        throws(DaemonKitError)
    {
        if mask & UInt32(IN_Q_OVERFLOW) != 0 {
            changes.rescan = true
            try resynchronize()
            return
        }
        guard let folder = folders[descriptor] else { return }  // a watch already forgotten
        if mask & UInt32(IN_ISDIR) != 0 || name == ".gitignore" { lastFile = nil }
        if mask & UInt32(IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT) != 0 {
            if let root = roots[descriptor] { throw DaemonKitError.watchPathRemoved(root) }
            // The parent's IN_DELETE or IN_MOVED_FROM handles a subfolder; this only catches the watch the
            // kernel dropped on its own.
            if mask & UInt32(IN_IGNORED) != 0, watches[folder] == descriptor { forget(folder, removeWatch: false) }
            return
        }
        guard !name.isEmpty else { return }  // an event about the folder itself, such as IN_ATTRIB
        let path = DirectoryReader.join(folder, name)
        if mask & UInt32(IN_ISDIR) != 0 {
            if mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0 {
                // Files may already be inside a new folder before its watch exists: scan it once.
                if scanner.covers(path, isDirectory: true) { try watchTree(path, reportFiles: true, into: &changes) }
            } else if mask & UInt32(IN_DELETE | IN_MOVED_FROM) != 0 {
                let wasWatched = forget(path)
                // The files of a folder moved away are gone from the tree without an event of their own.
                if wasWatched && mask & UInt32(IN_MOVED_FROM) != 0 { changes.rescan = true }
            }
            return
        }
        // A write shows as IN_CREATE, IN_MODIFY and IN_CLOSE_WRITE in a row: decide once per file.
        if let last = lastFile, last.path == path {
            if last.covered { changes.paths.append(path) }
            return
        }
        let covered = scanner.covers(path, isDirectory: false)
        lastFile = (path, covered)
        if covered { changes.paths.append(path) }
    }

    /// Watches the configured paths, throwing when one of them cannot be watched.
    private func watchRoots() throws(DaemonKitError) {
        var ignored = RawChanges()
        for original in scanner.configuration.paths {
            let root = Self.normalized(original)
            var kind: DirectoryReader.Kind
            do {
                kind = try DirectoryReader.targetKind(of: root)
            } catch {
                throw DaemonKitError.watch(original, errno: error.errno)
            }
            // The link itself is an entry of its folder, as a file is.
            if scanner.configuration.linksAsEntries, DirectoryReader.linkKind(of: root) == .symbolicLink {
                kind = .regularFile
            }
            switch kind {
            case .directory:
                let descriptor = try addWatch(root, mustSucceed: true)!
                roots[descriptor] = original
                try watchTree(root, reportFiles: false, into: &ignored)
            case .regularFile:
                let folder = Self.parent(of: root)
                let descriptor = try addWatch(folder, mustSucceed: true)!
                roots[descriptor] = original
            default:
                throw DaemonKitError(
                    code: .watchFailed,
                    message: "cannot watch '\(original)': it is neither a folder nor a regular file"
                )
            }
        }
    }

    /// Watches `folder` and every covered folder below it; with `reportFiles`, adds the covered files found
    /// on the way. Each watch is added before its folder is listed, so nothing created meanwhile is missed.
    /// Returns the folders visited.
    @discardableResult
    private func watchTree(
        _ folder: String,
        reportFiles: Bool,
        into changes: inout RawChanges
    )
        throws(DaemonKitError) -> [String]
    {
        var visited: [String] = []
        var pending = [folder]
        while let current = pending.popLast() {
            guard try addWatch(current, mustSucceed: false) != nil else { continue }
            visited.append(current)
            guard let entries = try? DirectoryReader.entries(of: current) else { continue }
            for entry in entries {
                let path = DirectoryReader.join(current, entry.name)
                switch entry.kind {
                case .directory:
                    if entry.name != ".git", scanner.covers(path, isDirectory: true) { pending.append(path) }
                case .regularFile:
                    if reportFiles, scanner.covers(path, isDirectory: false) { changes.paths.append(path) }
                case .symbolicLink:
                    guard reportFiles, (try? DirectoryReader.targetKind(of: path)) == .regularFile else { continue }
                    if scanner.covers(path, isDirectory: false) { changes.paths.append(path) }
                case .other:
                    continue
                }
            }
        }
        return visited
    }

    /// Adds (or renews) the watch on `folder`. A folder that vanished or cannot be read is skipped, as a scan
    /// skips it, unless `mustSucceed`; a reached watch limit always throws.
    private func addWatch(_ folder: String, mustSucceed: Bool) throws(DaemonKitError) -> Int32? {
        let descriptor = inotify_add_watch(inotify, folder, Self.mask)
        guard descriptor >= 0 else {
            let code = errno
            if mustSucceed || code == ENOSPC || code == ENOMEM { throw DaemonKitError.watch(folder, errno: code) }
            return nil
        }
        if let previous = folders[descriptor], previous != folder, watches[previous] == descriptor {
            // The same folder under a new name (moved before its old name was forgotten).
            forget(previous, removeWatch: false)
        }
        folders[descriptor] = folder
        watches[folder] = descriptor
        let parent = Self.parent(of: folder)
        if parent != folder, watches[parent] != nil { subfolders[parent, default: []].insert(folder) }
        return descriptor
    }

    /// Drops the watches of `folder` and its subtree; returns whether `folder` was watched.
    @discardableResult
    private func forget(_ folder: String, removeWatch: Bool = true) -> Bool {
        guard let descriptor = watches.removeValue(forKey: folder) else { return false }
        if folders[descriptor] == folder { folders[descriptor] = nil }
        roots[descriptor] = nil
        // A folder moved away still exists elsewhere; its watch must go, or its events would be read under
        // the old path. For a deleted folder this fails harmlessly.
        if removeWatch { inotify_rm_watch(inotify, descriptor) }
        subfolders[Self.parent(of: folder)]?.remove(folder)
        for child in subfolders.removeValue(forKey: folder) ?? [] { forget(child, removeWatch: removeWatch) }
        return true
    }

    /// After an overflow, events (new folders among them) were lost: watch every covered folder again and
    /// forget the ones that are gone.
    private func resynchronize() throws(DaemonKitError) {
        var ignored = RawChanges()
        var visited: Set<String> = []
        for (descriptor, original) in roots {
            // A configured file's folder is watched alone, and stays.
            guard let folder = folders[descriptor] else { continue }
            visited.insert(folder)
            guard folder == Self.normalized(original) else { continue }
            visited.formUnion(try watchTree(folder, reportFiles: false, into: &ignored))
        }
        for stale in Array(watches.keys) where !visited.contains(stale) { forget(stale) }
    }

    /// The path without trailing slashes, as ``FileScanner`` compares them.
    private static func normalized(_ path: String) -> String {
        var path = Substring(path)
        while path.count > 1, path.hasSuffix("/") { path = path.dropLast() }
        return String(path)
    }

    private static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

/// `close(2)`, reachable from a type that has a `close()` of its own.
private func closeDescriptor(_ descriptor: Int32) {
    _ = close(descriptor)
}
