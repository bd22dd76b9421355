import DaemonKit
import Foundation
import OrchestrateTesting
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("PIDLock", .ownThread)
struct PIDLockTests {
    @Test("acquire writes the PID, release frees the lock, and the lock can be taken again")
    func acquireAndRelease() throws {
        try TemporaryDirectory.with { folder in
            let path = folder.url("orchestrate.pid")
            #expect(!PIDLock.isRunning(path: path))
            #expect(PIDLock.holder(path: path) == nil)

            let lock = try PIDLock.acquire(path: path)
            #expect(lock.isHeld)
            #expect(lock.pid == getpid())
            #expect(contents(of: path) == "\(getpid())\n")
            #expect(permissions(of: path) == 0o600)
            #expect(PIDLock.isRunning(path: path))
            #expect(PIDLock.holder(path: path) == getpid())

            lock.release()
            lock.release()
            #expect(!lock.isHeld)
            #expect(!PIDLock.isRunning(path: path))
            #expect(PIDLock.holder(path: path) == nil)
            // The file stays: a stale file is harmless.
            #expect(FileManager.default.fileExists(atPath: path))

            let again = try PIDLock.acquire(path: path)
            #expect(again.isHeld)
        }
    }

    @Test("a second acquire in the same process fails and names this process")
    func secondAcquireInProcess() throws {
        try TemporaryDirectory.with { folder in
            let path = folder.url("orchestrate.pid")
            let lock = try PIDLock.acquire(path: path)
            defer { lock.release() }
            let error = #expect(throws: DaemonKitError.self) { try PIDLock.acquire(path: path) }
            #expect(error?.code == .alreadyRunning)
            #expect(error?.message == "orchestrate is already running for this manifest (pid \(getpid()))")
            // The failed attempt leaves the holder's lock and file alone.
            #expect(lock.isHeld)
            #expect(contents(of: path) == "\(getpid())\n")
        }
    }

    @Test("deinit releases the lock")
    func deinitReleases() throws {
        try TemporaryDirectory.with { folder in
            let path = folder.url("orchestrate.pid")
            do {
                let lock = try PIDLock.acquire(path: path)
                #expect(lock.isHeld)
            }
            #expect(!PIDLock.isRunning(path: path))
        }
    }

    @Test("missing folders are created with mode 0700")
    func createsFolders() throws {
        try TemporaryDirectory.with { folder in
            let path = folder.url("state/nested/orchestrate.pid")
            let lock = try PIDLock.acquire(path: path)
            defer { lock.release() }
            #expect(permissions(of: folder.url("state")) == 0o700)
            #expect(permissions(of: folder.url("state/nested")) == 0o700)
            #expect(permissions(of: path) == 0o600)
        }
    }

    @Test("a stale file is harmless", arguments: ["2147483646\n", "not a pid\u{0}\u{FF}", "", "-5\n"])
    func staleFile(content: String) throws {
        try TemporaryDirectory.with { folder in
            let path = folder.url("orchestrate.pid")
            try content.write(toFile: path, atomically: false, encoding: .utf8)
            #expect(!PIDLock.isRunning(path: path))
            #expect(PIDLock.holder(path: path) == nil)
            let lock = try PIDLock.acquire(path: path)
            defer { lock.release() }
            #expect(contents(of: path) == "\(getpid())\n")
        }
    }

    @Test("a lock held by another process blocks acquire until that process is SIGKILLed")
    func otherProcess() async throws {
        // Async, polling with waitUntil: a blocking wait for the Python child would hold one of the cooperative
        // pool's two threads, which every async test of this process shares.
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        do {
            let path = folder.url("orchestrate.pid")
            let child = try LockHoldingProcess(path: path)
            defer { child.kill() }
            #expect(await waitUntil { PIDLock.holder(path: path) == child.pid })
            #expect(PIDLock.isRunning(path: path))

            let error = #expect(throws: DaemonKitError.self) { try PIDLock.acquire(path: path) }
            #expect(error?.code == .alreadyRunning)
            #expect(error?.message == "orchestrate is already running for this manifest (pid \(child.pid))")

            kill(child.pid, SIGKILL)
            #expect(await waitUntil { !PIDLock.isRunning(path: path) })
            #expect(PIDLock.holder(path: path) == nil)
            let lock = try PIDLock.acquire(path: path)
            defer { lock.release() }
            #expect(PIDLock.holder(path: path) == getpid())
        }
    }

    @Test(
        "a holder whose file names no live PID still blocks acquire; the message then names none",
        arguments: ["garbage", "2147483646\n"]
    )
    func holderNamingNoLivePID(content: String) async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        do {
            let path = folder.url("orchestrate.pid")
            let child = try LockHoldingProcess(path: path, content: content)
            defer { child.kill() }
            #expect(await waitUntil { contents(of: path) == content })
            // A PID that no longer exists may name a holder on its way out: the lock is believed after a second.
            let patience: Duration = content == "garbage" ? .zero : .seconds(1)
            let clock = ContinuousClock()
            let start = clock.now
            #expect(PIDLock.isRunning(path: path))
            #expect(clock.now - start >= patience)
            #expect(PIDLock.holder(path: path) == nil)
            let error = #expect(throws: DaemonKitError.self) { try PIDLock.acquire(path: path) }
            #expect(error?.code == .alreadyRunning)
            #expect(error?.message == "orchestrate is already running for this manifest")
        }
    }

    /// A holder on its way out, as `isRunning` and `acquire` can meet one.
    enum DyingHolder: CaseIterable, Sendable {
        /// Its main thread has exited (a zombie to /proc) while another, holding the lock, lives on a moment: a
        /// supervisor killed by SIGKILL.
        case zombie
        /// Its file names a PID that no longer exists.
        case gone
    }

    @Test(
        "a holder on its way out is waited for until it lets go; then isRunning is false and acquire takes the lock",
        arguments: DyingHolder.allCases,
        [false, true]
    )
    func dyingHolder(_ kind: DyingHolder, acquiring: Bool) async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        do {
            let path = folder.url("orchestrate.pid")
            let gonePID = "2147483646\n"
            let child =
                switch kind {
                case .zombie: try LockHoldingProcess(path: path, holdFor: .milliseconds(500), leaderExits: true)
                case .gone: try LockHoldingProcess(path: path, content: gonePID, holdFor: .milliseconds(500))
                }
            defer { child.kill() }
            // Watched from a thread of its own: the holder lets go after 500 ms (and Foundation then reaps it), a
            // window that a busy cooperative pool, shared with the other tests, can let pass unseen.
            let pid = child.pid
            let seen = try await offPool {
                let deadline = ContinuousClock.now + .seconds(10)
                while ContinuousClock.now < deadline {
                    let dying =
                        switch kind {
                        case .zombie: LockHoldingProcess.state(of: pid) == "Z" && contents(of: path) == "\(pid)\n"
                        case .gone: contents(of: path) == gonePID
                        }
                    if dying { return true }
                    usleep(1_000)
                }
                return false
            }
            #expect(seen)
            if acquiring {
                let lock = try PIDLock.acquire(path: path)
                defer { lock.release() }
                #expect(contents(of: path) == "\(getpid())\n")
            } else {
                #expect(!PIDLock.isRunning(path: path))
            }
        }
    }

    @Test("a child process started while the lock is held does not inherit it")
    func closeOnExec() throws {
        try TemporaryDirectory.with { folder in
            let path = folder.url("orchestrate.pid")
            let lock = try PIDLock.acquire(path: path)
            let child = Process()
            child.executableURL = URL(fileURLWithPath: "/bin/sleep")
            child.arguments = ["60"]
            try child.run()
            defer {
                kill(child.processIdentifier, SIGKILL)
                child.waitUntilExit()
            }
            lock.release()
            #expect(child.isRunning)
            #expect(!PIDLock.isRunning(path: path))
        }
    }

    @Test("concurrent acquires in one process: exactly one wins")
    func concurrentAcquire() throws {
        try TemporaryDirectory.with { folder in
            let path = folder.url("orchestrate.pid")
            let winners = Mutex<[PIDLock]>([])
            let losers = Mutex(0)
            DispatchQueue.concurrentPerform(iterations: 8) { _ in
                do throws(DaemonKitError) {
                    let lock = try PIDLock.acquire(path: path)
                    winners.withLock { $0.append(lock) }
                } catch {
                    if error.code == .alreadyRunning { losers.withLock { $0 += 1 } }
                }
            }
            #expect(winners.withLock { $0.count } == 1)
            #expect(losers.withLock { $0 } == 7)
        }
    }
}
