import FoundationEssentials
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The process groups a supervisor's commands run in, recorded in a file of the state folder, so that the
/// next supervisor can end what a killed one left behind.
///
/// The parent-death signal ends a command's direct child when the supervisor dies, even by SIGKILL; a
/// grandchild in the same group survives it. Each command leads its own session, so its group and session
/// IDs equal its PID: a recorded group is ended only if its processes still carry that session ID and
/// started no earlier than the recorded leader, so a reused PID of an unrelated process is never signalled.
public final class ProcessGroupLedger: Sendable {
    /// The ledger file.
    public let path: String
    private let state = Mutex(State())

    /// The groups recorded, and the file they are appended to.
    private struct State {
        var groups: [Int32: UInt64] = [:]
        var descriptor: Int32?
        /// Lines in the file; once they outnumber the groups by far, the file is written anew.
        var lines = 0
    }

    /// A ledger kept in `path` (created with its folder on the first write).
    public init(path: String) {
        self.path = path
    }

    deinit {
        state.withLock { state in state.descriptor.map(FileDescriptorIO.closeFile) }
    }

    /// Records the group led by `pid`.
    public func add(_ pid: Int32) {
        let start = Self.startTime(of: pid) ?? 0
        state.withLock { state in
            state.groups[pid] = start
            append("+\(pid) \(start)\n", to: &state)
        }
    }

    /// Forgets the group led by `pid` (its command has ended and its group was killed).
    public func remove(_ pid: Int32) {
        state.withLock { state in
            guard state.groups.removeValue(forKey: pid) != nil else { return }
            append("-\(pid)\n", to: &state)
        }
    }

    /// Writes the file again (with its folder): after someone removed it while the supervisor runs.
    public func rewrite() {
        state.withLock { state in
            state.descriptor.map(FileDescriptorIO.closeFile)
            state.descriptor = nil
            compact(&state)
        }
    }

    /// The groups a ledger's text records: each `+PID START` line adds one, each `-PID` line forgets it (a line
    /// `PID START`, as earlier versions wrote the file, adds one too); other lines are skipped.
    public static func recordedGroups(in text: String) -> [Int32: UInt64] {
        var groups: [Int32: UInt64] = [:]
        for line in text.split(separator: "\n") {
            if line.hasPrefix("-") {
                if let pid = Int32(line.dropFirst()) { groups[pid] = nil }
                continue
            }
            let fields = line.drop { $0 == "+" }.split(separator: " ")
            guard fields.count == 2, let group = Int32(fields[0]), let start = UInt64(fields[1]), group > 1 else {
                continue
            }
            groups[group] = start
        }
        return groups
    }

    /// Kills every live process of the groups a previous supervisor recorded, then clears the ledger;
    /// returns the PIDs signalled.
    @discardableResult
    public func cleanUpPrevious() -> [Int32] {
        defer {
            state.withLock { state in
                state.groups = [:]
                state.descriptor.map(FileDescriptorIO.closeFile)
                state.descriptor = nil
                state.lines = 0
            }
            try? FileManager.default.removeItem(atPath: path)
        }
        guard let text = FileBytes.text(path) else { return [] }
        let recorded = Self.recordedGroups(in: text)
        guard !recorded.isEmpty else { return [] }
        var killed: [Int32] = []
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for pid in entries.compactMap(Int32.init) {
            guard let stat = Self.stat(of: pid), let start = recorded[stat.session], stat.group == stat.session,
                stat.startTime >= start, stat.state != "Z"
            else { continue }
            if kill(pid, SIGKILL) == 0 { killed.append(pid) }
        }
        return killed
    }

    /// Appends `line` to the file, one `write` on a descriptor kept open: a spawn and an exit each cost that much.
    /// (The file used to be written anew, to a temporary file renamed over it, on every change: creating a file
    /// per spawn and per exit was most of the supervisor's system time with a thousand runs a second.) No fsync:
    /// the file only has to outlive the supervisor's process (a SIGKILL), and the page cache does; after a machine
    /// crash there are no processes left to end.
    private func append(_ line: String, to state: inout State) {
        state.lines += 1
        if state.lines > 64 + 4 * state.groups.count {
            compact(&state)
            return
        }
        guard let descriptor = open(&state) else { return }
        var line = line
        _ = line.withUTF8 { FileDescriptorIO.writeFully(descriptor, UnsafeRawBufferPointer($0)) }
    }

    /// Replaces the file with one line per group: a temporary file renamed over it, so that a supervisor killed
    /// midway leaves the old file or the new one, never a truncated one. Rare (once per many changes), so the new
    /// file it makes costs nothing that matters.
    private func compact(_ state: inout State) {
        let text = state.groups.keys.sorted().map { "+\($0) \(state.groups[$0]!)\n" }.joined()
        state.lines = state.groups.count
        let bytes = Array(text.utf8)
        // The folder removed under a running supervisor is made again, as by `open`.
        guard
            FileBytes.replace(path, with: bytes)
                || ((try? FileDescriptorIO.makeParentDirectories(of: path, mode: 0o700)) != nil
                    && FileBytes.replace(path, with: bytes))
        else { return }
        // Appends go to the new file from now on.
        state.descriptor.map(FileDescriptorIO.closeFile)
        state.descriptor = nil
    }

    /// The file's descriptor, opened for appending (with its folder made) when it is not yet.
    private func open(_ state: inout State) -> Int32? {
        if let descriptor = state.descriptor { return descriptor }
        let flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC
        var opened = FileDescriptorIO.openFile(path, flags: flags)
        if case .failure(let failure) = opened, failure.errno == ENOENT {
            try? FileDescriptorIO.makeParentDirectories(of: path, mode: 0o700)
            opened = FileDescriptorIO.openFile(path, flags: flags)
        }
        guard case .success(let descriptor) = opened else { return nil }
        state.descriptor = descriptor
        return descriptor
    }

    private struct ProcessStat {
        var state: Substring
        var group: Int32
        var session: Int32
        var startTime: UInt64
    }

    /// Fields 3 (state), 5 (pgrp), 6 (session) and 22 (start time) of `/proc/PID/stat`.
    private static func stat(of pid: Int32) -> ProcessStat? {
        // Read with plain POSIX calls: this runs at every spawn.
        guard let text = FileBytes.text("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")")
        else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let group = Int32(fields[2]), let session = Int32(fields[3]),
            let start = UInt64(fields[19])
        else { return nil }
        return ProcessStat(state: fields[0], group: group, session: session, startTime: start)
    }

    private static func startTime(of pid: Int32) -> UInt64? { stat(of: pid)?.startTime }
}
