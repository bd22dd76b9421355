import DaemonKit
import Foundation
import OrchestrateTesting
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("RotatingLogFile", .ownThread)
struct RotatingLogFileTests {
    /// 2026-11-26T19:28:28.123Z
    static let fixedDate = Date(timeIntervalSince1970: 1_795_721_308.123)
    static let stamp = "2026-11-26T19:28:28.123Z "

    static func makeLog(
        _ path: String,
        maxSize: Int = 1 << 20,
        keep: Int = 3,
        date: Date = fixedDate,
        onNotice: (@Sendable (RotatingLogFile.Notice) -> Void)? = nil
    ) throws -> RotatingLogFile {
        try RotatingLogFile(
            path: path,
            rotation: LogRotation(maxSize: maxSize, keep: keep),
            clock: { date },
            onNotice: onNotice
        )
    }

    /// The lines of every file of the log, oldest file first.
    static func allLines(_ path: String, keep: Int) -> [String] {
        var files = (1...max(keep, 1)).reversed().map { "\(path).\($0)" }
        files.append(path)
        return files.flatMap { file in
            contents(of: file).split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        }
    }

    static func size(_ path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : -1
    }

    @Test("complete lines get a UTC timestamp with milliseconds; the supervisor's lines too")
    func timestamps() throws {
        try TemporaryDirectory.with { folder in
            let path = folder.url("logs/web.log")
            let log = try Self.makeLog(path)
            log.write(Array("hello\nworld\n".utf8))
            log.writeLine("supervisor: started\nsecond line")
            log.writeLine("")
            log.close()
            #expect(
                contents(of: path)
                    == "\(Self.stamp)hello\n\(Self.stamp)world\n\(Self.stamp)supervisor: started\n"
                    + "\(Self.stamp)second line\n\(Self.stamp)\n"
            )
            #expect(permissions(of: folder.url("logs")) == 0o700)
            #expect(permissions(of: path) == 0o600)
        }
    }

    @Test(
        "timestamps are formatted in UTC and rounded to the millisecond",
        arguments: [
            (0.0, "1970-01-01T00:00:00.000Z"),
            (-0.5, "1969-12-31T23:59:59.500Z"),
            (951_782_400.0, "2000-02-29T00:00:00.000Z"),
            (1_795_721_308.9996, "2026-11-26T19:28:29.000Z"),
            (4_102_444_799.007, "2099-12-31T23:59:59.007Z"),
        ]
    )
    func timestampFormat(seconds: Double, expected: String) throws {
        try TemporaryDirectory.with { folder in
            let path = folder.url("a.log")
            let log = try Self.makeLog(path, date: Date(timeIntervalSince1970: seconds))
            log.write(Array("x\n".utf8))
            log.close()
            #expect(contents(of: path) == "\(expected) x\n")
        }
    }

    @Test("chunks split anywhere, even inside a UTF-8 sequence, still make whole lines")
    func chunkedWrites() throws {
        let text = "héllo wörld — ✓ 日本\nsecond 🎉 line\n\nthird"
        let bytes = Array(text.utf8)
        try TemporaryDirectory.with { folder in
            for split in 1..<bytes.count {
                let path = folder.url("split-\(split).log")
                let log = try Self.makeLog(path)
                log.write(bytes[..<split])
                log.write(bytes[split...])
                log.close()
                #expect(
                    contents(of: path)
                        == "\(Self.stamp)héllo wörld — ✓ 日本\n\(Self.stamp)second 🎉 line\n\(Self.stamp)\n"
                        + "\(Self.stamp)third\n",
                    "split at \(split)"
                )
            }
            let path = folder.url("bytes.log")
            let log = try Self.makeLog(path)
            for byte in bytes { log.write(CollectionOfOne(byte)) }
            #expect(!contents(of: path).contains("third"))
            log.flush()
            #expect(contents(of: path).hasSuffix("\(Self.stamp)third\n"))
            log.close()
            log.write(Array("ignored after close\n".utf8))
            #expect(!contents(of: path).contains("ignored"))
        }
    }

    @Test("a partial line waits for its newline while the supervisor's lines go through")
    func partialLineAndWriteLine() throws {
        try TemporaryDirectory.with { folder in
            let path = folder.url("a.log")
            let log = try Self.makeLog(path)
            log.write(Array("child sa".utf8))
            log.writeLine("supervisor")
            log.write(Array("ys hi\n".utf8))
            log.close()
            #expect(contents(of: path) == "\(Self.stamp)supervisor\n\(Self.stamp)child says hi\n")
        }
    }

    @Test("rotation keeps exactly `keep` old files, none over maxSize, lines intact and in order")
    func rotation() throws {
        try TemporaryDirectory.with { folder in
            let path = folder.url("logs/job.log")
            let maxSize = 200
            let log = try Self.makeLog(path, maxSize: maxSize, keep: 3)
            let written = (0..<300).map { "line-\($0) " + String(repeating: "x", count: $0 % 17) }
            for line in written { log.write(Array("\(line)\n".utf8)) }
            log.close()

            for index in 1...3 { #expect(FileManager.default.fileExists(atPath: "\(path).\(index)")) }
            #expect(!FileManager.default.fileExists(atPath: "\(path).4"))
            for file in [path, "\(path).1", "\(path).2", "\(path).3"] {
                #expect(Self.size(file) <= maxSize, "\(file)")
                #expect(Self.size(file) > 0, "\(file)")
            }
            let lines = Self.allLines(path, keep: 3)
            for line in lines { #expect(line.hasPrefix(Self.stamp)) }
            let texts = lines.map { String($0.dropFirst(Self.stamp.count)) }
            #expect(texts.count > 10)
            #expect(texts == Array(written.suffix(texts.count)))
        }
    }

    @Test("a single line longer than maxSize is written whole, then rotated away")
    func overlongLine() throws {
        try TemporaryDirectory.with { folder in
            let path = folder.url("a.log")
            let log = try Self.makeLog(path, maxSize: 100, keep: 2)
            let long = String(repeating: "L", count: 300)
            log.writeLine("before")
            log.writeLine(long)
            #expect(contents(of: path) == "\(Self.stamp)\(long)\n")
            #expect(contents(of: "\(path).1") == "\(Self.stamp)before\n")
            log.writeLine("after")
            log.close()
            #expect(contents(of: path) == "\(Self.stamp)after\n")
            #expect(contents(of: "\(path).1") == "\(Self.stamp)\(long)\n")
            #expect(contents(of: "\(path).2") == "\(Self.stamp)before\n")
        }
    }

    @Test("output that never ends its line is cut at 1 MiB, so the buffer cannot grow without bound")
    func partialLineLimit() throws {
        try TemporaryDirectory.with { folder in
            let path = folder.url("a.log")
            let log = try Self.makeLog(path, maxSize: 100, keep: 1)
            let limit = 1 << 20
            log.write(repeatElement(UInt8(ascii: "a"), count: limit + 10))
            #expect(contents(of: path) == Self.stamp + String(repeating: "a", count: limit) + "\n")
            log.close()
            #expect(contents(of: "\(path).1") == Self.stamp + String(repeating: "a", count: limit) + "\n")
            #expect(contents(of: path) == Self.stamp + String(repeating: "a", count: 10) + "\n")
        }
    }

    @Test("keep 0 truncates the file instead of rotating")
    func keepZero() throws {
        try TemporaryDirectory.with { folder in
            let path = folder.url("a.log")
            let log = try Self.makeLog(path, maxSize: 100, keep: 0)
            for index in 0..<50 { log.writeLine("line \(index)") }
            log.close()
            #expect(!FileManager.default.fileExists(atPath: "\(path).1"))
            #expect(Self.size(path) <= 100)
            #expect(contents(of: path).hasSuffix("\(Self.stamp)line 49\n"))
        }
    }

    @Test("a reopened log appends and counts the existing size towards rotation")
    func reopenAppends() throws {
        try TemporaryDirectory.with { folder in
            let path = folder.url("a.log")
            let first = try Self.makeLog(path, maxSize: 80, keep: 1)
            first.writeLine("one")
            first.close()
            let second = try Self.makeLog(path, maxSize: 80, keep: 1)
            second.writeLine("two")
            second.writeLine("three")
            second.close()
            #expect(contents(of: "\(path).1") == "\(Self.stamp)one\n\(Self.stamp)two\n")
            #expect(contents(of: path) == "\(Self.stamp)three\n")
        }
    }

    @Test("concurrent writers from several threads produce intact lines")
    func concurrentWriters() throws {
        try TemporaryDirectory.with { folder in
            let path = folder.url("a.log")
            let threads = 8
            let perThread = 400
            let maxSize = 16 << 10
            let log = try Self.makeLog(path, maxSize: maxSize, keep: 1000)
            DispatchQueue.concurrentPerform(iterations: threads) { thread in
                for index in 0..<perThread {
                    let text = "writer-\(thread) line-\(index) " + String(repeating: "z", count: index % 50)
                    if index.isMultiple(of: 2) {
                        log.write(Array("\(text)\n".utf8))
                    } else {
                        log.writeLine(text)
                    }
                }
            }
            log.close()
            let lines = Self.allLines(path, keep: 1000)
            var expected: Set<String> = []
            for thread in 0..<threads {
                for index in 0..<perThread {
                    expected.insert(
                        "\(Self.stamp)writer-\(thread) line-\(index) " + String(repeating: "z", count: index % 50)
                    )
                }
            }
            #expect(lines.count == threads * perThread)
            #expect(Set(lines) == expected)
            // Each writer's lines stay in the order it wrote them.
            for thread in 0..<threads {
                let mine = lines.filter { $0.contains("writer-\(thread) ") }
                let indices = mine.map { Int($0.split(separator: " ")[2].dropFirst("line-".count))! }
                #expect(indices == Array(0..<perThread))
            }
            let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            #expect(files.count > 2)
            for file in files { #expect(Self.size(folder.url(file)) <= maxSize) }
        }
    }

    @Test("a failed write is counted, does not throw, and logging resumes with the lost lines first")
    func writeFailure() throws {
        try TemporaryDirectory.with { folder in
            let path = folder.url("a.log")
            // Every write to /dev/full fails with ENOSPC.
            try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: "/dev/full")
            let notices = Mutex<[RotatingLogFile.Notice]>([])
            let log = try Self.makeLog(path) { notice in notices.withLock { $0.append(notice) } }
            log.writeLine("during")
            log.write(Array("more\n".utf8))
            // One notice when writing starts failing, not one per line.
            #expect(notices.withLock { $0 } == [.failing("cannot write the log file \(path): No space left on device")])
            #expect(log.writeErrorCount >= 1)
            #expect(log.lastError?.code == .fileSystem)
            #expect(log.lastError?.errno == ENOSPC)
            #expect(log.droppedLineCount == 0)

            // Space returns: the path now names a file that can be written.
            try FileManager.default.removeItem(atPath: path)
            log.writeLine("after")
            log.close()
            #expect(contents(of: path) == "\(Self.stamp)during\n\(Self.stamp)more\n\(Self.stamp)after\n")
            #expect(notices.withLock { $0 }.last == .resumed(droppedLines: 0))
            #expect(notices.withLock { $0 }.count == 2)
        }
    }

    @Test("the log's folder and file are made when missing, and an unusable path throws")
    func openErrors() throws {
        try TemporaryDirectory.with { folder in
            try "x".write(toFile: folder.url("file"), atomically: false, encoding: .utf8)
            let error = #expect(throws: DaemonKitError.self) {
                try RotatingLogFile(path: folder.url("file/logs/a.log"))
            }
            #expect(error?.code == .fileSystem)
            #expect(error?.errno == ENOTDIR)
        }
    }

    @Test("a log opened later keeps its lines, in order, until open(); the mirror has them at once")
    func openedLater() throws {
        try TemporaryDirectory.with { folder in
            let path = folder.url("logs/web.log")
            let mirrored = Mutex<[String]>([])
            let log = RotatingLogFile(
                unopenedAt: path,
                clock: { Self.fixedDate },
                mirror: { line in mirrored.withLock { $0.append(String(decoding: line, as: UTF8.self)) } }
            )
            log.writeLine("started")
            log.write(Array("hello\npart".utf8))
            #expect(!FileManager.default.fileExists(atPath: path))
            #expect(mirrored.withLock { $0 } == ["\(Self.stamp)started\n", "\(Self.stamp)hello\n"])
            #expect(log.writeErrorCount == 0)

            log.open()
            #expect(contents(of: path) == "\(Self.stamp)started\n\(Self.stamp)hello\n")
            #expect(permissions(of: folder.url("logs")) == 0o700)
            log.write(Array("ial\n".utf8))  // the partial line waited in memory, not in the file
            log.open()  // a second open does nothing
            log.close()
            #expect(contents(of: path) == "\(Self.stamp)started\n\(Self.stamp)hello\n\(Self.stamp)partial\n")
        }
    }

    @Test("lines written by several threads while the log is being opened are all written once, in order")
    func writersWhileOpening() throws {
        try TemporaryDirectory.with { folder in
            let path = folder.url("logs/a.log")
            let log = RotatingLogFile(unopenedAt: path, clock: { Self.fixedDate })
            let (threads, perThread) = (4, 300)
            DispatchQueue.concurrentPerform(iterations: threads + 1) { thread in
                guard thread < threads else {
                    log.open()
                    return
                }
                for index in 0..<perThread { log.writeLine("writer-\(thread) line-\(index)") }
            }
            log.close()
            let lines = Self.allLines(path, keep: 1)
            #expect(lines.count == threads * perThread)
            for thread in 0..<threads {
                let own = lines.filter { $0.hasPrefix("\(Self.stamp)writer-\(thread) ") }
                #expect(own == (0..<perThread).map { "\(Self.stamp)writer-\(thread) line-\($0)" })
            }
        }
    }

    @Test("a log closed before it was opened writes what waited; one that cannot be opened says so once")
    func openedLaterFailures() throws {
        try TemporaryDirectory.with { folder in
            let closed = folder.url("closed.log")
            let log = RotatingLogFile(unopenedAt: closed, clock: { Self.fixedDate })
            log.writeLine("stopping")
            log.close()
            log.open()
            #expect(contents(of: closed) == "\(Self.stamp)stopping\n")

            try "x".write(toFile: folder.url("file"), atomically: false, encoding: .utf8)
            let notices = Mutex<[RotatingLogFile.Notice]>([])
            let broken = RotatingLogFile(
                unopenedAt: folder.url("file/a.log"),
                clock: { Self.fixedDate },
                onNotice: { notice in notices.withLock { $0.append(notice) } }
            )
            broken.writeLine("kept")
            broken.open()
            #expect(broken.lastError?.code == .fileSystem)
            #expect(broken.lastError?.errno == ENOTDIR)
            #expect(notices.withLock { $0 }.count == 1)
            broken.close()

            #expect(throws: DaemonKitError.self) { try RotatingLogFile.prepareFolder(folder.url("file/logs")) }
            try RotatingLogFile.prepareFolder(folder.url("logs/deeper"))
            #expect(permissions(of: folder.url("logs/deeper")) == 0o700)
        }
    }

    @Test("tail reads the last lines, from the rotated file when the current one has too few")
    func tail() throws {
        try TemporaryDirectory.with { folder in
            let path = folder.url("a.log")
            #expect(RotatingLogFile.tail(path: path, lines: 5).isEmpty)

            try "".write(toFile: path, atomically: false, encoding: .utf8)
            #expect(RotatingLogFile.tail(path: path, lines: 5).isEmpty)

            try "one\ntwo\nthree\n".write(toFile: path, atomically: false, encoding: .utf8)
            #expect(RotatingLogFile.tail(path: path, lines: 2) == ["two", "three"])
            #expect(RotatingLogFile.tail(path: path, lines: 10) == ["one", "two", "three"])
            #expect(RotatingLogFile.tail(path: path, lines: 0).isEmpty)

            try "one\n\ntwo\npartial".write(toFile: path, atomically: false, encoding: .utf8)
            #expect(RotatingLogFile.tail(path: path, lines: 3) == ["", "two", "partial"])

            try "old-1\nold-2\n".write(toFile: "\(path).2", atomically: false, encoding: .utf8)
            try "mid-1\nmid-2\n".write(toFile: "\(path).1", atomically: false, encoding: .utf8)
            try "new-1\n".write(toFile: path, atomically: false, encoding: .utf8)
            #expect(RotatingLogFile.tail(path: path, lines: 2) == ["mid-2", "new-1"])
            #expect(RotatingLogFile.tail(path: path, lines: 4) == ["old-2", "mid-1", "mid-2", "new-1"])
            #expect(RotatingLogFile.tail(path: path, lines: 9) == ["old-1", "old-2", "mid-1", "mid-2", "new-1"])
        }
    }

    @Test("tail of a large file reads across chunk boundaries")
    func tailLargeFile() throws {
        try TemporaryDirectory.with { folder in
            let path = folder.url("big.log")
            let lines = (0..<20_000).map { "entry \($0) " + String(repeating: "é", count: $0 % 40) }
            try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: false, encoding: .utf8)
            #expect(Self.size(path) > 4 * (64 << 10))
            #expect(RotatingLogFile.tail(path: path, lines: 7) == Array(lines.suffix(7)))
            #expect(RotatingLogFile.tail(path: path, lines: 5_000) == Array(lines.suffix(5_000)))
            #expect(RotatingLogFile.tail(path: path, lines: 30_000) == lines)
        }
    }

    @Test("tail follows what the writer rotated")
    func tailAfterRotation() throws {
        try TemporaryDirectory.with { folder in
            let path = folder.url("a.log")
            let log = try Self.makeLog(path, maxSize: 120, keep: 2)
            for index in 0..<20 { log.writeLine("line \(index)") }
            log.close()
            let all = Self.allLines(path, keep: 2)
            #expect(RotatingLogFile.tail(path: path, lines: 100) == all)
            #expect(RotatingLogFile.tail(path: path, lines: 4) == Array(all.suffix(4)))
            #expect(all.last == "\(Self.stamp)line 19")
        }
    }
}
