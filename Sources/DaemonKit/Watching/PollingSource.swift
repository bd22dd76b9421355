#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The raw side of ``PollingWatcher``: a snapshot of the covered files, renewed every interval.
final class PollingSource: ChangeSource {
    /// What identifies one version of a file, as far as polling can tell.
    struct Stamp: Hashable {
        var seconds: Int
        var nanoseconds: Int
        var size: Int64
        var device: UInt64
        var inode: UInt64
    }

    private let scanner: FileScanner
    private let interval: Duration
    private var snapshot: [String: Stamp]
    private var next: ContinuousClock.Instant

    var descriptor: Int32? { nil }
    var nextPoll: ContinuousClock.Instant? { next }

    /// Takes the first snapshot, throwing when a configured path cannot be scanned.
    init(_ configuration: FileScanner.Configuration, interval: Duration) throws(DaemonKitError) {
        precondition(interval > .zero, "a polling interval must be positive")
        scanner = FileScanner(configuration)
        self.interval = interval
        do {
            snapshot = try Self.snapshot(scanner)
        } catch {
            throw DaemonKitError(code: .watchFailed, message: error.message, errno: error.errno)
        }
        next = .now + interval
    }

    func readReady(into changes: inout RawChanges) throws(DaemonKitError) {}

    func poll(at now: ContinuousClock.Instant, into changes: inout RawChanges) throws(DaemonKitError) {
        let current: [String: Stamp]
        do {
            current = try Self.snapshot(scanner)
        } catch {
            if error.code == .fileSystem, error.errno == ENOENT {
                let missing = scanner.configuration.paths.first { access($0, F_OK) != 0 } ?? ""
                throw DaemonKitError.watchPathRemoved(missing)
            }
            throw error
        }
        for (path, stamp) in current where snapshot[path] != stamp { changes.paths.append(path) }
        for path in snapshot.keys where current[path] == nil { changes.paths.append(path) }
        snapshot = current
        // Anchored to the schedule, so scans do not drift; a late scan skips the ticks it missed.
        next = next + interval
        if next <= now { next = now + interval }
    }

    func close() {}

    /// Every covered file with its stamp; files that vanish between the scan and `stat` are left out.
    private static func snapshot(_ scanner: FileScanner) throws(DaemonKitError) -> [String: Stamp] {
        var result: [String: Stamp] = [:]
        for path in try scanner.scan() {
            var info = stat()
            guard stat(path, &info) == 0 else { continue }
            result[path] = Stamp(
                seconds: Int(info.st_mtim.tv_sec),
                nanoseconds: Int(info.st_mtim.tv_nsec),
                size: Int64(info.st_size),
                device: UInt64(info.st_dev),
                inode: UInt64(info.st_ino)
            )
        }
        return result
    }
}
