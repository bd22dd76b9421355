import DaemonKit
import Foundation
import OrchestrateTesting
import Synchronization
import Testing

/// The suites that use real watchers run one test at a time, so the descriptor-leak test can count the
/// process's inotify and eventfd descriptors without other watcher tests opening some meanwhile.
@Suite("File watchers", .serialized, .ownThread)
enum FileWatcherTests {}

/// Collects what a watcher's stream yields, so tests can wait for a condition with a deadline.
final class BatchCollector: Sendable {
    private struct State {
        var batches: [FileChangeBatch] = []
        var error: (any Error)?
        var finished = false
    }

    private final class Storage: Sendable {
        let state = Mutex(State())
    }

    private let storage = Storage()
    private let task: Task<Void, Never>

    init(_ stream: AsyncThrowingStream<FileChangeBatch, any Error>) {
        let storage = storage
        task = Task {
            do {
                for try await batch in stream { storage.state.withLock { $0.batches.append(batch) } }
            } catch {
                storage.state.withLock { $0.error = error }
            }
            storage.state.withLock { $0.finished = true }
        }
    }

    deinit { task.cancel() }

    var batches: [FileChangeBatch] { storage.state.withLock { $0.batches } }
    var error: (any Error)? { storage.state.withLock { $0.error } }
    var finished: Bool { storage.state.withLock { $0.finished } }
    /// Every path of every batch so far.
    var paths: Set<String> { Set(batches.flatMap(\.paths)) }

    /// Waits until `condition` holds for the batches so far, or the stream has ended, or `timeout` has
    /// passed; returns whether the condition held.
    @discardableResult
    func wait(
        timeout: Duration = .seconds(10),
        until condition: @Sendable ([FileChangeBatch]) -> Bool
    ) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while true {
            let (batches, finished) = storage.state.withLock { ($0.batches, $0.finished) }
            if condition(batches) { return true }
            if finished || ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Waits until some batch holds `path`.
    @discardableResult
    func wait(for path: String, timeout: Duration = .seconds(10)) async -> Bool {
        await wait(timeout: timeout) { batches in batches.contains { $0.paths.contains(path) } }
    }

    /// Waits until the stream has ended.
    @discardableResult
    func waitUntilFinished(timeout: Duration = .seconds(10)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !finished {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return true
    }
}

/// File operations for watcher tests, on real folders.
enum Files {
    /// Writes from a child process, so that no late close of the test process's descriptor adds an event (see
    /// ``writeFromChild(_:_:)``).
    static func write(_ path: String, _ contents: String = "x") throws {
        try writeFromChild(path, contents)
    }

    static func folder(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    static func remove(_ path: String) throws {
        try FileManager.default.removeItem(atPath: path)
    }

    /// Renames like an editor's save: `rename(2)` over the target.
    static func move(_ source: String, to target: String) throws {
        guard rename(source, target) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }

    /// Creates `count` files named `f00000.txt`… in `folder` with plain system calls, as fast as possible.
    static func createMany(_ count: Int, in folder: String) -> [String] {
        var paths: [String] = []
        for index in 0..<count {
            let path = folder + "/" + "f" + String(index + 100_000).dropFirst() + ".txt"
            let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            if descriptor >= 0 {
                _ = Glibc.write(descriptor, "x", 1)
                close(descriptor)
            }
            paths.append(path)
        }
        return paths
    }

    /// The process's open descriptors whose link names one of `kinds` (such as `anon_inode:inotify`).
    static func openDescriptors(matching kinds: [String]) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return entries.compactMap { entry in
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + entry)
            else { return nil }
            return kinds.contains(target) ? target : nil
        }
    }
}

/// A new empty folder for one test.
func makeTemporaryFolder() throws -> TemporaryDirectory {
    try TemporaryDirectory(prefix: "watcher")
}

func configuration(
    _ root: String,
    patterns: [String] = [],
    ignore: [String] = [],
    gitignore: Bool = false
) throws -> FileScanner.Configuration {
    FileScanner.Configuration(
        paths: [root],
        patterns: try patterns.map { try Glob($0) },
        ignore: try ignore.map { try Glob($0) },
        gitignore: gitignore
    )
}

/// Scenarios every ``FileWatcher`` must pass, run by the inotify and the polling suites alike.
enum WatcherScenarios {
    /// Creating, modifying and deleting a matching file each give a batch with just its path.
    static func createModifyDelete(
        _ make: (FileScanner.Configuration) throws -> any FileWatcher
    ) async throws {
        let folder = try makeTemporaryFolder()
        defer { folder.remove() }
        let file = folder.url("a.txt")
        let watcher = try make(try configuration(folder.path, patterns: ["**/*.txt"]))
        defer { watcher.stop() }
        let collector = BatchCollector(watcher.batches)
        try Files.write(file, "one")
        #expect(await collector.wait { $0.count >= 1 })
        #expect(collector.batches.first == FileChangeBatch(paths: [file]))

        // A different size, so the change shows even where timestamps are coarse (polling). On a loaded machine the
        // write before may have come as two batches (its open and its close a debounce apart): each change is
        // counted from the batches seen before it.
        let beforeWrite = collector.batches.count
        try Files.write(file, "two, longer")
        #expect(await collector.wait { $0.count > beforeWrite })
        #expect(collector.batches.last == FileChangeBatch(paths: [file]))

        let beforeRemove = collector.batches.count
        try Files.remove(file)
        #expect(await collector.wait { $0.count > beforeRemove })
        #expect(collector.batches.last == FileChangeBatch(paths: [file]))
    }
}
