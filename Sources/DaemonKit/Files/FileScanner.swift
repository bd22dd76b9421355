#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Lists the files a file watcher covers: every regular file (or symbolic link to one) under the configured
/// paths that survives the ignore globs and, optionally, the tree's `.gitignore` files, and matches the
/// patterns.
///
/// Symbolic links to folders are never followed, so link loops cannot trap a scan, and folders named `.git`
/// are always skipped. A configured path that is itself a symbolic link is followed, since it was named on
/// purpose.
public struct FileScanner: Sendable {
    /// What a scanner covers.
    public struct Configuration: Sendable, Hashable {
        /// Absolute folder (or file) paths to cover.
        public var paths: [String]
        /// Globs matched against the path relative to the entry of `paths` a file is under; a file must match
        /// one of them, and when there are none every file qualifies.
        public var patterns: [Glob]
        /// Globs matched like `patterns`; a matching file is left out and a matching folder is not walked.
        public var ignore: [Glob]
        /// Whether `.gitignore` files exclude what they list, as git reads them: those of the folder path and
        /// below, and those of its ancestors up to the root of the git work tree it is in (the nearest folder
        /// with a `.git`), so that a project's top-level `.gitignore` applies to a watcher of `src/`.
        public var gitignore: Bool
        /// Whether a configured path that is a symbolic link stands for the link itself, watched as an entry of its
        /// folder (re-pointed, replaced or removed), rather than for what it points at. A watch of a file through
        /// its chain of links (``PathText/linkChain(of:)``) names each link this way.
        public var linksAsEntries: Bool

        /// Makes a configuration; without patterns or ignores it covers every file under `paths`.
        public init(
            paths: [String],
            patterns: [Glob] = [],
            ignore: [Glob] = [],
            gitignore: Bool = false,
            linksAsEntries: Bool = false
        ) {
            self.paths = paths
            self.patterns = patterns
            self.ignore = ignore
            self.gitignore = gitignore
            self.linksAsEntries = linksAsEntries
        }
    }

    /// A folder waiting to be walked, with the gitignore rules that apply inside it.
    private struct PendingFolder {
        let absolute: String
        let relative: String
        let rules: GitignoreRules?
        let prefix: String
    }

    /// What this scanner covers.
    public let configuration: Configuration

    /// Makes a scanner for `configuration`.
    public init(_ configuration: Configuration) {
        self.configuration = configuration
    }

    /// Every regular file covered now, as absolute paths, sorted, without duplicates.
    ///
    /// Throws `.fileSystem` when a configured path does not exist or its folder cannot be read. Folders
    /// below it that vanish or cannot be read while walking are skipped, as a scan racing with changes must
    /// not fail because of them.
    public func scan() throws(DaemonKitError) -> [String] {
        var files: [String] = []
        for original in configuration.paths {
            let root = Self.normalized(original)
            let kind: DirectoryReader.Kind
            do {
                kind = try DirectoryReader.targetKind(of: root)
            } catch {
                if error.errno == ENOENT {
                    throw DaemonKitError(
                        code: .fileSystem,
                        message: "watch path '\(original)' does not exist",
                        errno: ENOENT
                    )
                }
                throw DaemonKitError(
                    code: .fileSystem,
                    message: "cannot access watch path '\(original)'",
                    errno: error.errno
                )
            }
            switch kind {
            case .directory:
                try walk(root: root, original: original, into: &files)
            case .regularFile:
                if isCoveredFile(GlobPath(Self.lastComponent(of: root)), nil, rules: nil) { files.append(root) }
            default:
                break
            }
        }
        files.sort()
        var unique: [String] = []
        unique.reserveCapacity(files.count)
        for file in files where file != unique.last { unique.append(file) }
        return unique
    }

    /// Whether the absolute path `absolutePath` is covered: for a file, whether a scan would list it; for a
    /// folder, whether a scan would walk it (and so a watcher must watch it).
    ///
    /// It gives the answer a scan would, without scanning: it reads the `.gitignore` files of the path's
    /// ancestors when gitignore rules are on, and checks that no ancestor is a symbolic link.
    public func covers(_ absolutePath: String, isDirectory: Bool) -> Bool {
        let target = Self.normalized(absolutePath)
        for original in configuration.paths {
            let root = Self.normalized(original)
            if target == root {
                if isDirectory { return true }
                if isCoveredFile(GlobPath(Self.lastComponent(of: root)), nil, rules: nil) { return true }
                continue
            }
            let prefix = root.hasSuffix("/") ? root : root + "/"
            guard target.utf8.starts(with: prefix.utf8) else { continue }
            let relative = String(Substring(target.utf8.dropFirst(prefix.utf8.count)))
            if covers(relative: relative, root: root, isDirectory: isDirectory) { return true }
        }
        return false
    }

    private func covers(relative: String, root: String, isDirectory: Bool) -> Bool {
        let names = relative.split(separator: "/", omittingEmptySubsequences: false)
        let start = configuration.gitignore ? Self.rootRules(for: root) : nil
        var rules = start?.rules
        let prefix = start?.prefix ?? ""
        let inTree = { (path: String) in prefix.isEmpty ? path : prefix + "/" + path }
        var folder = root
        var folderRelative = ""
        for name in names.dropLast() {
            folderRelative = folderRelative.isEmpty ? String(name) : folderRelative + "/" + name
            folder = DirectoryReader.join(folder, String(name))
            if name == ".git" || DirectoryReader.linkKind(of: folder) == .symbolicLink { return false }
            if isPruned(GlobPath(folderRelative), GlobPath(inTree(folderRelative)), rules: rules) { return false }
            if let current = rules { rules = Self.rules(adding: folder, base: inTree(folderRelative), to: current) }
        }
        let path = GlobPath(relative)
        guard isDirectory else { return isCoveredFile(path, GlobPath(inTree(relative)), rules: rules) }
        if names.last == ".git" { return false }
        if DirectoryReader.linkKind(of: DirectoryReader.join(root, relative)) == .symbolicLink { return false }
        return !isPruned(path, GlobPath(inTree(relative)), rules: rules)
    }

    /// Walks one folder path with an explicit stack rather than recursion, so tree depth is bounded by memory
    /// rather than by the thread's stack.
    private func walk(root: String, original: String, into files: inout [String]) throws(DaemonKitError) {
        let start = configuration.gitignore ? Self.rootRules(for: root) : nil
        let prefix = start?.prefix ?? ""
        var pending = [PendingFolder(absolute: root, relative: "", rules: start?.rules, prefix: prefix)]
        var isRoot = true
        while let folder = pending.popLast() {
            let entries: [DirectoryReader.Entry]
            do {
                entries = try DirectoryReader.entries(of: folder.absolute)
            } catch {
                guard isRoot else { continue }
                throw DaemonKitError(
                    code: .fileSystem,
                    message: "cannot read watch path '\(original)'",
                    errno: error.errno
                )
            }
            isRoot = false
            for entry in entries {
                let relative = folder.relative.isEmpty ? entry.name : folder.relative + "/" + entry.name
                let absolute = DirectoryReader.join(folder.absolute, entry.name)
                switch entry.kind {
                case .directory:
                    if entry.name == ".git" { continue }
                    let inTree = prefix.isEmpty ? relative : prefix + "/" + relative
                    if isPruned(GlobPath(relative), GlobPath(inTree), rules: folder.rules) { continue }
                    let rules = folder.rules.map { Self.rules(adding: absolute, base: inTree, to: $0) }
                    pending.append(PendingFolder(absolute: absolute, relative: relative, rules: rules, prefix: prefix))
                case .regularFile:
                    if isCoveredFile(GlobPath(relative), treePath(relative, prefix, folder.rules), rules: folder.rules)
                    {
                        files.append(absolute)
                    }
                case .symbolicLink:
                    guard (try? DirectoryReader.targetKind(of: absolute)) == .regularFile else { continue }
                    if isCoveredFile(GlobPath(relative), treePath(relative, prefix, folder.rules), rules: folder.rules)
                    {
                        files.append(absolute)
                    }
                case .other:
                    continue
                }
            }
        }
    }

    /// The path the gitignore rules read: relative to the work tree's root. Only made when there are rules.
    private func treePath(_ relative: String, _ prefix: String, _ rules: GitignoreRules?) -> GlobPath? {
        guard rules != nil else { return nil }
        return GlobPath(prefix.isEmpty ? relative : prefix + "/" + relative)
    }

    /// Whether a folder is left unwalked because an ignore glob or a gitignore rule matches it; globs read
    /// `path` (relative to the configured path), rules read `treePath` (relative to the work tree).
    private func isPruned(_ path: GlobPath, _ treePath: GlobPath?, rules: GitignoreRules?) -> Bool {
        for glob in configuration.ignore where glob.matches(path) { return true }
        guard let rules, let treePath else { return false }
        return rules.isIgnored(treePath, isDirectory: true)
    }

    /// Whether a file is listed: not ignored, and matching a pattern when there are any.
    private func isCoveredFile(_ path: GlobPath, _ treePath: GlobPath?, rules: GitignoreRules?) -> Bool {
        for glob in configuration.ignore where glob.matches(path) { return false }
        if let rules, let treePath, rules.isIgnored(treePath, isDirectory: false) { return false }
        if configuration.patterns.isEmpty { return true }
        for glob in configuration.patterns where glob.matches(path) { return true }
        return false
    }

    /// The rules that apply at `root`: the `.gitignore` files from the root of its git work tree down to
    /// `root` itself. Outside a work tree, only `root`'s own file, with `root` as the base.
    private static func rootRules(for root: String) -> (rules: GitignoreRules, prefix: String) {
        var ancestors: [String] = []
        var folder = root
        var treeRoot: String?
        while true {
            if DirectoryReader.linkKind(of: DirectoryReader.join(folder, ".git")) != nil {
                treeRoot = folder
                break
            }
            guard folder != "/", let slash = folder.lastIndex(of: "/") else { break }
            ancestors.append(folder)
            folder = slash == folder.startIndex ? "/" : String(folder[..<slash])
        }
        guard let treeRoot, treeRoot != root else {
            return (rules(adding: root, base: "", to: GitignoreRules()), "")
        }
        let prefixStart = treeRoot == "/" ? 1 : treeRoot.utf8.count + 1
        let relative = { (path: String) in String(Substring(path.utf8.dropFirst(prefixStart))) }
        var result = rules(adding: treeRoot, base: "", to: GitignoreRules())
        for ancestor in ancestors.reversed() { result = rules(adding: ancestor, base: relative(ancestor), to: result) }
        return (result, relative(root))
    }

    /// `rules` plus the `.gitignore` of `folder`, when it has one.
    private static func rules(adding folder: String, base: String, to rules: GitignoreRules) -> GitignoreRules {
        guard let contents = DirectoryReader.contents(of: DirectoryReader.join(folder, ".gitignore")) else {
            return rules
        }
        var rules = rules
        rules.add(contents: contents, base: base)
        return rules
    }

    /// The path without trailing slashes (except for `/` itself), so prefixes compare reliably.
    private static func normalized(_ path: String) -> String {
        var path = Substring(path)
        while path.count > 1, path.hasSuffix("/") { path = path.dropLast() }
        return String(path)
    }

    private static func lastComponent(of path: String) -> String {
        String(path.split(separator: "/").last ?? Substring(path))
    }
}
