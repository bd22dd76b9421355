import FoundationEssentials
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A daemon's (or the supervisor's) log, where every line starts with the UTC time
/// it was completed (`2026-11-26T19:28:28.123Z hello`) and the file is rotated by size.
///
/// Output of a child process arrives in chunks that split lines (and UTF-8 sequences) anywhere: ``write(_:)``
/// keeps a trailing partial line until its newline or ``flush()``, and writes each complete line with one
/// `write(2)` on a descriptor opened with `O_APPEND`, so lines from several tasks never interleave.
///
/// When a line would take the file past `rotation.maxSize`, `NAME.log` becomes `NAME.log.1`, `.1` becomes
/// `.2` and so on, keeping `rotation.keep` old files; with `keep == 0` the file is truncated instead. A single
/// line longer than `maxSize` is written whole into a fresh file, which the next line rotates away.
///
/// Writing never throws into the caller: a failed write (a full disk) is counted in ``writeErrorCount``, kept
/// in ``lastError``, and the unwritten lines wait in a bounded backlog; the file is reopened on the next write,
/// so logging resumes, backlog first, once space returns or the file can be created again.
public final class RotatingLogFile: Sendable {
    /// The log file's path.
    public let path: String
    /// When the file is rotated and how many old files are kept.
    public let rotation: LogRotation
    /// Where the timestamps come from; injectable so tests see fixed times.
    private let clock: @Sendable () -> Date
    /// Also handed every written line (timestamp included), for `orchestrate up` in the foreground, which
    /// shows the daemons' output on the terminal as well.
    private let mirror: (@Sendable ([UInt8]) -> Void)?
    private let state: Mutex<State>

    /// A partial line longer than this (or than `maxSize`, if larger) is written as a line of its own, so a
    /// child that never prints a newline cannot make the buffer grow without bound.
    static let partialLineLimit = 1 << 20
    /// The most bytes of unwritten lines kept while writes fail; lines beyond it are counted and dropped.
    static let backlogLimit = 1 << 20

    /// A change in whether the file can be written, for whoever reports the daemon's health.
    public enum Notice: Sendable, Equatable {
        /// Writing has started failing (a full disk, a removed folder that cannot be made again): why.
        case failing(String)
        /// Writing works again; this many lines were dropped meanwhile (the backlog was full).
        case resumed(droppedLines: Int)
    }

    /// Told when writing starts failing and when it works again, outside the file's lock.
    private let onNotice: (@Sendable (Notice) -> Void)?

    /// Opens (creating folders with mode 0700 and the file with mode 0600) the log at `path`, appending to
    /// what it already holds.
    ///
    /// - Parameters:
    ///   - path: The log file.
    ///   - rotation: The size at which the file is rotated and how many old files are kept.
    ///   - clock: The current time, asked once per batch of lines completed by a call.
    ///   - mirror: Called with every line written, after the file has it.
    ///   - onNotice: Told when writing starts failing and when it works again.
    /// - Throws: `.fileSystem` when the folder or the file cannot be made or opened.
    public convenience init(
        path: String,
        rotation: LogRotation = LogRotation(),
        clock: @escaping @Sendable () -> Date = { Date() },
        mirror: (@Sendable ([UInt8]) -> Void)? = nil,
        onNotice: (@Sendable (Notice) -> Void)? = nil
    ) throws(DaemonKitError) {
        // The folder is made only when the file cannot be opened: a supervisor opens one log per daemon, all in one
        // folder, and making the folders anew for each was a tenth of a thousand daemons' start.
        var initial = State()
        initial.openIfNeeded(path: path)
        if initial.lastError != nil {
            try FileDescriptorIO.makeParentDirectories(of: path, mode: 0o700)
            initial = State()
            initial.openIfNeeded(path: path)
        }
        if let error = initial.lastError { throw error }
        self.init(path: path, rotation: rotation, clock: clock, mirror: mirror, onNotice: onNotice, state: initial)
    }

    /// The log at `path`, its file not opened yet: lines wait in the backlog (and reach `mirror` at once) until
    /// ``open()``, or a ``close()``, opens it. A supervisor launches its daemons first and opens their logs after,
    /// from one thread (``openInBackground(_:)``): making a thousand files can take longer than starting a
    /// thousand processes (ext4 without a journal skips every recently deleted inode, one lookup each).
    public convenience init(
        unopenedAt path: String,
        rotation: LogRotation = LogRotation(),
        clock: @escaping @Sendable () -> Date = { Date() },
        mirror: (@Sendable ([UInt8]) -> Void)? = nil,
        onNotice: (@Sendable (Notice) -> Void)? = nil
    ) {
        var initial = State()
        initial.unopened = true
        self.init(path: path, rotation: rotation, clock: clock, mirror: mirror, onNotice: onNotice, state: initial)
    }

    private init(
        path: String,
        rotation: LogRotation,
        clock: @escaping @Sendable () -> Date,
        mirror: (@Sendable ([UInt8]) -> Void)?,
        onNotice: (@Sendable (Notice) -> Void)?,
        state: State
    ) {
        self.path = path
        self.rotation = rotation
        self.clock = clock
        self.mirror = mirror
        self.onNotice = onNotice
        self.state = Mutex(state)
    }

    /// Opens the file of a log made ``init(unopenedAt:rotation:clock:mirror:onNotice:)`` (making its folder when
    /// missing) and writes the lines that waited; a failure is reported like a failed write, and the next write
    /// tries again. Does nothing to a log already open or closed.
    public func open() {
        guard state.withLock({ $0.unopened && !$0.isClosed }) else { return }
        // Made without the lock: making a file can take a while, and the daemon's lines go on to the backlog.
        let opened = State.openFile(path)
        let context = Context(path: path, rotation: rotation)
        let notice = state.withLock { state -> Notice? in
            defer { state.notice = nil }
            guard state.unopened, !state.isClosed else {
                // Closed or reopened meanwhile: either opened the file itself.
                if case .success(let (fd, _)) = opened { FileDescriptorIO.closeFile(fd) }
                return nil
            }
            state.unopened = false
            state.install(opened, path: context.path)
            state.drainBacklog(context)
            return state.notice
        }
        if let notice { report(notice) }
    }

    /// Makes `folder` (mode 0700) for logs opened later, and checks that files can be made in it: the error a
    /// log's ``init(path:rotation:clock:mirror:onNotice:)`` would throw comes before anything is started.
    public static func prepareFolder(_ folder: String) throws(DaemonKitError) {
        try FileDescriptorIO.makeDirectories(folder, mode: 0o700)
        guard access(folder, W_OK | X_OK) == 0 else {
            let number = errno
            throw DaemonKitError(
                code: .fileSystem,
                message: "cannot make log files in \(folder): \(FileDescriptorIO.describe(number))",
                errno: number
            )
        }
    }

    /// Opens `logs`, in order, on a thread of their own, so that the caller goes on (``open()``). The thread runs
    /// at the lowest priority (nice 19): while the machine is busy starting the daemons, they come first.
    public static func openInBackground(_ logs: [RotatingLogFile]) {
        guard !logs.isEmpty else { return }
        NamedThread.start(named: "log-open") {
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19)  // 0: this thread, on Linux
            for log in logs { log.open() }
        }
    }

    deinit {
        close()
    }

    /// Appends raw output: every complete line is written with a timestamp, a trailing partial line waits for
    /// its newline (or ``flush()``). Bytes are written as they come; they need not be valid UTF-8.
    public func write(_ bytes: some Sequence<UInt8>) {
        let context = Context(path: path, rotation: rotation)
        let limit = max(rotation.maxSize, Self.partialLineLimit)
        let notice = state.withLock { state -> Notice? in
            defer { state.notice = nil }
            guard !state.isClosed else { return nil }
            let scanStart = state.partial.count
            state.partial.append(contentsOf: bytes)
            var stamp: [UInt8]? = nil
            var lineStart = 0
            var index = scanStart
            while index < state.partial.count {
                let isNewline = state.partial[index] == UInt8(ascii: "\n")
                if isNewline || index + 1 - lineStart >= limit {
                    let lineStamp = stamp ?? Self.timestamp(clock())
                    stamp = lineStamp
                    var record = lineStamp
                    record.append(contentsOf: state.partial[lineStart...index])
                    if !isNewline { record.append(UInt8(ascii: "\n")) }
                    state.emit(record, context)
                    mirror?(record)
                    lineStart = index + 1
                }
                index += 1
            }
            state.partial.removeFirst(lineStart)
            return state.notice
        }
        if let notice { report(notice) }
    }

    /// Writes the supervisor's own message as one line (or one line per line of `text`), with a timestamp.
    /// A partial line of child output that is waiting for its newline stays waiting.
    public func writeLine(_ text: String) {
        let context = Context(path: path, rotation: rotation)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.count > 1 && lines.last?.isEmpty == true { lines.removeLast() }
        let notice = state.withLock { state -> Notice? in
            defer { state.notice = nil }
            guard !state.isClosed else { return nil }
            let stamp = Self.timestamp(clock())
            for line in lines {
                let record = stamp + Array(line.utf8) + [UInt8(ascii: "\n")]
                state.emit(record, context)
                mirror?(record)
            }
            return state.notice
        }
        if let notice { report(notice) }
    }

    /// Tells `onNotice`; once writing resumes after lines were dropped, the file also says how many.
    private func report(_ notice: Notice) {
        if case .resumed(let dropped) = notice, dropped > 0 {
            writeLine("[orchestrate] \(dropped) lines were lost while this log could not be written")
        }
        onNotice?(notice)
    }

    /// Writes a waiting partial line (ending it with a newline) and retries lines kept by failed writes.
    public func flush() {
        let context = Context(path: path, rotation: rotation)
        let notice = state.withLock { state -> Notice? in
            defer { state.notice = nil }
            guard !state.isClosed else { return nil }
            state.flush(Self.timestamp(clock()), context)
            return state.notice
        }
        if let notice { report(notice) }
    }

    /// Closes the file and opens its path again (making the folder when it is missing): for a log whose file
    /// was removed while open, where writes would otherwise land in a file nobody can read.
    public func reopen() {
        let context = Context(path: path, rotation: rotation)
        state.withLock { state in
            guard !state.isClosed else { return }
            state.unopened = false
            state.flush(Self.timestamp(clock()), context)
            state.closeDescriptor()
            state.openIfNeeded(path: context.path)
        }
    }

    /// Flushes and closes the file; later writes are ignored. Calling it again does nothing.
    public func close() {
        let context = Context(path: path, rotation: rotation)
        state.withLock { state in
            guard !state.isClosed else { return }
            state.unopened = false  // the lines that waited are written before it closes
            state.flush(Self.timestamp(clock()), context)
            state.closeDescriptor()
            state.isClosed = true
        }
    }

    /// How many writes (or reopenings, or rotations) have failed since the file was opened.
    public var writeErrorCount: Int {
        state.withLock { $0.writeErrorCount }
    }

    /// The most recent failure, kept even after writing has resumed.
    public var lastError: DaemonKitError? {
        state.withLock { $0.lastError }
    }

    /// How many lines were dropped because the backlog of unwritten lines was full.
    public var droppedLineCount: Int {
        state.withLock { $0.droppedLineCount }
    }

    /// `2026-11-26T19:28:28.123Z ` for `date`, rounded to the millisecond: a line's prefix.
    static func timestamp(_ date: Date) -> [UInt8] {
        var text = Timestamp.bytes(date)
        text.append(UInt8(ascii: " "))
        return text
    }
}

extension RotatingLogFile {
    /// What the state's operations need to know about the file.
    fileprivate struct Context {
        let path: String
        let rotation: LogRotation
    }

    /// Everything a write changes, guarded by the mutex.
    fileprivate struct State {
        /// The open descriptor; `nil` after a failure, reopened by the next write.
        var descriptor: Int32?
        /// Whether the file waits for ``RotatingLogFile/open()``: lines go to the backlog meanwhile.
        var unopened = false
        /// The size of the file behind `descriptor`.
        var size = 0
        /// The bytes of a line still waiting for its newline.
        var partial: [UInt8] = []
        /// Lines whose writing failed, oldest first; the first may be partly written already.
        var backlog: [[UInt8]] = []
        /// How many bytes of `backlog[0]` are in the file.
        var backlogOffset = 0
        var backlogBytes = 0
        var isClosed = false
        var writeErrorCount = 0
        var droppedLineCount = 0
        var lastError: DaemonKitError?
        /// Whether the last write failed; the next one that works says so.
        var failing = false
        /// The dropped-line count when writing started failing.
        var droppedWhenFailing = 0
        /// What the call that holds the lock reports once it has let go.
        var notice: Notice?

        /// Writes one timestamped line, after any backlog, or adds it to the backlog.
        mutating func emit(_ record: [UInt8], _ context: Context) {
            drainBacklog(context)
            if backlog.isEmpty {
                let written = write(record, from: 0, context)
                if written == record.count { return }
                backlogOffset = written
            } else if backlogBytes + record.count > RotatingLogFile.backlogLimit {
                droppedLineCount += 1
                return
            }
            backlog.append(record)
            backlogBytes += record.count
        }

        mutating func flush(_ stamp: [UInt8], _ context: Context) {
            if !partial.isEmpty {
                let record = stamp + partial + [UInt8(ascii: "\n")]
                partial = []
                emit(record, context)
            } else {
                drainBacklog(context)
            }
        }

        mutating func drainBacklog(_ context: Context) {
            while let first = backlog.first {
                let written = write(first, from: backlogOffset, context)
                if written < first.count {
                    backlogOffset = written
                    return
                }
                backlog.removeFirst()
                backlogBytes -= first.count
                backlogOffset = 0
            }
        }

        /// Writes `record[offset...]`, rotating first when a whole record would overflow the file. Returns how
        /// much of the record is written in the end.
        private mutating func write(_ record: [UInt8], from offset: Int, _ context: Context) -> Int {
            if unopened { return offset }
            openIfNeeded(path: context.path)
            // A record already begun continues in the same file: rotating would cut the line in two.
            if offset == 0, descriptor != nil, size > 0, size + record.count > context.rotation.maxSize {
                rotate(context)
                openIfNeeded(path: context.path)
            }
            guard let fd = descriptor else { return offset }
            let (written, error) = record.withUnsafeBytes {
                FileDescriptorIO.writeFully(fd, UnsafeRawBufferPointer(rebasing: $0[offset...]))
            }
            size += written
            if let error {
                fail("cannot write the log file \(context.path)", error)
                // Reopen on the next write: the path may point somewhere that works by then.
                closeDescriptor()
            } else if failing {
                failing = false
                notice = .resumed(droppedLines: droppedLineCount - droppedWhenFailing)
            }
            return offset + written
        }

        private mutating func rotate(_ context: Context) {
            let path = context.path
            let keep = context.rotation.keep
            if keep <= 0 {
                guard let fd = descriptor else { return }
                if ftruncate(fd, 0) == 0 {
                    size = 0
                } else {
                    fail("cannot truncate the log file \(path)", errno)
                }
                return
            }
            closeDescriptor()
            // The oldest kept file goes; the missing ones of a young log are no failure.
            if unlink("\(path).\(keep)") != 0 && errno != ENOENT {
                fail("cannot remove the old log file \(path).\(keep)", errno)
            }
            for index in stride(from: keep - 1, through: 1, by: -1) {
                if rename("\(path).\(index)", "\(path).\(index + 1)") != 0 && errno != ENOENT {
                    fail("cannot rename the old log file \(path).\(index)", errno)
                }
            }
            if rename(path, "\(path).1") != 0 && errno != ENOENT {
                fail("cannot rotate the log file \(path)", errno)
            }
        }

        mutating func openIfNeeded(path: String) {
            guard descriptor == nil else { return }
            install(Self.openFile(path), path: path)
        }

        /// Opens (creating) the file at `path` for appending, with its size; the folder is made again when missing.
        static func openFile(_ path: String) -> Result<(descriptor: Int32, size: Int), FileDescriptorIO.Failure> {
            let flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC
            var result = FileDescriptorIO.openFile(path, flags: flags, mode: 0o600)
            if case .failure(let failure) = result, failure.errno == ENOENT {
                // Someone removed the folder: make it again rather than stop logging.
                try? FileDescriptorIO.makeParentDirectories(of: path, mode: 0o700)
                result = FileDescriptorIO.openFile(path, flags: flags, mode: 0o600)
            }
            return result.map { fd in
                var info = stat()
                return (fd, fstat(fd, &info) == 0 ? Int(info.st_size) : 0)
            }
        }

        /// Takes the descriptor `opened` (see ``openFile(_:)``), or records why there is none.
        mutating func install(_ opened: Result<(descriptor: Int32, size: Int), FileDescriptorIO.Failure>, path: String)
        {
            switch opened {
            case .success(let (fd, size)):
                self.size = size
                descriptor = fd
            case .failure(let failure):
                fail("cannot open the log file \(path)", failure.errno)
            }
        }

        mutating func closeDescriptor() {
            if let fd = descriptor { FileDescriptorIO.closeFile(fd) }
            descriptor = nil
        }

        private mutating func fail(_ message: String, _ code: Int32) {
            writeErrorCount += 1
            let error = DaemonKitError(
                code: .fileSystem,
                message: "\(message): \(FileDescriptorIO.describe(code))",
                errno: code
            )
            lastError = error
            if !failing {
                failing = true
                droppedWhenFailing = droppedLineCount
                notice = .failing(error.message)
            }
        }
    }
}
