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

    /// Watches the manifest and its env_file while `reload: auto`, posting a reload for each settled save; with
    /// `reload: manual` nothing is watched. Runs until the task is cancelled; a reload that changes the mode or
    /// the env_file restarts the watch with the new settings.
    func watchManifest() async {
        var settingsChanged = watchSettingsStream.makeAsyncIterator()
        while !Task.isCancelled {
            let manifest = self.manifest
            if manifest.reload == .auto {
                var files = [manifest.file]
                if let envFile = manifest.envFile, FileManager.default.fileExists(atPath: envFile) {
                    files.append(envFile)
                }
                do {
                    let watcher = try InotifyWatcher(
                        FileScanner.Configuration(paths: files),
                        debouncing: Debouncer.Configuration(debounce: Self.manifestDebounce, maxWait: .seconds(1))
                    )
                    manifestWatch.withLock { $0 = watcher }
                    for try await _ in watcher.batches {
                        post(.reloadRequested(ReloadRequest(origin: .file)))
                    }
                    manifestWatch.withLock { $0 = nil }
                    watcher.stop()
                    if Task.isCancelled { return }
                    // Stopped for new settings (they are read at the top), or the manifest's folder went away.
                    if self.manifest.reload == manifest.reload, self.manifest.envFile == manifest.envFile {
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
}
