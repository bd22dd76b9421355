import DaemonKit
import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// Which manifest a state folder belongs to: ``ownerRecord`` holds the manifest's absolute path, written by its
/// supervisor at start. Manifests are checked against it so that none of their paths (`state_dir`, an rpc
/// daemon's `unix:` socket) reaches into the state folder of another manifest, by `..`, an absolute path or a
/// symbolic link: two supervisors sharing a PID file, socket folder or logs would take each other's place.
extension StateFolder {
    /// Records `manifest` as the folder's owner (mode 0600); failures are ignored, as the record only serves the
    /// checks.
    public func recordOwner(manifest: String) {
        let contents = Array((manifest + "\n").utf8)
        guard FileBytes.read(ownerRecord) != contents else { return }
        FileBytes.replace(ownerRecord, with: contents)
    }

    /// The other manifest whose state folder holds `path` (or is `path`), with that folder; nil when there is none.
    ///
    /// A folder is another manifest's when its record names an existing manifest that is not `manifest`, and
    /// that manifest's folder contains the state folder or `path` comes from outside `manifest`'s folder. A
    /// project copied with its state folder therefore owns the copy (the record names the original, whose
    /// folder does not contain the copy), and a record naming a manifest that no longer exists is stale.
    public static func otherOwner(of path: String, manifest: String) -> (folder: String, manifest: String)? {
        let resolved = resolvingSymbolicLinks(path)
        let ownFolder = resolvingSymbolicLinks(PathText.folder(of: manifest))
        let ownManifest = resolvingSymbolicLinks(manifest)
        var folder = resolved
        while true {
            if let owner = FileBytes.text(StateFolder(folder).ownerRecord) {
                let other = resolvingSymbolicLinks(owner.trimmingWhitespace())
                let otherFolder = PathText.folder(of: other)
                if other != ownManifest, FileManager.default.fileExists(atPath: other),
                    isWithin(folder, otherFolder) || !isWithin(resolved, ownFolder)
                {
                    return (folder, other)
                }
            }
            guard folder != "/" else { return nil }
            folder = PathText.folder(of: folder)
        }
    }

    /// Whether `path` is `folder` or lies beneath it.
    static func isWithin(_ path: String, _ folder: String) -> Bool {
        path == folder || path.hasPrefix(folder == "/" ? "/" : folder + "/")
    }

    /// `path` with every symbolic link of its longest existing prefix resolved (the rest, not made yet, appended).
    public static func resolvingSymbolicLinks(_ path: String) -> String {
        var existing = path
        var rest: [String] = []
        while existing != "/", !FileManager.default.fileExists(atPath: existing) {
            rest.insert(PathText.name(of: existing), at: 0)
            existing = PathText.folder(of: existing)
        }
        guard let real = realpath(existing, nil) else { return path }
        defer { free(real) }
        let base = String(cString: real)
        return rest.isEmpty ? base : (base == "/" ? "" : base) + "/" + rest.joined(separator: "/")
    }
}
