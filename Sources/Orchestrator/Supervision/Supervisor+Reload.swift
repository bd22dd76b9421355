import DaemonKit
import FoundationEssentials
import Logging
import Manifest
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

extension Supervisor {
    /// How long the manifest's folder must be quiet after a write before the file is read: editors save in
    /// several steps (a temporary file and a rename, or a truncation and writes), and the file is read once,
    /// complete.
    public static let manifestDebounce = Duration.milliseconds(50)

    /// Asks for the manifest to be loaded again and applied; `reply` gets the outcome once the plan is applied
    /// (or the errors that kept it from applying). `environment` and `setArguments`, when given, replace those
    /// the supervisor loads with, for this reload and the later ones.
    public func reload(
        environment: [String: String]? = nil,
        setArguments: [String]? = nil,
        dryRun: Bool = false,
        reply: @escaping @Sendable (ReloadOutcome) -> Void
    ) {
        post(
            .reloadRequested(
                ReloadRequest(
                    origin: .api,
                    environment: environment,
                    setArguments: setArguments,
                    dryRun: dryRun,
                    reply: reply
                )
            )
        )
    }

    /// Runs daemon `name` as `count` copies (`orchestrate scale`): the running manifest changed and applied as a reload
    /// is, later reloads keeping the count until the manifest's own `replicas` of the daemon changes.
    public func scale(_ name: String, to count: Int, reply: @escaping @Sendable (ReloadOutcome) -> Void) {
        post(
            .reloadRequested(
                ReloadRequest(origin: .scale, scale: ReloadRequest.Scale(name: name, count: count), reply: reply)
            )
        )
    }

    /// Watches the manifest and its env_file while `reload: auto`, posting a reload for each settled save; with
    /// `reload: manual` nothing is watched. Runs until the task is cancelled; a reload that changes the mode or
    /// the env_file restarts the watch with the new settings.
    ///
    /// Each file is watched through every symbolic link on its path (``PathText/linkChain(of:)``): a ConfigMap
    /// mounted by Kubernetes (`daemons.yaml -> ..data/daemons.yaml`, with `..data` re-pointed at each update) or a
    /// release link swapped by a deploy is a save too. When a link is re-pointed, or a watched folder goes away (the
    /// folder an old link pointed at), the watch is made again for the chain as it is now.
    func watchManifest() async {
        var settingsChanged = watchSettingsStream.makeAsyncIterator()
        // A link was re-pointed: the reload it asks for is posted once the new watch is armed, so that a save made
        // while no watch was armed is read too.
        var reloadWhenArmed = false
        while !Task.isCancelled {
            let manifest = self.manifest
            if manifest.reload == .auto {
                let files = Self.watchedFiles(of: manifest)
                let chain = Self.linkChains(of: files)
                do {
                    let watcher = try InotifyWatcher(
                        FileScanner.Configuration(paths: chain, linksAsEntries: true),
                        debouncing: Debouncer.Configuration(debounce: Self.manifestDebounce, maxWait: .seconds(1))
                    )
                    manifestWatch.withLock { $0 = watcher }
                    if reloadWhenArmed { post(.reloadRequested(ReloadRequest(origin: .file))) }
                    reloadWhenArmed = false
                    var repointed = false
                    do {
                        for try await _ in watcher.batches {
                            if Self.linkChains(of: files) != chain {
                                repointed = true
                                break
                            }
                            post(.reloadRequested(ReloadRequest(origin: .file)))
                        }
                    } catch {
                        // A watched folder went away: the one a re-pointed link left, or the manifest's own.
                        repointed = Self.linkChains(of: files) != chain
                    }
                    reloadWhenArmed = repointed
                    manifestWatch.withLock { $0 = nil }
                    watcher.stop()
                    if Task.isCancelled { return }
                    if repointed { continue }
                    // Stopped for new settings (they are read at the top), or the manifest's folder went away.
                    if self.manifest.reload == manifest.reload, Self.watchedFiles(of: self.manifest) == files {
                        logger.warning("the manifest's folder is gone; saves are no longer watched")
                    } else {
                        continue
                    }
                } catch {
                    logger.warning(
                        "cannot watch the manifest; saves apply only with `orchestrate reload` or SIGHUP",
                        metadata: ["error": "\(error)"]
                    )
                }
            }
            // Manual mode, or a watch that failed: wait for a reload that changes the settings.
            guard await settingsChanged.next() != nil else { return }
        }
    }

    /// The files whose saves are saves of `manifest`: the file, its env_file, its fragments and the folders its
    /// `include` globs look in (a fragment added there), and its daemons' env_files (those that exist).
    static func watchedFiles(of manifest: Manifest) -> [String] {
        var files = [manifest.file]
        let others =
            [manifest.envFile].compactMap(\.self) + manifest.includedFiles + manifest.includedFolders
            + manifest.daemons.flatMap(\.environmentFiles)
        for file in others
        where !files.contains(file) && FileManager.default.fileExists(atPath: file) {
            files.append(file)
        }
        return files
    }

    /// The paths a watch of `files` covers: each file's chain of links, without repeats.
    static func linkChains(of files: [String]) -> [String] {
        var paths: [String] = []
        for file in files {
            for path in PathText.linkChain(of: file) where !paths.contains(path) { paths.append(path) }
        }
        return paths
    }
}
