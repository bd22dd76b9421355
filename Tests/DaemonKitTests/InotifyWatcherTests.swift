import Foundation
import OrchestrateTesting
import Testing

@testable import DaemonKit

extension FileWatcherTests {
    @Suite("InotifyWatcher")
    struct Inotify {
        static let fast = Debouncer.Configuration(debounce: .milliseconds(30), maxWait: .seconds(2))

        /// Runs `body` with a started watcher over `configuration` and a collector of its batches.
        func withWatcher(
            _ configuration: FileScanner.Configuration,
            debouncing: Debouncer.Configuration = fast,
            _ body: (InotifyWatcher, BatchCollector) async throws -> Void
        ) async throws {
            let watcher = try InotifyWatcher(configuration, debouncing: debouncing)
            let collector = BatchCollector(watcher.batches)
            defer { watcher.stop() }
            try await body(watcher, collector)
        }

        @Test("creating, modifying and deleting a matching file each give a batch with its path")
        func createModifyDelete() async throws {
            try await WatcherScenarios.createModifyDelete { try InotifyWatcher($0, debouncing: Self.fast) }
        }

        @Test("non-matching and ignored files are left out of the batch of a later matching file")
        func ignoredFiles() async throws {
            let folder = try makeTemporaryFolder()
            defer { folder.remove() }
            try Files.folder(folder.url("skip"))
            let config = try configuration(folder.path, patterns: ["**/*.txt"], ignore: ["skip/**", "**/*.tmp.txt"])
            try await withWatcher(config) { _, collector in
                // Written first, so a wrongly reported one would arrive before or with the matching file.
                try Files.write(folder.url("notes.md"))
                try Files.write(folder.url("skip/x.txt"))
                try Files.write(folder.url("skip/deeper/y.txt"))
                try Files.write(folder.url("draft.tmp.txt"))
                let match = folder.url("match.txt")
                try Files.write(match)
                #expect(await collector.wait(for: match))
                #expect(collector.paths == [match])
            }
        }

        @Test("files the tree's .gitignore lists are left out")
        func gitignoredFiles() async throws {
            let folder = try makeTemporaryFolder()
            defer { folder.remove() }
            try Files.write(folder.url(".gitignore"), "build/\n*.log\n")
            try await withWatcher(try configuration(folder.path, gitignore: true)) { _, collector in
                try Files.write(folder.url("build/out.txt"))
                try Files.write(folder.url("run.log"))
                let kept = folder.url("src/kept.txt")
                try Files.write(kept)
                #expect(await collector.wait(for: kept))
                #expect(collector.paths == [kept])
            }
        }

        @Test("a new nested folder with a file written at once is seen, and then watched")
        func newNestedFolder() async throws {
            let folder = try makeTemporaryFolder()
            defer { folder.remove() }
            try await withWatcher(try configuration(folder.path)) { _, collector in
                let file = folder.url("a/b/c/new.txt")
                try Files.write(file)
                #expect(await collector.wait(for: file))
                let later = folder.url("a/b/c/later.txt")
                try Files.write(later)
                #expect(await collector.wait(for: later))
                #expect(collector.paths == [file, later])
            }
        }

        @Test("an editor's save by rename reports the target")
        func editorSave() async throws {
            let folder = try makeTemporaryFolder()
            defer { folder.remove() }
            let target = folder.url("src/main.txt")
            try Files.write(target, "old")
            try await withWatcher(try configuration(folder.path, patterns: ["**/*.txt"])) { _, collector in
                let temporary = folder.url("src/.main.txt.swp")
                try Files.write(temporary, "new contents")
                try Files.move(temporary, to: target)
                #expect(await collector.wait(for: target))
                #expect(collector.batches == [FileChangeBatch(paths: [target])])
                // The folder's watch survives the replacement: a second save is seen too.
                try Files.write(temporary, "newer contents")
                try Files.move(temporary, to: target)
                #expect(await collector.wait { $0.count == 2 })
                #expect(collector.batches.last == FileChangeBatch(paths: [target]))
            }
        }

        @Test("a configured file is watched through its folder, by rename too, without its siblings")
        func configuredFile() async throws {
            let folder = try makeTemporaryFolder()
            defer { folder.remove() }
            let target = folder.url("daemons.yaml")
            try Files.write(target, "version: 1")
            try await withWatcher(FileScanner.Configuration(paths: [target])) { _, collector in
                try Files.write(folder.url("other.yaml"))
                let temporary = folder.url("daemons.yaml.tmp")
                try Files.write(temporary, "version: 1\n")
                try Files.move(temporary, to: target)
                #expect(await collector.wait(for: target))
                #expect(collector.paths == [target])
            }
        }

        @Test("a watched folder deleted and recreated is still watched")
        func deleteAndRecreateFolder() async throws {
            let folder = try makeTemporaryFolder()
            defer { folder.remove() }
            let old = folder.url("sub/old.txt")
            try Files.write(old)
            try await withWatcher(try configuration(folder.path)) { _, collector in
                try Files.remove(folder.url("sub"))
                #expect(await collector.wait(for: old))
                try Files.folder(folder.url("sub"))
                let new = folder.url("sub/new.txt")
                try Files.write(new, "1")
                #expect(await collector.wait(for: new))
                let count = collector.batches.count
                // Written once the first was reported, so only the recreated folder's watch can report it.
                try Files.write(new, "22")
                #expect(await collector.wait { $0.count > count })
                #expect(collector.batches.last == FileChangeBatch(paths: [new]))
            }
        }

        @Test("a folder moved in reports its files; moved away, it asks for a rescan")
        func movedFolders() async throws {
            let outside = try makeTemporaryFolder()
            let folder = try makeTemporaryFolder()
            defer {
                outside.remove()
                folder.remove()
            }
            let incoming = outside.url("pkg/deep/mod.txt")
            try Files.write(incoming)
            try await withWatcher(try configuration(folder.path)) { _, collector in
                try Files.move(outside.url("pkg"), to: folder.url("pkg"))
                let moved = folder.url("pkg/deep/mod.txt")
                #expect(await collector.wait(for: moved))
                #expect(collector.batches.allSatisfy { !$0.rescan })

                try Files.move(folder.url("pkg"), to: outside.url("pkg"))
                #expect(await collector.wait { $0.contains(where: \.rescan) })
                let count = collector.batches.count
                // The watch went with the folder: writing inside it outside the tree reports nothing, which the
                // next change inside the tree shows.
                try Files.write(incoming, "changed outside")
                let marker = folder.url("marker.txt")
                try Files.write(marker)
                #expect(await collector.wait(for: marker))
                #expect(collector.batches.dropFirst(count).flatMap(\.paths) == [marker])
            }
        }

        @Test("10,000 files created at once arrive in one or two batches with every path, or as a rescan")
        func manyFiles() async throws {
            let folder = try makeTemporaryFolder()
            defer { folder.remove() }
            let debouncing = Debouncer.Configuration(debounce: .milliseconds(200), maxWait: .seconds(10))
            try await withWatcher(try configuration(folder.path), debouncing: debouncing) { _, collector in
                let paths = Files.createMany(10_000, in: folder.path)
                let expected = Set(paths)
                let done = await collector.wait(timeout: .seconds(30)) { batches in
                    batches.contains(where: \.rescan) || expected.isSubset(of: Set(batches.flatMap(\.paths)))
                }
                #expect(done)
                let batches = collector.batches
                #expect(batches.count <= 2)
                #expect(Set(batches.flatMap(\.paths)).isSubset(of: expected))
            }
        }

        @Test("an inotify queue overflow becomes a rescan and the watches are renewed")
        func overflow() throws {
            let folder = try makeTemporaryFolder()
            defer { folder.remove() }
            let limit =
                (try? String(contentsOfFile: "/proc/sys/fs/inotify/max_queued_events", encoding: .utf8))
                .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 16_384
            try #require(limit <= 200_000, "the queue limit is too high to overflow in a test")
            let source = try InotifySource(try configuration(folder.path))
            defer { source.close() }
            // Nothing reads the source meanwhile, so the queue fills up and overflows.
            try Files.folder(folder.url("made-during-overflow"))
            _ = Files.createMany(limit / 2 + 1, in: folder.path)
            var changes = RawChanges()
            while true {
                let before = changes.paths.count
                try source.readReady(into: &changes)
                if changes.paths.count == before && !changes.rescan { break }
                if changes.rescan { break }
            }
            #expect(changes.rescan)
            // The folder whose creation event may have been lost is watched after the resynchronization.
            let late = folder.url("made-during-overflow/late.txt")
            try Files.write(late)
            var after = RawChanges()
            let deadline = ContinuousClock.now + .seconds(10)
            while !after.paths.contains(late), ContinuousClock.now < deadline {
                try source.readReady(into: &after)
            }
            #expect(after.paths.contains(late))
        }

        @Test("deleting the configured folder ends the stream with watchPathRemoved")
        func rootRemoved() async throws {
            let folder = try makeTemporaryFolder()
            defer { folder.remove() }
            let file = folder.url("a.txt")
            try Files.write(file)
            try await withWatcher(try configuration(folder.path)) { _, collector in
                try Files.remove(folder.path)
                #expect(await collector.waitUntilFinished())
                #expect((collector.error as? DaemonKitError)?.code == .watchPathRemoved)
                // The deletion seen before the end is still handed over.
                #expect(collector.paths == [file])
            }
        }

        @Test("a missing path cannot be watched")
        func missingPath() throws {
            let folder = try makeTemporaryFolder()
            defer { folder.remove() }
            let error = #expect(throws: DaemonKitError.self) {
                _ = try InotifyWatcher(try configuration(folder.url("missing")))
            }
            #expect(error?.code == .watchFailed)
            #expect(error?.errno == ENOENT)
            #expect(error?.message.contains("missing") == true)
        }

        @Test("a reached watch limit is its own error, naming the setting to raise")
        func watchLimitError() {
            let error = DaemonKitError.watch("/srv/tree", errno: ENOSPC)
            #expect(error.code == .watchLimitReached)
            #expect(error.message.contains("max_user_watches"))
            #expect(DaemonKitError.inotifyUnavailable(errno: EMFILE).code == .watchLimitReached)
            #expect(DaemonKitError.watch("/srv/tree", errno: EACCES).code == .watchFailed)
        }

        @Test("starting and stopping 200 watchers leaks no descriptor")
        func noDescriptorLeak() async throws {
            let folder = try makeTemporaryFolder()
            defer { folder.remove() }
            try Files.write(folder.url("sub/a.txt"))
            let config = try configuration(folder.path)
            let kinds = ["anon_inode:inotify", "anon_inode:[eventfd]"]
            let before = Files.openDescriptors(matching: kinds).count
            do {
                // The count can see watchers' descriptors at all: 10 live watchers hold 20 (give or take the few
                // that suites running in parallel open or close meanwhile).
                let live = try (0..<10).map { _ in try InotifyWatcher(config) }
                #expect(Files.openDescriptors(matching: kinds).count - before >= 12)
                for watcher in live { watcher.stop() }
            }
            for index in 0..<200 {
                let watcher = try InotifyWatcher(config)
                // Half stopped explicitly, half by being released.
                if index.isMultiple(of: 2) { watcher.stop() }
            }
            // Suites running in parallel may open process-wide eventfds once (a server's event loops, the output
            // monitor's, swift-subprocess's) or hold a watcher of their own for a while; a leak here would be one
            // or two descriptors for each of the 200 watchers, for good.
            #expect(
                await waitUntil(timeout: .seconds(10)) { Files.openDescriptors(matching: kinds).count - before <= 8 },
                "\(Files.openDescriptors(matching: kinds).count - before) descriptors are left after 200 watchers"
            )
        }
    }
}
