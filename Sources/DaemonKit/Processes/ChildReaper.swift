import CSupport
import FoundationEssentials
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Makes the supervisor a child subreaper and reaps the orphans it adopts, without stealing the exit status of a
/// child that a ``CommandRunner`` run is waiting for.
///
/// With `PR_SET_CHILD_SUBREAPER`, a process whose parent dies (a grandchild left behind by a command that exited,
/// a daemon that double-forked) is re-parented to the supervisor instead of init. Its exit then leaves a zombie
/// that only the supervisor can reap. `waitpid(-1, WNOHANG)` would also reap the children `CommandRunner`
/// spawned, and the run, which reaps its child with `waitpid(pid)` after its pidfd fires, would then fail. So the reaper never waits on "any child": it lists this process's children
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
/// registry and could be reaped from under the code that spawned it; pass a filter to keep the reaper off such children.
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

    /// Starts reaping adopted orphans as they exit, for the rest of this process's life: a SIGCHLD handler wakes a
    /// thread (blocked in `poll`, so it costs nothing while no child exits), which calls
    /// ``reapAdoptedOrphans(where:)`` for children outside this process's session (every command runs in a
    /// session of its own, so its strays do too). Idempotent. Only for a process whose children are all spawned
    /// through `CommandRunner`: the supervisor's, not a test runner's.
    public static func reapOnChildExit(_ onReap: @escaping @Sendable ([Int32]) -> Void = { _ in }) throws {
        try OrphanReaperThread.start(onReap)
    }

    /// Ends the adopted orphans that are still alive: commands' strays that left their process group (by
    /// `setsid`) and so outlived the group kill. Each one, and the group it leads, gets SIGTERM, then SIGKILL
    /// after `grace`; its own children, adopted in turn as it dies, get the same. Children in this process's own
    /// session and those `CommandRunner` is waiting for are left alone. Returns the PIDs ended.
    public static func endAdoptedOrphans(grace: Duration) async -> [Int32] {
        let clock = ContinuousClock()
        var ended: [Int32] = []
        // Each round ends what is adopted now; what those leave behind is adopted as they die and taken next.
        for _ in 0..<8 {
            let strays = adoptedOrphans()
            guard !strays.isEmpty else { break }
            for pid in strays { signalWithGroup(pid, SIGTERM) }
            let end = clock.now.advanced(by: grace)
            var pause = Duration.milliseconds(1)
            while clock.now < end, strays.contains(where: isAlive) {
                reapAdoptedOrphans(where: { strays.contains($0) })
                await uncancellableSleep(for: pause)
                pause = min(pause * 2, .milliseconds(20))
            }
            for pid in strays where isAlive(pid) { signalWithGroup(pid, SIGKILL) }
            let killed = clock.now.advanced(by: .seconds(1))
            while clock.now < killed, strays.contains(where: isAlive) {
                reapAdoptedOrphans(where: { strays.contains($0) })
                await uncancellableSleep(for: .milliseconds(2))
            }
            reapAdoptedOrphans(where: { strays.contains($0) })
            ended += strays
        }
        return ended
    }

    /// Living children outside this process's session that `CommandRunner` did not spawn; zombies are reaped.
    static func adoptedOrphans() -> [Int32] {
        reapAdoptedOrphans(where: outsideOwnSession)
        return ChildRegistry.shared.withSpawnsPaused { owned in
            childProcessIDs().filter { pid in !(owned ?? []).contains(pid) && outsideOwnSession(pid) && isAlive(pid) }
        }
    }

    /// True for a process whose session is not this process's: a command's (each runs in a session of its own)
    /// or one a stray made with `setsid`. False when it cannot be read.
    static func outsideOwnSession(_ pid: Int32) -> Bool {
        guard let fields = statFields(pid), fields.count > 3, let session = Int32(fields[3]) else { return false }
        return session != getsid(0)
    }

    /// True while `pid` exists and is not a zombie.
    static func isAlive(_ pid: Int32) -> Bool {
        guard let fields = statFields(pid), let state = fields.first else { return false }
        return state != "Z" && state != "X"
    }

    /// The fields of `/proc/PID/stat` after the command name: state, ppid, pgrp, session, ...
    private static func statFields(_ pid: Int32) -> [Substring]? {
        let text = readSmallFile("/proc/\(pid)/stat")
        guard let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(after: close)...].split(separator: " ")
    }

    private static func signalWithGroup(_ pid: Int32, _ signal: Int32) {
        if getpgid(pid) == pid { kill(-pid, signal) }
        kill(pid, signal)
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

/// The children that `CommandRunner` spawned and has not reaped yet, and the spawns in flight.
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

    /// Called once the run has reaped `pid`.
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

/// The thread that reaps adopted orphans when SIGCHLD arrives; one per process, started on first use.
private enum OrphanReaperThread {
    private static let started = Mutex<Bool>(false)

    static func start(_ onReap: @escaping @Sendable ([Int32]) -> Void) throws {
        try started.withLock { started in
            guard !started else { return }
            let descriptor = EventDescriptor.make()
            guard descriptor >= 0, csupport_notify_sigchld(descriptor) == 0 else {
                let number = errno
                throw DaemonKitError(
                    code: .processControl,
                    message: "cannot watch for exited children: \(String(cString: strerror(number)))",
                    errno: number
                )
            }
            started = true
            NamedThread.start(named: "orphan-reaper") { loop(descriptor, onReap) }
        }
    }

    /// Waits for SIGCHLD, then reaps. A spawn in flight defers the scan: it is tried again 10 ms later.
    private static func loop(_ descriptor: Int32, _ onReap: @Sendable ([Int32]) -> Void) {
        var retry = false
        while true {
            var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&entry, 1, retry ? 10 : -1)
            if ready < 0 { continue }
            var count: UInt64 = 0
            _ = read(descriptor, &count, MemoryLayout<UInt64>.size)
            let report = ChildReaper.reapAdoptedOrphans(where: ChildReaper.outsideOwnSession)
            retry = report.deferred
            if !report.reaped.isEmpty { onReap(report.reaped) }
        }
    }
}
