import DaemonKit
import Manifest

extension Supervisor {
    /// The `watch` of each enabled process daemon that has one, by the name the manifest gives it: the copies of a
    /// daemon with `replicas` share one watch (and a scale leaves the watches as they are).
    static func restartWatches(of manifest: Manifest) -> [String: FileWatch] {
        var watches: [String: FileWatch] = [:]
        for daemon in manifest.daemons where daemon.enabled {
            if let watch = daemon.settings(as: ProcessSpec.self)?.watch { watches[String(daemon.group)] = watch }
        }
        return watches
    }

    /// Restarts a process daemon when the files of its `watch` change, as `orchestrate restart` does (gracefully, the
    /// daemons that follow it too), while it is up. The watches outlive the restarts they cause: a change during a
    /// restart folds into it (its new process starts after the change), and one after it restarts it once more. Runs
    /// until cancelled; made again when a reload changes the watches.
    func watchProcessFiles() async {
        var changed = restartWatchesStream.makeAsyncIterator()
        while !Task.isCancelled {
            let watches = Self.restartWatches(of: manifest)
            let more = await withTaskGroup(of: Void.self, returning: Bool.self) { group in
                for (name, watch) in watches {
                    group.addTask { await self.restart(name, onChangesTo: watch) }
                }
                let more = await changed.next() != nil
                group.cancelAll()
                return more
            }
            if !more { return }
        }
    }

    /// Watches `watch`'s files for daemon `group` (each of its copies, when it has `replicas`) until cancelled,
    /// restarting it after each settled batch of changes.
    private func restart(_ group: String, onChangesTo watch: FileWatch) async {
        let names = { self.manifest.members(of: group).map(\.name) }
        let watcher: any FileWatcher
        do {
            watcher = try watch.makeWatcher()
        } catch {
            for name in names() {
                registry.report(name, .note("cannot watch its files, so changes do not restart it: \(error)"))
            }
            return
        }
        defer { watcher.stop() }
        await withTaskCancellationHandler {
            do {
                for try await batch in watcher.batches {
                    let paths = batch.paths.map { Paths.relative($0, to: manifest.directory) }
                    let count = batch.rescan ? "files changed (a full rescan)" : Self.files(paths.count) + " changed"
                    let shown = paths.prefix(3).joined(separator: ", ") + (paths.count > 3 ? ", …" : "")
                    let why = count + (shown.isEmpty ? "" : ": " + shown)
                    for name in names() {
                        guard let state = registry.record(name)?.state,
                            [.running, .starting, .backoff, .waiting].contains(state)
                        else { continue }
                        registry.report(name, .health("restart_reason", why))
                        registry.report(name, .note("restarting: " + why))
                        registry.publish(.restarting(daemon: name, reason: why))
                        post(.restart(name, { _ in }))
                    }
                }
            } catch {
                for name in names() {
                    registry.report(name, .note("its watch ended, so changes no longer restart it: \(error)"))
                }
            }
        } onCancel: {
            watcher.stop()
        }
    }

    /// "1 file", "3 files".
    private static func files(_ count: Int) -> String { count == 1 ? "1 file" : "\(count) files" }
}
