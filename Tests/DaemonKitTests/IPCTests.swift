import DaemonKit
import Foundation
import Hummingbird
import Logging
import OrchestrateTesting
import Synchronization
import Testing

@Suite("IPC over a Unix socket")
struct IPCTests {
    private func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/v1/status") { _, _ in "{\"ok\":true}" }
        router.post("/v1/echo") { request, context in
            let body = try await request.body.collect(upTo: 1 << 20)
            return String(buffer: body)
        }
        router.get("/v1/events") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/event-stream"],
                body: .init { writer in
                    for index in 1...3 {
                        try await writer.write(ByteBuffer(string: "data: event \(index)\n\n"))
                    }
                    try await writer.finish(nil)
                }
            )
        }
        return router
    }

    /// Runs an IPC server on a fresh socket while `body` runs, then stops it.
    private func withServer(_ body: @Sendable (String) async throws -> Void) async throws {
        let directory = try TemporaryDirectory(prefix: "ipc")
        defer { directory.remove() }
        let socket = directory.url("orchestrate.sock")
        let (ready, readyContinuation) = AsyncStream.makeStream(of: Void.self)
        let server = IPCServer(
            router: router(),
            socketPath: socket,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        ) {
            readyContinuation.yield()
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            var iterator = ready.makeAsyncIterator()
            _ = await iterator.next()
            try await body(socket)
            group.cancelAll()
            try? await group.waitForAll()
        }
        #expect(!FileManager.default.fileExists(atPath: socket), "the socket file is removed when the server stops")
    }

    /// Runs blocking client calls on a Dispatch thread: blocking the few cooperative threads would starve
    /// the server's request tasks, which run in this same process.
    @Test func requestsAndResponses() async throws {
        try await withServer { socket in
            try await offPool { try Self.exchange(socket) }
        }
    }

    private static func exchange(_ socket: String) throws {
        do {
            var info = stat()
            #expect(lstat(socket, &info) == 0)
            #expect(info.st_mode & 0o777 == 0o600)
            let client = IPCClient(socketPath: socket)
            let status = try client.send("GET", "/v1/status")
            #expect(status.status == 200)
            #expect(status.text == "{\"ok\":true}")
            let echo = try client.send("POST", "/v1/echo", body: Array("hello".utf8))
            #expect(echo.text == "hello")
            let missing = try client.send("GET", "/v2/nothing")
            #expect(missing.status == 404)
        }
    }

    @Test func streamsServerSentEventsLineByLine() async throws {
        try await withServer { socket in
            try await offPool { try Self.streamTwice(socket) }
        }
    }

    private static func streamTwice(_ socket: String) throws {
        do {
            var lines: [String] = []
            let response = try IPCClient(socketPath: socket).stream("/v1/events") { line in
                lines.append(line)
                return true
            }
            #expect(response.status == 200)
            #expect(lines.filter { !$0.isEmpty } == ["data: event 1", "data: event 2", "data: event 3"])
            var first: [String] = []
            try IPCClient(socketPath: socket).stream("/v1/events") { line in
                first.append(line)
                return false
            }
            #expect(first == ["data: event 1"])
        }
    }

    @Test func manyClientsAtOnce() async throws {
        try await withServer { socket in
            // The client blocks its thread (as the CLI may), so the clients run on Dispatch's threads: blocking
            // the few cooperative threads would starve the server's own request tasks in this process.
            let statuses = await withCheckedContinuation { continuation in
                DispatchQueue.global().async {
                    let results = Mutex([Int]())
                    DispatchQueue.concurrentPerform(iterations: 50) { _ in
                        let status = (try? IPCClient(socketPath: socket).send("GET", "/v1/status").status) ?? -1
                        results.withLock { $0.append(status) }
                    }
                    continuation.resume(returning: results.withLock { $0 })
                }
            }
            #expect(statuses.count == 50)
            #expect(statuses.allSatisfy { $0 == 200 })
        }
    }

    @Test func nothingListeningIsNotRunning() throws {
        let directory = try TemporaryDirectory(prefix: "ipc")
        defer { directory.remove() }
        #expect {
            try IPCClient(socketPath: directory.url("none.sock")).send("GET", "/v1/status")
        } throws: { error in
            (error as? DaemonKitError)?.code == .notRunning
        }
        // A stale socket file with no server behind it is "not running" too.
        let stale = directory.url("stale.sock")
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in stale.utf8.enumerated() { raw[index] = byte }
        }
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        close(descriptor)
        #expect {
            try IPCClient(socketPath: stale).send("GET", "/v1/status")
        } throws: { error in
            (error as? DaemonKitError)?.code == .notRunning
        }
    }
}
