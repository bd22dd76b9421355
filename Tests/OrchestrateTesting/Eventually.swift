import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Polls `condition` every 2 ms until it holds or `timeout` passes; returns whether it held. For tests that
/// wait on real processes, files and sockets: a deadline, never a fixed sleep that hopes.
public func eventually(timeout: Duration = .seconds(10), _ condition: () -> Bool) -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if condition() { return true }
        usleep(2_000)
    }
    return condition()
}

/// The async form of ``eventually(timeout:_:)``, which sleeps between polls instead of blocking a thread: use it
/// in async tests, where blocking a cooperative thread can starve the code under test.
public func waitUntil(timeout: Duration = .seconds(10), _ condition: () async -> Bool) async -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(2))
    }
    return await condition()
}

/// Runs `body` on a thread of its own and waits for it without blocking the caller's thread: for blocking work
/// (waiting for a child process) in async tests, which share the cooperative pool's few threads.
public func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.start()
    }
}
