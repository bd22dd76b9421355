import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The process groups a supervisor's commands run in, recorded in `STATE_DIR/run/process-groups`, so that the
/// next supervisor can end what a killed one left behind (DESIGN.md §3).
///
/// The parent-death signal ends a command's direct child when the supervisor dies, even by SIGKILL; a
/// grandchild in the same group survives it. Each command leads its own session, so its group and session
/// IDs equal its PID: a recorded group is ended only if its processes still carry that session ID and
/// started no earlier than the recorded leader, so a reused PID of an unrelated process is never signalled.
public final class ProcessGroupLedger: Sendable {
    /// The ledger file.
    public let path: String
    private let groups = Mutex<[Int32: UInt64]>([:])

    /// A ledger kept in `path` (created with its folder on the first write).
    public init(path: String) {
        self.path = path
    }

    /// Records the group led by `pid`.
    public func add(_ pid: Int32) {
        let start = Self.startTime(of: pid) ?? 0
        groups.withLock { groups in
            groups[pid] = start
            write(groups)
        }
    }

    /// Forgets the group led by `pid` (its command has ended and its group was killed).
    public func remove(_ pid: Int32) {
        groups.withLock { groups in
            groups.removeValue(forKey: pid)
            write(groups)
        }
    }

    /// Writes the file again (with its folder): after someone removed it while the supervisor runs.
    public func rewrite() {
        groups.withLock { write($0) }
    }

    /// Kills every live process of the groups a previous supervisor recorded, then clears the ledger;
    /// returns the PIDs signalled.
    @discardableResult
    public func cleanUpPrevious() -> [Int32] {
        defer {
            groups.withLock { $0 = [:] }
            try? FileManager.default.removeItem(atPath: path)
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        var recorded: [Int32: UInt64] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 2, let group = Int32(fields[0]), let start = UInt64(fields[1]), group > 1 else {
                continue
            }
            recorded[group] = start
        }
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

    /// Replaces the file with `snapshot` (a temporary file renamed over it), under the lock so that writes land
    /// in order. No fsync: the file only has to outlive the supervisor's process (a SIGKILL), and the page cache
    /// does; after a machine crash there are no processes left to end. (An fsync per spawn and per exit cost
    /// more than the spawn itself.)
    private func write(_ snapshot: [Int32: UInt64]) {
        let text = snapshot.keys.sorted().map { "\($0) \(snapshot[$0]!)\n" }.joined()
        let temporary = path + ".tmp"
        let flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC
        var opened = FileDescriptorIO.openFile(temporary, flags: flags)
        if case .failure(let failure) = opened, failure.errno == ENOENT {
            // The first write: the folder is made then.
            try? FileDescriptorIO.makeParentDirectories(of: path, mode: 0o700)
            opened = FileDescriptorIO.openFile(temporary, flags: flags)
        }
        guard case .success(let descriptor) = opened else { return }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { FileDescriptorIO.writeFully(descriptor, $0) }
        FileDescriptorIO.closeFile(descriptor)
        if written.errno == nil { rename(temporary, path) }
    }

    private struct ProcessStat {
        var state: Substring
        var group: Int32
        var session: Int32
        var startTime: UInt64
    }

    /// Fields 3 (state), 5 (pgrp), 6 (session) and 22 (start time) of `/proc/PID/stat`.
    private static func stat(of pid: Int32) -> ProcessStat? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let group = Int32(fields[2]), let session = Int32(fields[3]),
            let start = UInt64(fields[19])
        else { return nil }
        return ProcessStat(state: fields[0], group: group, session: session, startTime: start)
    }

    private static func startTime(of pid: Int32) -> UInt64? { stat(of: pid)?.startTime }
}
