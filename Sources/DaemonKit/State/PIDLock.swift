import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A lock on a PID file: an exclusive `flock` held for the holder's whole life, so two processes started for the
/// same file cannot both win and a PID file left by a crash is harmless (the kernel drops the lock when its holder
/// dies, however it dies).
///
/// The file holds the holder's PID followed by a newline, for people and for ``holder(path:)``; the lock,
/// not the file's content, says whether a supervisor is running. ``release()`` leaves the file in place:
/// removing it would let a process that opened the old file lock an orphaned inode while a third locks a new
/// file, and a stale file costs nothing.
public final class PIDLock: Sendable {
    /// The PID file's path.
    public let path: String
    /// The PID written into the file: this process's.
    public let pid: Int32
    /// The locked descriptor, `nil` once released.
    private let descriptor: Mutex<Int32?>

    private init(path: String, descriptor: Int32, pid: Int32) {
        self.path = path
        self.pid = pid
        self.descriptor = Mutex(descriptor)
    }

    deinit {
        release()
    }

    /// Takes the lock on `path`, creating its folder (mode 0700) and the file (mode 0600) when missing, and
    /// writes this process's PID into the file.
    ///
    /// - Throws: `.alreadyRunning` when another open file (another process, or another `PIDLock` of this
    ///   process) holds the lock, naming the holder's PID when the file names a live one; `.fileSystem` when
    ///   the folder or the file cannot be made or written.
    public static func acquire(path: String) throws(DaemonKitError) -> PIDLock {
        try FileDescriptorIO.makeParentDirectories(of: path, mode: 0o700)
        let clock = ContinuousClock()
        let start = clock.now
        while true {
            let fd: Int32
            switch FileDescriptorIO.openFile(path, flags: O_RDWR | O_CREAT | O_CLOEXEC, mode: 0o600) {
            case .success(let opened): fd = opened
            case .failure(let failure):
                throw DaemonKitError(
                    code: .fileSystem,
                    message: "cannot open the PID file \(path): \(FileDescriptorIO.describe(failure.errno))",
                    errno: failure.errno
                )
            }
            if flock(fd, LOCK_EX | LOCK_NB) == 0 {
                // Someone may have removed or replaced the file between our open and flock; a lock on the
                // unlinked inode would guard nothing, so start again on whatever the path is now.
                guard refersToSameFile(fd, path) else {
                    close(fd)
                    continue
                }
                return try finishAcquiring(path: path, descriptor: fd)
            }
            let error = errno
            close(fd)
            guard error == EWOULDBLOCK || error == EINTR else {
                throw DaemonKitError(
                    code: .fileSystem,
                    message: "cannot lock the PID file \(path): \(FileDescriptorIO.describe(error))",
                    errno: error
                )
            }
            // Held. It may be only a `holder(path:)` probe (a shared lock held for microseconds), a holder that
            // has locked the file but not yet written its PID, or a holder on its way out (the PID it wrote gone,
            // a zombie or exiting, its last threads still holding the lock): retry for a moment before concluding.
            let named = readPID(path)
            let holder = named.flatMap { isExiting($0) ? nil : $0 }
            let patience = holder != nil ? retryWindow : named != nil ? dyingHolderWindow : pidWaitWindow
            if clock.now - start > patience {
                var message = "orchestrate is already running for this manifest"
                if let holder { message += " (pid \(holder))" }
                throw DaemonKitError(code: .alreadyRunning, message: message, errno: EWOULDBLOCK)
            }
            usleep(1_000)
        }
    }

    /// How long `acquire` retries a held lock before trusting it is really held.
    private static let retryWindow = Duration.milliseconds(20)
    /// How long `acquire` and `holder` wait for a fresh holder to write its PID.
    private static let pidWaitWindow = Duration.milliseconds(500)
    /// How long `acquire` and `isRunning` wait for a holder on its way out to let go of the lock: the threads of
    /// a supervisor killed by SIGKILL hold it until the last of them has exited, after the process shows as
    /// killed or a zombie.
    private static let dyingHolderWindow = Duration.seconds(1)

    private static func finishAcquiring(path: String, descriptor fd: Int32) throws(DaemonKitError) -> PIDLock {
        let pid = getpid()
        let text = Array("\(pid)\n".utf8)
        var error: Int32? = nil
        if ftruncate(fd, 0) != 0 {
            error = errno
        } else {
            error = text.withUnsafeBytes { FileDescriptorIO.writeFully(fd, $0) }.errno
        }
        if let error {
            close(fd)
            throw DaemonKitError(
                code: .fileSystem,
                message: "cannot write the PID file \(path): \(FileDescriptorIO.describe(error))",
                errno: error
            )
        }
        return PIDLock(path: path, descriptor: fd, pid: pid)
    }

    /// Whether this object still holds the lock.
    public var isHeld: Bool {
        descriptor.withLock { $0 != nil }
    }

    /// Whether the file this object locks is still the one at ``path``: false once someone removed it (or the
    /// folder around it), when the lock guards nothing that another process could see.
    public var isInPlace: Bool {
        descriptor.withLock { fd in fd.map { Self.refersToSameFile($0, path) } ?? false }
    }

    /// Unlocks and closes the file; the file itself stays. Calling it again does nothing.
    public func release() {
        descriptor.withLock { fd in
            guard let held = fd else { return }
            flock(held, LOCK_UN)
            close(held)
            fd = nil
        }
    }

    /// The PID of the process holding the lock on `path`, or `nil` when no process holds it (or when the
    /// holder's PID cannot be learnt from the file; ``isRunning(path:)`` still says `true` then).
    ///
    /// The lock is tested on a descriptor of its own, and `flock` locks belong to open file descriptions, so
    /// the answer is right from another process and from the holding process alike.
    public static func holder(path: String) -> Int32? {
        guard isLocked(path) else { return nil }
        let clock = ContinuousClock()
        let deadline = clock.now + pidWaitWindow
        while true {
            if let pid = readPID(path), isAlive(pid) { return pid }
            if clock.now >= deadline || !isLocked(path) { return nil }
            usleep(1_000)
        }
    }

    /// Whether some process holds the lock on `path`.
    ///
    /// A holder on its way out is waited for, up to a second: while the PID in the file is gone, a zombie or
    /// exiting (a supervisor just killed by SIGKILL, whose last threads have yet to exit and let go of the
    /// lock), the lock is tested again until it is free or the second has passed.
    public static func isRunning(path: String) -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + dyingHolderWindow
        while isLocked(path) {
            guard let named = readPID(path), isExiting(named), clock.now < deadline else { return true }
            usleep(1_000)
        }
        return false
    }

    /// Tests the lock with a non-blocking shared lock on a fresh open file description, released at once.
    private static func isLocked(_ path: String) -> Bool {
        guard case .success(let fd) = FileDescriptorIO.openFile(path, flags: O_RDONLY | O_CLOEXEC) else {
            return false
        }
        defer { close(fd) }
        while true {
            if flock(fd, LOCK_SH | LOCK_NB) == 0 {
                flock(fd, LOCK_UN)
                return false
            }
            if errno != EINTR { return errno == EWOULDBLOCK }
        }
    }

    /// The positive PID the file starts with, ignoring surrounding white space; `nil` for anything else.
    private static func readPID(_ path: String) -> Int32? {
        guard let pid = Int32(readSmallFile(path, count: 32).trimmingASCIIWhitespace()), pid > 0 else { return nil }
        return pid
    }

    private static func isAlive(_ pid: Int32) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }

    /// Whether `pid` is on its way out, so that a lock it holds is about to be let go: no such process, a zombie
    /// (`Z`, or `X` while it is reaped), a process in its exit (`PF_EXITING` among its flags), or one with a
    /// SIGKILL pending. A supervisor killed by SIGKILL shows each of these in turn while its threads exit (for
    /// tens of milliseconds on a busy machine), and its lock goes with the last of them. A process whose state
    /// cannot be read is taken to be running.
    private static func isExiting(_ pid: Int32) -> Bool {
        guard isAlive(pid) else { return true }
        // `PID (COMMAND) STATE PPID PGRP SESSION TTY TPGID FLAGS …`: the command may hold any character, so the
        // fields are counted from the last `)`.
        let stat = readSmallFile("/proc/\(pid)/stat", count: 512)
        if let parenthesis = stat.lastIndex(of: ")") {
            let fields = stat[stat.index(after: parenthesis)...].split(separator: " ")
            if let state = fields.first, state == "Z" || state == "X" { return true }
            if fields.count > 6, let flags = UInt32(fields[6]), flags & processExitingFlag != 0 { return true }
        }
        // The signals pending for the thread and for the whole process, as hexadecimal masks.
        let sigkill = UInt64(1) << (SIGKILL - 1)
        for line in readSmallFile("/proc/\(pid)/status", count: 4_096).split(separator: "\n")
        where line.hasPrefix("SigPnd:") || line.hasPrefix("ShdPnd:") {
            if let mask = UInt64(String(line.dropFirst(7)).trimmingASCIIWhitespace(), radix: 16), mask & sigkill != 0 {
                return true
            }
        }
        return false
    }

    /// `PF_EXITING`, the kernel's flag for a task that has begun to exit (`include/linux/sched.h`).
    private static let processExitingFlag: UInt32 = 0x4

    /// Up to `count` bytes of the file at `path` as text; empty when it cannot be read.
    private static func readSmallFile(_ path: String, count: Int) -> String {
        guard case .success(let fd) = FileDescriptorIO.openFile(path, flags: O_RDONLY | O_CLOEXEC) else { return "" }
        defer { close(fd) }
        guard case .success(let bytes) = FileDescriptorIO.readBytes(fd, at: 0, count: count) else { return "" }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func refersToSameFile(_ fd: Int32, _ path: String) -> Bool {
        var open = stat()
        var named = stat()
        guard fstat(fd, &open) == 0, stat(path, &named) == 0 else { return false }
        return open.st_dev == named.st_dev && open.st_ino == named.st_ino
    }
}

extension String {
    fileprivate func trimmingASCIIWhitespace() -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = lastIndex(where: { !isSpace($0) })!
        return self[first...last]
    }
}
