import DaemonKit
import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// The per-user runtime folder, `$XDG_RUNTIME_DIR/orchestrate` or `/tmp/orchestrate-UID`: where a running supervisor
/// records, under its manifest's path, its state folder. The commands find the supervisor through it while the
/// manifest on disk is not valid (after a bad save the supervisor keeps running the last good version, and `status`
/// must still reach it).
extension StateFolder {
    /// Records this folder as the one of the supervisor running `manifest`. Best effort: nothing is recorded when
    /// the runtime folder cannot be made safely.
    ///
    /// The folder is recorded under its own path too: several supervisors of one manifest (each with a state folder of
    /// its own, as the units of `export systemd` run them) are all listed by ``allRunning()``, while the manifest's
    /// record names the last one started.
    public func recordRunning(manifest: String) {
        guard let folder = Self.runtimeFolder(create: true) else { return }
        FileBytes.replace(folder + "/" + Self.recordName(manifest), with: Array(path.utf8))
        FileBytes.replace(folder + "/" + Self.folderRecordName(path), with: Array(path.utf8))
    }

    /// Removes this folder's record, and the record of `manifest` if it still names this folder (its supervisor
    /// stopping).
    public func forgetRunning(manifest: String) {
        guard let folder = Self.runtimeFolder(create: false) else { return }
        unlink(folder + "/" + Self.folderRecordName(path))
        guard Self.running(manifest: manifest) == self else { return }
        unlink(folder + "/" + Self.recordName(manifest))
    }

    /// The state folder recorded for `manifest` by a running supervisor, if any.
    public static func running(manifest: String) -> StateFolder? {
        guard let folder = runtimeFolder(create: false),
            let text = FileBytes.text(folder + "/" + recordName(manifest))
        else { return nil }
        let path = text.trimmingWhitespace()
        return path.isEmpty ? nil : StateFolder(path)
    }

    /// The state folders of every supervisor this user runs on the machine (those recorded, whose lock is held), in the
    /// order of their paths.
    public static func allRunning() -> [StateFolder] {
        guard let folder = runtimeFolder(create: false),
            let names = try? FileManager.default.contentsOfDirectory(atPath: folder)
        else { return [] }
        var folders: Set<String> = []
        for name in names where name.hasPrefix("manifest-") || name.hasPrefix("folder-") {
            guard let text = FileBytes.text(folder + "/" + name) else { continue }
            let path = text.trimmingWhitespace()
            if !path.isEmpty, PIDLock.isRunning(path: StateFolder(path).lockFile) { folders.insert(path) }
        }
        return folders.sorted().map(StateFolder.init)
    }

    /// The runtime folder, or nil when it is not one only this user can use (another owner, or open to others), so
    /// that no other user can plant a record.
    static func runtimeFolder(
        create: Bool,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> String? {
        let folder: String
        if let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty {
            folder = runtime + "/orchestrate"
        } else {
            folder = "/tmp/orchestrate-\(getuid())"
        }
        if create { mkdir(folder, 0o700) }
        // Read without following a symbolic link (lstat): a link planted there is refused too.
        guard PathText.isPrivateFolder(folder) else { return nil }
        return folder
    }

    private static func recordName(_ manifest: String) -> String { "manifest-\(stableHash(manifest))" }

    private static func folderRecordName(_ path: String) -> String { "folder-\(stableHash(path))" }
}
