import DaemonKit
import FoundationEssentials

/// The fragments a manifest's `include` names, read into its tree.
struct IncludedFragments {
    /// The fragment files read, absolute, in the order their daemons were added.
    var files: [String] = []
    /// The folders the globs of `include` look in, absolute: a fragment added there is a change of the manifest.
    var folders: [String] = []
    var errors: [ManifestError] = []
    var warnings: [String] = []
}

extension ManifestLoader {
    /// The keys a fragment may hold.
    static let fragmentKeys: Set<String> = ["daemons", "env", "defaults"]

    /// Adds the daemons of every fragment `include` names (paths or globs relative to the manifest's folder, in
    /// order, a glob's matches sorted) to `root`'s `daemons`, each fragment interpolated as the manifest is, with the
    /// fragment's `defaults` merged under its daemons and its `env` under theirs, and its relative `cwd` and
    /// `env_file` read from the fragment's folder. A daemon defined twice is an error naming both places.
    func include(into root: inout YAMLNode, lookup: @escaping (String) -> String?) -> IncludedFragments {
        var included = IncludedFragments()
        guard let list = root["include"], let items = list.items else { return included }
        let directory = PathText.folder(of: file)
        var seen: [String: ValueOrigin] = [:]
        for pair in root["daemons"]?.pairs ?? [] { seen[pair.key.text] = pair.key.origin }
        var daemons = root["daemons"]?.pairs ?? []
        for item in items {
            guard let pattern = item.scalarText, !pattern.isEmpty else { continue }
            let paths: [String]
            do {
                paths = try Self.expand(pattern, from: directory, folders: &included.folders)
            } catch {
                included.errors.append(
                    ManifestError(code: .unreadable, origin: item.origin, path: "include", message: "\(error)")
                )
                continue
            }
            for path in paths where !included.files.contains(path) && path != file {
                included.files.append(path)
                guard let fragment = readFragment(path, origin: item.origin, into: &included, lookup: lookup) else {
                    continue
                }
                for daemon in fragment {
                    if let earlier = seen[daemon.key.text] {
                        included.errors.append(
                            ManifestError(
                                code: .duplicateKey,
                                origin: daemon.key.origin,
                                path: "daemons.\(daemon.key.text)",
                                message: "daemon '\(daemon.key.text)' is defined twice: here and at \(earlier.label)"
                            )
                        )
                        continue
                    }
                    seen[daemon.key.text] = daemon.key.origin
                    daemons.append(daemon)
                }
            }
        }
        let origin = root["daemons"]?.origin ?? list.origin
        root.set("daemons", to: YAMLNode(.mapping(daemons), origin: origin))
        return included
    }

    /// The files `pattern` names: itself when it has no glob characters (an error when missing), else the files its
    /// glob matches, sorted, below the folder before its first glob character (recorded in `folders`).
    static func expand(_ pattern: String, from directory: String, folders: inout [String]) throws -> [String] {
        let absolute = Paths.absolute(pattern, from: directory)
        guard absolute.contains(where: { "*?[{".contains($0) }) else {
            guard FileManager.default.fileExists(atPath: absolute) else {
                throw IncludeError(description: "include '\(pattern)': no such file")
            }
            return [absolute]
        }
        var components = absolute.split(separator: "/", omittingEmptySubsequences: true)
        var base: [Substring] = []
        while let first = components.first, !first.contains(where: { "*?[{".contains($0) }) {
            base.append(first)
            components.removeFirst()
        }
        let folder = "/" + base.joined(separator: "/")
        if !folders.contains(folder) { folders.append(folder) }
        guard FileManager.default.fileExists(atPath: folder) else { return [] }
        let glob: Glob
        do {
            glob = try Glob(components.joined(separator: "/"))
        } catch {
            throw IncludeError(description: "include '\(pattern)': \(error)")
        }
        do {
            return try FileScanner(FileScanner.Configuration(paths: [folder], patterns: [glob])).scan()
        } catch {
            throw IncludeError(description: "include '\(pattern)': \(error)")
        }
    }

    /// The daemons of the fragment at `path`, ready to join the manifest's; nil (with the errors) when it cannot be.
    private func readFragment(
        _ path: String,
        origin: ValueOrigin,
        into included: inout IncludedFragments,
        lookup: @escaping (String) -> String?
    ) -> [YAMLNode.Pair]? {
        let label = Paths.relative(path, to: FileManager.default.currentDirectoryPath)
        guard let data = FileManager.default.contents(atPath: path) else {
            included.errors.append(
                ManifestError(code: .unreadable, origin: origin, path: "include", message: "\(label) cannot be read")
            )
            return nil
        }
        let (parsed, parseErrors) = YAMLParser(fileLabel: label).parse(Array(data))
        guard parseErrors.isEmpty else {
            included.errors += parseErrors
            return nil
        }
        guard var fragment = parsed, fragment.pairs != nil else {
            if parsed.map(\.isNull) ?? true { return [] }
            included.errors.append(
                ManifestError(
                    code: .invalidValue,
                    origin: parsed?.origin,
                    path: "",
                    message: "expected a mapping at the top of the fragment \(label), found \(parsed!.found)"
                )
            )
            return nil
        }
        for pair in fragment.pairs ?? [] where !Self.fragmentKeys.contains(pair.key.text) {
            included.errors.append(
                ManifestError(
                    code: .unknownKey,
                    origin: pair.key.origin,
                    path: pair.key.text,
                    message: "a fragment holds daemons, env and defaults, not '\(pair.key.text)'"
                )
            )
        }
        var interpolator = Interpolator(lookup: lookup)
        interpolator.interpolate(&fragment, path: [])
        included.errors += interpolator.errors
        included.warnings += interpolator.warnings
        let folder = PathText.folder(of: path)
        let defaults = fragment["defaults"].flatMap { $0.isNull ? nil : $0 }
        let environment = fragment["env"].flatMap { $0.isNull ? nil : $0 }
        return (fragment["daemons"]?.pairs ?? []).map { pair in
            var daemon = pair.value
            guard daemon.pairs != nil else { return pair }
            if let defaults { daemon = Self.deepMerge(base: defaults, over: daemon) }
            if let environment {
                let own = daemon["env"].flatMap { $0.isNull ? nil : $0 }
                daemon.set("env", to: own.map { Self.deepMerge(base: environment, over: $0) } ?? environment)
            }
            // The fragment's relative paths are read from its own folder: its cwd (and so the paths under it), its
            // env_file.
            let cwd = daemon["cwd"]?.scalarText ?? "."
            daemon.set(
                "cwd",
                to: YAMLNode(
                    .scalar(Paths.absolute(cwd, from: folder), .quoted),
                    origin: daemon["cwd"]?.origin ?? pair.key.origin
                )
            )
            if let files = daemon["env_file"] {
                let absolute = { (node: YAMLNode) in
                    YAMLNode(.scalar(Paths.absolute(node.scalarText ?? "", from: folder), .quoted), origin: node.origin)
                }
                if let items = files.items {
                    daemon.set("env_file", to: YAMLNode(.sequence(items.map(absolute)), origin: files.origin))
                } else if files.scalarText != nil {
                    daemon.set("env_file", to: absolute(files))
                }
            }
            return YAMLNode.Pair(pair.key, daemon)
        }
    }
}

/// Why an `include` entry names nothing that can be read, in a sentence.
struct IncludeError: Error, CustomStringConvertible {
    var description: String
}
