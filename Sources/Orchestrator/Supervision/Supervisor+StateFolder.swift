import DaemonKit
import FoundationEssentials
import Logging
import Manifest
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The state folder removed while the supervisor runs (a `rm -rf .orchestrate`, a cleanup script, a `git clean
/// -xdf`): without it the commands cannot find the supervisor (the socket is gone), a second `up` would start a
/// second supervisor (the PID file is gone), and the daemons' output would go to files nobody can open. The
/// supervisor watches its PID file's folder and makes again what is missing: the folders, the PID file (locked
/// anew), the control socket, the logs and the process-group ledger. The daemons are not touched.
extension Supervisor {
    /// How long the removal is let settle (`rm -rf` deletes a file at a time) before the folder is made again.
    static let stateFolderDebounce = Duration.milliseconds(50)

    /// Watches the PID file (through its folder: a removal of the folder ends the watch) and asks the main loop to
    /// check the folder after every change, until the task is cancelled.
    func watchStateFolder() async {
        let lockPath = stateFolder.lockFile
        while !Task.isCancelled {
            do {
                let watcher = try InotifyWatcher(
                    FileScanner.Configuration(paths: [lockPath]),
                    debouncing: Debouncer.Configuration(debounce: Self.stateFolderDebounce, maxWait: .seconds(1))
                )
                defer { watcher.stop() }
                for try await _ in watcher.batches { post(.stateFolderChanged) }
            } catch {
                logger.warning(
                    "cannot watch the state folder; if it is removed, `down` and `up` make it again",
                    metadata: ["folder": .string(stateFolder.path), "error": "\(error)"]
                )
                return
            }
            if Task.isCancelled { return }
            // The folder itself went away: let the removal finish, have it made again, then watch the new one.
            try? await CancellableSleep.for(Self.stateFolderDebounce)
            post(.stateFolderChanged)
            let deadline = ContinuousClock.now + .seconds(5)
            while !FileManager.default.fileExists(atPath: lockPath) {
                guard ContinuousClock.now < deadline, (try? await CancellableSleep.for(.milliseconds(10))) != nil
                else { return }
            }
        }
    }

    /// Whether `path` is a socket.
    static func isSocket(_ path: String) -> Bool {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.type] as? FileAttributeType == .typeSocket
    }
}

extension SupervisorLoop {
    /// Makes again what is missing from the state folder; nothing when everything is in place (a change the
    /// supervisor made itself). A new control server joins the control servers' group.
    mutating func restoreStateFolder(in group: inout DiscardingTaskGroup) {
        let lockInPlace = locks.last?.isInPlace ?? false
        let socketInPlace = Supervisor.isSocket(supervisor.socketPath)
        guard !lockInPlace || !socketInPlace else { return }
        let (logger, stateFolder) = (supervisor.logger, supervisor.stateFolder)
        logger.warning(
            "the state folder was removed while running; making it again (the daemons keep running)",
            metadata: ["folder": .string(stateFolder.path)]
        )
        if !lockInPlace {
            do {
                locks.append(try PIDLock.acquire(path: stateFolder.lockFile))
            } catch {
                // Another supervisor started on the empty folder: two must never share it.
                logger.critical(
                    "cannot take the PID file again; stopping so that two supervisors never share the state folder",
                    metadata: ["error": "\(error)"]
                )
                supervisor.post(.down)
                return
            }
        }
        stateFolder.recordOwner(manifest: machine.manifest.file)
        supervisor.ownLog?.reopen()
        for daemon in machine.daemons.values { daemon.service?.log.reopen() }
        supervisor.processGroups.rewrite()
        stateFolder.recordSocket(supervisor.socketPath)
        if !socketInPlace, let servers {
            let server = supervisor.controlSocketServer()
            group.addTask { [servers] in await servers.addServiceUnlessShutdown(server) }
        }
        logger.notice("the state folder is back: PID file, control socket and logs")
    }
}
