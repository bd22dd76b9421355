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
    private typealias Listener = LoopbackListener

    @Test func aListeningPortPassesAndAClosedOneFailsWithTheReason() async throws {
        let listener = try Listener()
        let open = await ProbeCheck.connection(.tcp(host: "127.0.0.1", port: listener.port)).run(timeout: .seconds(2))
        #expect(open == .passed)
        listener.stop()
        // A port bound but not listening refuses, and no other test can take it meanwhile (a closed one could be).
        let bound = try LoopbackListener(listening: false)
        defer { bound.stop() }
        let closed = await ProbeCheck.connection(.tcp(host: "127.0.0.1", port: bound.port)).run(timeout: .seconds(2))
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
