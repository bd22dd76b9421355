import DaemonKit
import Foundation
import OrchestrateTesting
import Testing

extension FileWatcherTests {
    @Suite("PollingWatcher")
    struct Polling {
        static let fast = Debouncer.Configuration(debounce: .milliseconds(30), maxWait: .seconds(2))
        static let interval = Duration.milliseconds(20)

        /// Runs `body` with a started watcher over `configuration` and a collector of its batches.
        func withWatcher(
            _ configuration: FileScanner.Configuration,
            debouncing: Debouncer.Configuration = fast,
            _ body: (PollingWatcher, BatchCollector) async throws -> Void
        ) async throws {
            let watcher = try PollingWatcher(configuration, interval: Self.interval, debouncing: debouncing)
            let collector = BatchCollector(watcher.batches)
            defer { watcher.stop() }
            try await body(watcher, collector)
        }

        @Test("creating, modifying and deleting a matching file each give a batch with its path")
        func createModifyDelete() async throws {
            try await WatcherScenarios.createModifyDelete {
                try PollingWatcher($0, interval: Self.interval, debouncing: Self.fast)
            }
        }

        @Test("non-matching and ignored files are left out of the batch of a later matching file")
        func ignoredFiles() async throws {
            let folder = try makeTemporaryFolder()
            defer { folder.remove() }
            let config = try configuration(folder.path, patterns: ["**/*.txt"], ignore: ["skip/**"])
            try await withWatcher(config) { _, collector in
                try Files.write(folder.url("notes.md"))
                try Files.write(folder.url("skip/x.txt"))
                let match = folder.url("match.txt")
                try Files.write(match)
                #expect(await collector.wait(for: match))
                #expect(collector.paths == [match])
            }
        }

        @Test("a new nested folder with a file written at once is seen")
        func newNestedFolder() async throws {
            let folder = try makeTemporaryFolder()
            defer { folder.remove() }
            try await withWatcher(try configuration(folder.path)) { _, collector in
                let file = folder.url("a/b/c/new.txt")
                try Files.write(file)
                #expect(await collector.wait(for: file))
                #expect(collector.paths == [file])
            }
        }

        @Test("an editor's save by rename reports the target")
        func editorSave() async throws {
            let folder = try makeTemporaryFolder()
            defer { folder.remove() }
            let target = folder.url("main.txt")
            try Files.write(target, "old")
            try await withWatcher(try configuration(folder.path, patterns: ["**/*.txt"])) { _, collector in
                let temporary = folder.url(".main.txt.swp")
                // Same size as before: the new inode is what shows the save.
                try Files.write(temporary, "new")
                try Files.move(temporary, to: target)
                #expect(await collector.wait(for: target))
                #expect(collector.batches == [FileChangeBatch(paths: [target])])
            }
        }

        @Test("a folder deleted and recreated is still watched")
        func deleteAndRecreateFolder() async throws {
            let folder = try makeTemporaryFolder()
            defer { folder.remove() }
            let old = folder.url("sub/old.txt")
            try Files.write(old)
            try await withWatcher(try configuration(folder.path)) { _, collector in
                try Files.remove(folder.url("sub"))
                #expect(await collector.wait(for: old))
                let new = folder.url("sub/new.txt")
                try Files.write(new)
                #expect(await collector.wait(for: new))
                #expect(collector.paths == [old, new])
            }
        }

        @Test("10,000 files created at once arrive in one or two batches with every path")
        func manyFiles() async throws {
            let folder = try makeTemporaryFolder()
            defer { folder.remove() }
            let debouncing = Debouncer.Configuration(debounce: .milliseconds(200), maxWait: .seconds(10))
            try await withWatcher(try configuration(folder.path), debouncing: debouncing) { _, collector in
                let expected = Set(Files.createMany(10_000, in: folder.path))
                #expect(await collector.wait(timeout: .seconds(30)) { expected.isSubset(of: Set($0.flatMap(\.paths))) })
                #expect(collector.batches.count <= 2)
                #expect(collector.paths == expected)
            }
        }

        @Test("deleting the configured folder ends the stream with watchPathRemoved")
        func rootRemoved() async throws {
            let folder = try makeTemporaryFolder()
            defer { folder.remove() }
            try await withWatcher(try configuration(folder.path)) { _, collector in
                try Files.remove(folder.path)
                #expect(await collector.waitUntilFinished())
                #expect((collector.error as? DaemonKitError)?.code == .watchPathRemoved)
            }
        }

        @Test("a missing path cannot be watched")
        func missingPath() throws {
            let folder = try makeTemporaryFolder()
            defer { folder.remove() }
            let error = #expect(throws: DaemonKitError.self) {
                _ = try PollingWatcher(try configuration(folder.url("missing")))
            }
            #expect(error?.code == .watchFailed)
            #expect(error?.errno == ENOENT)
        }

        @Test("stopping ends the stream and leaks no descriptor")
        func stopEndsStream() async throws {
            let folder = try makeTemporaryFolder()
            defer { folder.remove() }
            let watcher = try PollingWatcher(try configuration(folder.path), interval: Self.interval)
            let collector = BatchCollector(watcher.batches)
            watcher.stop()
            watcher.stop()
            #expect(await collector.waitUntilFinished())
            #expect(collector.error == nil)
            // The descriptor count is process-wide and suites run in parallel (a server's event loops, the output
            // monitor open eventfds of their own): a leak must show as one descriptor per watcher, 100 of them,
            // and a few from elsewhere must not fail the test.
            let kinds = ["anon_inode:[eventfd]"]
            let before = Files.openDescriptors(matching: kinds).count
            for _ in 0..<100 {
                let another = try PollingWatcher(try configuration(folder.path), interval: Self.interval)
                another.stop()
            }
            #expect(
                await waitUntil(timeout: .seconds(10)) { Files.openDescriptors(matching: kinds).count - before <= 8 },
                "\(Files.openDescriptors(matching: kinds).count - before) descriptors are left after 100 watchers"
            )
        }
    }
}
