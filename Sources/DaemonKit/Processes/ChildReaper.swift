import CSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Makes the supervisor a child subreaper and reaps the orphans it adopts, without stealing the exit status of a
/// child that swift-subprocess is waiting for.
///
/// With `PR_SET_CHILD_SUBREAPER`, a process whose parent dies (a grandchild left behind by a command that exited,
/// a daemon that double-forked) is re-parented to the supervisor instead of init. Its exit then leaves a zombie
/// that only the supervisor can reap. `waitpid(-1, WNOHANG)` would also reap the children swift-subprocess
/// spawned, and swift-subprocess, which reaps each child with `waitid(P_PID, pid)` after its pidfd fires, would
/// then fail. So the reaper never waits on "any child": it lists this process's children
/// (`/proc/self/task/*/children`), skips every PID that ``CommandRunner`` spawned and has not finished with,
/// and reaps the others one by one with `waitid(P_PID, pid, WEXITED | WNOHANG)`.
///
/// The one race is a spawn in flight: between the clone and the moment `CommandRunner` learns the new PID,
/// the child is unknown. A lock closes it: `CommandRunner` counts its spawns in flight under the lock, and the
/// reaper does nothing (and says so) while that count is not zero, holding the lock for its whole scan so no
/// spawn can start midway.
///
/// The contract: in a process that calls ``reapAdoptedOrphans(where:)``, every child is spawned through
/// `CommandRunner`. A child spawned another way (`Foundation.Process`, a bare `posix_spawn`) is not in the
/// registry and could be reaped from under its owner; pass a filter to keep the reaper off such children.
public enum ChildReaper {
    /// What a call to ``reapAdoptedOrphans(where:)`` did.
    public struct Report: Sendable, Hashable {
        /// The PIDs reaped, in the order they were found.
        public var reaped: [Int32]
        /// True when a spawn was in flight and nothing was examined: call again later (the next SIGCHLD).
        public var deferred: Bool
    }

    /// Makes this process a child subreaper, so orphaned descendants are re-parented to it rather than to init.
    /// Idempotent; the setting is inherited by nothing (fork clears it).
    public static func becomeSubreaper() throws {
        guard csupport_set_child_subreaper(1) == 0 else {
            let number = errno
            throw DaemonKitError(
                code: .processControl,
                message: "cannot become a child subreaper: \(String(cString: strerror(number)))",
                errno: number
            )
        }
    }

    /// True when this process is a child subreaper.
    public static var isSubreaper: Bool {
        var enabled: Int32 = 0
        return csupport_get_child_subreaper(&enabled) == 0 && enabled != 0
    }

    /// Reaps every exited child of this process that `CommandRunner` is not waiting for and that `filter`
    /// accepts. Cheap enough to call on every SIGCHLD: one small `/proc` read per thread and one `waitid` per
    /// candidate child.
    @discardableResult
    public static func reapAdoptedOrphans(where filter: (Int32) -> Bool = { _ in true }) -> Report {
        ChildRegistry.shared.withSpawnsPaused { owned in
            guard let owned else { return Report(reaped: [], deferred: true) }
            var reaped: [Int32] = []
            for pid in childProcessIDs() where !owned.contains(pid) && filter(pid) {
                if csupport_reap_if_exited(pid) == pid { reaped.append(pid) }
            }
            return Report(reaped: reaped, deferred: false)
        }
    }

    /// This process's children, living and zombie, from `/proc/self/task/TID/children` (every thread's list:
    /// a child belongs to the thread that forked it).
    static func childProcessIDs() -> [Int32] {
        var result: [Int32] = []
        guard let tasks = opendir("/proc/self/task") else { return result }
        defer { closedir(tasks) }
        while let entry = readdir(tasks) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { bytes in
                String(decoding: bytes.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard let first = name.first, first.isNumber else { continue }
            let text = readSmallFile("/proc/self/task/\(name)/children")
            result += text.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Int32($0) }
        }
        return result
    }

    private static func readSmallFile(_ path: String) -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return "" }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                bytes += buffer[0..<count]
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                break
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// The children that `CommandRunner` spawned and swift-subprocess has not reaped yet, and the spawns in flight.
final class ChildRegistry: Sendable {
    static let shared = ChildRegistry()

    private struct State {
        var spawnsInFlight = 0
        var owned: Set<Int32> = []
    }

    private let state = Mutex(State())

    /// Called before a spawn: until ``spawned(_:)``, the reaper keeps off every child.
    func willSpawn() {
        state.withLock { $0.spawnsInFlight += 1 }
    }

    /// Called once the spawn has returned: `pid` is the new child, or nil when the spawn failed.
    func spawned(_ pid: Int32?) {
        state.withLock { state in
            state.spawnsInFlight -= 1
            if let pid { state.owned.insert(pid) }
        }
    }

    /// Called once swift-subprocess has reaped `pid`.
    func reaped(_ pid: Int32) {
        _ = state.withLock { $0.owned.remove(pid) }
    }

    /// Runs `body` with the owned PIDs while no spawn can start, or with nil when one is in flight.
    func withSpawnsPaused<Result>(_ body: (Set<Int32>?) -> Result) -> Result {
        state.withLock { state in
            body(state.spawnsInFlight == 0 ? state.owned : nil)
        }
    }
}
