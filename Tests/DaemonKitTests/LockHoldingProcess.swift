import Foundation
import OrchestrateTesting

#if canImport(Glibc)
import Glibc
#endif

/// A python3 child that takes `fcntl.flock(LOCK_EX)` on a file, writes `content` (its PID when `nil`) into it,
/// and then holds the lock until killed, or for `holdFor` and then exits.
///
/// With `leaderExits`, the lock is held by a second thread and the main thread exits alone (the `exit` system
/// call, not `exit_group`), as a supervisor's does when it is killed: the process then shows as a zombie while
/// its other thread, and with it the lock, lives on.
final class LockHoldingProcess {
    let process = Process()

    init(path: String, content: String? = nil, holdFor hold: Duration? = nil, leaderExits: Bool = false) throws {
        let script = """
            import ctypes, fcntl, os, platform, sys, threading, time
            path, content, hold, leader_exits = sys.argv[1:5]
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.ftruncate(fd, 0)
            os.write(fd, (content if content != "-" else f"{os.getpid()}\\n").encode())
            def hold_then_exit():
                if hold == "-":
                    while True:
                        time.sleep(60)
                time.sleep(float(hold))
                os._exit(0)
            if leader_exits == "1":
                threading.Thread(target=hold_then_exit).start()
                ctypes.CDLL(None).syscall({"x86_64": 60, "aarch64": 93}[platform.machine()], 0)
            hold_then_exit()
            """
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [
            "-c", script, path, content ?? "-", hold.map { String($0 / .seconds(1)) } ?? "-", leaderExits ? "1" : "0",
        ]
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }

    /// The state letter of `/proc/PID/stat` (`S`, `Z`, …); nil once the process is gone.
    var state: Character? { Self.state(of: pid) }

    /// The state letter of process `pid`; nil once it is gone.
    static func state(of pid: Int32) -> Character? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let parenthesis = text.lastIndex(of: ")")
        else { return nil }
        return text[text.index(after: parenthesis)...].first { $0 != " " }
    }

    /// SIGKILLs the child and reaps it.
    func kill() {
        if process.isRunning { Glibc.kill(pid, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { kill() }
}

/// The file's mode bits.
func permissions(of path: String) -> mode_t {
    var info = stat()
    guard stat(path, &info) == 0 else { return 0 }
    return info.st_mode & 0o7777
}

func contents(of path: String) -> String {
    (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
}
