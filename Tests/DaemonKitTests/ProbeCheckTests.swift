import DaemonKit
import Foundation
import OrchestrateTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Probes against real sockets on loopback and a real HTTP server (python3's http.server).
@Suite("Probe checks", .serialized)
struct ProbeCheckTests {
    /// A loopback TCP listener on a port the kernel picks; closed when the test ends.
    private final class Listener {
        let descriptor: Int32
        let port: Int

        init() throws {
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            self.descriptor = descriptor
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard bound == 0, listen(descriptor, 8) == 0 else {
                port = 0
                throw POSIXError(.EADDRINUSE)
            }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
            }
            port = Int(UInt16(bigEndian: address.sin_port))
        }

        private var closed = false

        /// Stops listening; the descriptor is closed once only (a second close could close a descriptor that
        /// another test has been given since, with the same number).
        func stop() {
            guard !closed else { return }
            closed = true
            close(descriptor)
        }

        deinit { stop() }
    }

    @Test func aListeningPortPassesAndAClosedOneFailsWithTheReason() async throws {
        let listener = try Listener()
        let open = await ProbeCheck.connection(.tcp(host: "127.0.0.1", port: listener.port)).run(timeout: .seconds(2))
        #expect(open == .passed)
        let port = listener.port
        listener.stop()
        let closed = await ProbeCheck.connection(.tcp(host: "127.0.0.1", port: port)).run(timeout: .seconds(2))
        guard case .failed(let reason) = closed else {
            Issue.record("a closed port passed")
            return
        }
        #expect(reason.contains("Connection refused"), "\(reason)")
    }

    @Test func aURLThatIsNotHTTPFailsClearly() async {
        // (No unknown-host case: resolving one would ask a DNS server, and these tests stay on loopback.)
        let https = await ProbeCheck.http("https://127.0.0.1/").run(timeout: .seconds(1))
        #expect(https == .failed("'https://127.0.0.1/' is not an http:// URL"))
    }

    @Test func aListenerThatNeverAnswersHTTPTimesOut() async throws {
        let listener = try Listener()  // accepts connections (backlog) but never answers
        let clock = ContinuousClock()
        let start = clock.now
        let outcome = await ProbeCheck.http("http://127.0.0.1:\(listener.port)/").run(timeout: .milliseconds(300))
        #expect(outcome != .passed)
        #expect(clock.now - start < .seconds(5), "bounded by its timeout")
    }

    @Test func anHTTPServerPassesOn2xxAndFailsOtherwise() async throws {
        let directory = try TemporaryDirectory(prefix: "probe-http")
        defer { directory.remove() }
        try directory.write("ok.txt", "fine")
        let port = try Listener().port  // a free port, released for the server
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", "-m", "http.server", "--bind", "127.0.0.1", String(port)]
        server.currentDirectoryURL = URL(fileURLWithPath: directory.path)
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        let base = "http://127.0.0.1:\(port)"
        #expect(await waitUntil { await ProbeCheck.http(base + "/ok.txt").run(timeout: .seconds(1)) == .passed })
        let missing = await ProbeCheck.http(base + "/missing").run(timeout: .seconds(2))
        #expect(missing == .failed("\(base)/missing answered 404"))
    }

    @Test func aUnixSocketAndACommandAreChecked() async throws {
        let directory = try TemporaryDirectory(prefix: "probe-unix")
        defer { directory.remove() }
        let missing = await ProbeCheck.connection(.unix(path: directory.url("none.sock"))).run(timeout: .seconds(1))
        #expect(missing != .passed)
        #expect(await ProbeCheck.exec(.argv(["true"])).run(timeout: .seconds(5)) == .passed)
        #expect(
            await ProbeCheck.exec(.shell("exit 3")).run(timeout: .seconds(5))
                == .failed("'exit 3' exited with status 3")
        )
        let slow = await ProbeCheck.exec(.argv(["sleep", "30"])).run(timeout: .milliseconds(200))
        guard case .failed(let reason) = slow else {
            Issue.record("a slow command passed")
            return
        }
        #expect(reason.contains("timed out"))
    }
}
