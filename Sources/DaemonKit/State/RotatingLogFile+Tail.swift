#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension RotatingLogFile {
    /// How many bytes `tail` reads at a time, walking back from the end of a file.
    static let tailChunkSize = 64 << 10

    /// The last `lines` lines of the log at `path`, oldest first and without their newlines, for
    /// `orchestrate logs`. The file is read backwards from its end, so a large log costs no more than the lines
    /// asked for; when it holds fewer lines, the rest come from `PATH.1`, then `PATH.2` and so on.
    /// A missing log gives no lines; bytes that are not UTF-8 become U+FFFD.
    public static func tail(path: String, lines: Int) -> [String] {
        guard lines > 0 else { return [] }
        var result: [String] = []
        var generation = 0
        while result.count < lines {
            let file = generation == 0 ? path : "\(path).\(generation)"
            guard let found = lastLines(of: file, count: lines - result.count) else { break }
            result = found + result
            generation += 1
        }
        return result
    }

    /// The last `count` lines of one file, or `nil` when it cannot be opened.
    private static func lastLines(of path: String, count: Int) -> [String]? {
        guard case .success(let fd) = FileDescriptorIO.openFile(path, flags: O_RDONLY | O_CLOEXEC) else {
            return nil
        }
        defer { FileDescriptorIO.closeFile(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return nil }
        var start = Int(info.st_size)
        var chunks: [[UInt8]] = []
        var newlines = 0
        // count + 1 newlines guarantee `count` complete lines, whether or not the file ends with a newline.
        while start > 0 && newlines <= count {
            let chunkStart = max(0, start - tailChunkSize)
            guard case .success(let chunk) = FileDescriptorIO.readBytes(fd, at: chunkStart, count: start - chunkStart)
            else { break }
            newlines += chunk.count { $0 == UInt8(ascii: "\n") }
            chunks.append(chunk)
            start = chunkStart
        }
        let bytes = Array(chunks.reversed().joined())
        if bytes.isEmpty { return [] }
        var parts = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if bytes.last == UInt8(ascii: "\n") { parts.removeLast() }
        // The first part continues bytes that were not read.
        if start > 0 && !parts.isEmpty { parts.removeFirst() }
        return parts.suffix(count).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Every line of the log at `path`, its rotated files first, oldest first (`NAME.log.2`, `.1`, then `NAME.log`).
    public static func allLines(path: String) -> [String] {
        var files: [String] = []
        var generation = 1
        while access("\(path).\(generation)", F_OK) == 0 {
            files.append("\(path).\(generation)")
            generation += 1
        }
        var lines: [String] = []
        for file in files.reversed() + [path] {
            guard let bytes = FileBytes.read(file), !bytes.isEmpty else { continue }
            var parts = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            if bytes.last == UInt8(ascii: "\n") { parts.removeLast() }
            lines += parts.map { String(decoding: $0, as: UTF8.self) }
        }
        return lines
    }
}
