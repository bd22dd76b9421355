import DaemonKit
import Testing

@Suite("CancellableSleep")
struct CancellableSleepTests {
    @Test func sleepsUntilTheDeadlineAndNotBefore() async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(50)
        try await CancellableSleep.until(deadline)
        #expect(clock.now >= deadline)
    }

    @Test func cancellationEndsItAtOnceWithCancellationError() async throws {
        let clock = ContinuousClock()
        let task = Task { try await CancellableSleep.for(.seconds(3_600)) }
        try await Task.sleep(for: .milliseconds(20))  // let the sleep start
        let start = clock.now
        task.cancel()
        let result = await task.result
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(clock.now - start < .seconds(5), "ended by the cancellation, not by the hour")
    }

    @Test func aTaskCancelledBeforeItSleepsDoesNotSleep() async throws {
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await CancellableSleep.for(.seconds(3_600))
        }
        await #expect(throws: CancellationError.self) { try await task.value }
    }
}
