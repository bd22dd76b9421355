import DaemonKit
import OrchestrateTesting
import Synchronization
import Testing

@Suite("MemoryRelease")
struct MemoryReleaseTests {
    /// Counts the releases and remembers when the last one ran.
    final class Releases: Sendable {
        private let state = Mutex<(count: Int, last: ContinuousClock.Instant?)>((0, nil))
        var count: Int { state.withLock { $0.count } }
        var last: ContinuousClock.Instant? { state.withLock { $0.last } }
        func record() { state.withLock { $0 = ($0.count + 1, .now) } }
    }

    @Test func aBurstOfCallsReleasesOnceAfterTheLast() async throws {
        let releases = Releases()
        let release = MemoryRelease(delay: .milliseconds(500)) { releases.record() }
        // Back to back, so the timer armed by the first finds the deadline moved by the others and waits again.
        var lastCall = ContinuousClock.now
        for _ in 0..<5 {
            release.settled()
            lastCall = .now
        }
        #expect(await waitUntil { releases.count >= 1 })
        let ran = try #require(releases.last)
        #expect(ran - lastCall >= .milliseconds(500), "not before the delay after the last call")
        // No other timer is pending: nothing more comes.
        try await Task.sleep(for: .milliseconds(700))
        #expect(releases.count == 1)
    }

    @Test func aLaterBurstReleasesAgain() async throws {
        let releases = Releases()
        let release = MemoryRelease(delay: .milliseconds(20)) { releases.record() }
        release.settled()
        #expect(await waitUntil { releases.count == 1 })
        release.settled()
        #expect(await waitUntil { releases.count == 2 })
    }

    @Test func releasingNowDropsTheCodePages() throws {
        let before = try #require(Self.residentFileKiB())
        #expect(MemoryRelease.releaseNow())
        // The test binary's code pages are gone from this process (the few that run again come back).
        let after = try #require(Self.residentFileKiB())
        #expect(after < before, "RssFile \(before) KiB before, \(after) KiB after")
    }

    /// RssFile of /proc/self/status: the pages of files this process maps.
    static func residentFileKiB() -> Int? {
        guard let bytes = FileBytes.read("/proc/self/status") else { return nil }
        let line = String(decoding: bytes, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("RssFile:") }
        return line?.split(separator: " ").dropFirst().first.flatMap { Int($0) }
    }
}
