#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The few POSIX file calls the PID lock and the log files share, with `EINTR` retried and short writes
/// completed, so the types above them only decide what to do with a failure.
enum FileDescriptorIO {
    /// Creates `path` and any missing parent folder with `mode`; folders that already exist are left as they
    /// are (their mode is the user's choice).
    static func makeDirectories(_ path: String, mode: mode_t) throws(DaemonKitError) {
        if path.isEmpty { return }
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += component
            if mkdir(prefix, mode) != 0 {
                var error = errno
                if error == EEXIST {
                    var info = stat()
                    if stat(prefix, &info) != 0 {
                        error = errno
                    } else if info.st_mode & S_IFMT != S_IFDIR {
                        error = ENOTDIR
                    } else {
                        prefix += "/"
                        continue
                    }
                }
                throw DaemonKitError(
                    code: .fileSystem,
                    message: "cannot create the folder \(prefix): \(describe(error))",
                    errno: error
                )
            }
            prefix += "/"
        }
    }

    /// Creates the parent folder of the file at `path` (see ``makeDirectories(_:mode:)``).
    static func makeParentDirectories(of path: String, mode: mode_t) throws(DaemonKitError) {
        guard let slash = path.lastIndex(of: "/") else { return }
        try makeDirectories(String(path[..<slash]), mode: mode)
    }

    /// `open(2)`, retried on `EINTR`; returns the descriptor or the `errno`.
    static func openFile(_ path: String, flags: Int32, mode: mode_t = 0o600) -> Result<Int32, Failure> {
        while true {
            let fd = open(path, flags, mode)
            if fd >= 0 { return .success(fd) }
            if errno != EINTR { return .failure(Failure(errno: errno)) }
        }
    }

    /// Writes all of `bytes`, retrying `EINTR` and completing short writes. Returns how many bytes were
    /// written and, when it stopped early, the `errno` that stopped it.
    static func writeFully(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> (written: Int, errno: Int32?) {
        var written = 0
        while written < bytes.count {
            let result = write(fd, bytes.baseAddress! + written, bytes.count - written)
            if result > 0 {
                written += result
            } else if result < 0 && errno == EINTR {
                continue
            } else {
                // A zero-byte write of a non-empty buffer would loop forever; report it like a full disk.
                return (written, result == 0 ? ENOSPC : errno)
            }
        }
        return (written, nil)
    }

    /// Reads `count` bytes at `offset` (fewer at the end of the file), retrying `EINTR`.
    static func readBytes(_ fd: Int32, at offset: Int, count: Int) -> Result<[UInt8], Failure> {
        var failure: Int32?
        // Not zeroed first: only the bytes read are kept.
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            while initialized < count {
                let result = pread(
                    fd,
                    buffer.baseAddress! + initialized,
                    count - initialized,
                    off_t(offset + initialized)
                )
                if result > 0 {
                    initialized += result
                } else if result == 0 {
                    break
                } else if errno != EINTR {
                    failure = errno
                    break
                }
            }
        }
        if let failure { return .failure(Failure(errno: failure)) }
        return .success(bytes)
    }

    /// `close(2)`; its errors are ignored, because nothing useful can follow them (and `EINTR` must not be
    /// retried on Linux, where the descriptor is already gone).
    static func closeFile(_ fd: Int32) {
        _ = close(fd)
    }

    /// A failed system call.
    struct Failure: Error {
        /// The call's `errno`.
        let errno: Int32
    }

    /// `strerror` as a Swift string.
    static func describe(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}

/// Whole files and standard streams, for the modules above DaemonKit (which use FoundationEssentials, not
/// Foundation's `FileHandle`), through ``FileDescriptorIO``.
public enum FileBytes {
    /// The bytes of the file at `path` from `offset` to its end; nil when it cannot be opened or read.
    public static func read(_ path: String, from offset: UInt64 = 0) -> [UInt8]? {
        guard case .success(let fd) = FileDescriptorIO.openFile(path, flags: O_RDONLY | O_CLOEXEC) else { return nil }
        defer { FileDescriptorIO.closeFile(fd) }
        // A small first read: most files read here are small (a /proc/PID/stat at every spawn, a PID, a path).
        var chunk = 4 * 1024
        var bytes: [UInt8] = []
        while case .success(let read) = FileDescriptorIO.readBytes(fd, at: Int(offset) + bytes.count, count: chunk) {
            bytes += read
            if read.count < chunk { return bytes }
            chunk = 64 * 1024
        }
        return nil
    }

    /// The file at `path` as UTF-8 text (invalid bytes replaced); nil when it cannot be opened or read. Cheaper than
    /// `String(contentsOfFile:)`, whose first call in a process costs about a millisecond.
    public static func text(_ path: String) -> String? {
        read(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Replaces the file at `path` with `bytes` (mode `mode`), through a temporary file renamed over it, so that a
    /// reader sees the old contents or the new ones, never a part; false when it could not be written.
    @discardableResult
    public static func replace(_ path: String, with bytes: [UInt8], mode: mode_t = 0o600) -> Bool {
        let temporary = path + ".tmp"
        let flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC
        guard case .success(let fd) = FileDescriptorIO.openFile(temporary, flags: flags, mode: mode) else {
            return false
        }
        let written = bytes.withUnsafeBytes { FileDescriptorIO.writeFully(fd, $0) }
        FileDescriptorIO.closeFile(fd)
        guard written.errno == nil, rename(temporary, path) == 0 else {
            unlink(temporary)
            return false
        }
        return true
    }

    /// Writes all of `bytes` to `descriptor` (a standard stream, say); a failed write is dropped, as a closed
    /// terminal is no reason to stop.
    public static func write(_ bytes: [UInt8], to descriptor: Int32) {
        _ = bytes.withUnsafeBytes { FileDescriptorIO.writeFully(descriptor, $0) }
    }
}
