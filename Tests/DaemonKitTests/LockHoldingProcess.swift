import Foundation
import OrchestrateTesting

#if canImport(Glibc)
import Glibc
#endif

/// A python3 child that takes `fcntl.flock(LOCK_EX)` on a file, writes `content` (its PID when `nil`) into it,
/// and then sleeps until killed.
final class LockHoldingProcess {
    let process = Process()

    init(path: String, content: String? = nil) throws {
        let script = """
            import fcntl, os, sys, time
            fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.ftruncate(fd, 0)
            os.write(fd, (sys.argv[2] if len(sys.argv) > 2 else f"{os.getpid()}\\n").encode())
            while True:
                time.sleep(60)
            """
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script, path] + (content.map { [$0] } ?? [])
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }

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
