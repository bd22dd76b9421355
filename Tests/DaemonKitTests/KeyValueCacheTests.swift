import DaemonKit
import Synchronization
import Testing

@Suite("Key-value cache")
struct KeyValueCacheTests {
    @Test func theLeastRecentlyUsedGoesFirstAndAHitRefreshesRecency() {
        let cache = KeyValueCache(maxEntries: 3, maxBytes: 1_000)
        cache.set("a", value: [1], contentType: nil, ttl: nil)
        cache.set("b", value: [2], contentType: nil, ttl: nil)
        cache.set("c", value: [3], contentType: nil, ttl: nil)
        #expect(cache.get("a")?.value == [1])
        cache.set("d", value: [4], contentType: nil, ttl: nil)
        #expect(cache.get("b") == nil)
        #expect(cache.count == 3)
        #expect(cache.evictions == 1)
        cache.set("e", value: [5], contentType: nil, ttl: nil)
        #expect(cache.get("c") == nil)
        #expect(cache.get("a")?.value == [1])
        #expect(cache.get("d")?.value == [4])
        #expect(cache.get("e")?.value == [5])
        #expect(cache.evictions == 2)
    }

    @Test func theByteLimitEvictsAsManyAsItTakes() {
        let cache = KeyValueCache(maxEntries: 100, maxBytes: 10)
        cache.set("a", value: [UInt8](repeating: 1, count: 4), contentType: nil, ttl: nil)
        cache.set("b", value: [UInt8](repeating: 2, count: 4), contentType: nil, ttl: nil)
        #expect(cache.bytes == 8)
        cache.set("c", value: [UInt8](repeating: 3, count: 4), contentType: nil, ttl: nil)
        #expect(cache.get("a") == nil)
        #expect(cache.bytes == 8)
        #expect(cache.count == 2)
        // Ten bytes at once push out both older values.
        #expect(cache.set("big", value: [UInt8](repeating: 9, count: 10), contentType: nil, ttl: nil))
        #expect(cache.count == 1)
        #expect(cache.bytes == 10)
        #expect(cache.get("big")?.value.count == 10)
        #expect(cache.evictions == 3)
    }

    @Test func aValueLargerThanTheByteLimitIsRefusedAndRemovesTheOlderOne() {
        let cache = KeyValueCache(maxEntries: 10, maxBytes: 8)
        cache.set("keep", value: [1, 2], contentType: nil, ttl: nil)
        cache.set("k", value: [1, 2, 3], contentType: "text/plain", ttl: nil)
        #expect(!cache.set("k", value: [UInt8](repeating: 0, count: 9), contentType: nil, ttl: nil))
        #expect(cache.get("k") == nil)
        #expect(!cache.set("other", value: [UInt8](repeating: 0, count: 9), contentType: nil, ttl: nil))
        #expect(cache.get("other") == nil)
        #expect(cache.get("keep")?.value == [1, 2])
        #expect(cache.count == 1)
        #expect(cache.bytes == 2)
        #expect(cache.evictions == 0)
    }

    @Test func entriesExpireWithTheInjectedClock() {
        let clock = ManualClock()
        let cache = KeyValueCache(maxEntries: 10, maxBytes: 100, now: clock.now)
        cache.set("short", value: [1], contentType: "application/json", ttl: .seconds(10))
        cache.set("forever", value: [2], contentType: nil, ttl: nil)
        let entry = cache.get("short")
        #expect(
            entry
                == KeyValueCache.Entry(value: [1], contentType: "application/json", expires: clock.now() + .seconds(10))
        )
        clock.advance(by: .seconds(9))
        #expect(cache.get("short")?.value == [1])
        clock.advance(by: .seconds(1))
        #expect(cache.get("short") == nil)
        #expect(cache.count == 1)
        #expect(cache.bytes == 1)
        clock.advance(by: .seconds(3_600))
        #expect(cache.get("forever")?.value == [2])
        #expect(cache.evictions == 0)
    }

    @Test func expiredEntriesAreEvictedBeforeLiveOnes() {
        let clock = ManualClock()
        let cache = KeyValueCache(maxEntries: 3, maxBytes: 100, now: clock.now)
        cache.set("old", value: [1], contentType: nil, ttl: nil)
        cache.set("brief", value: [2], contentType: nil, ttl: .seconds(1))
        cache.set("recent", value: [3], contentType: nil, ttl: nil)
        cache.set("later", value: [4], contentType: nil, ttl: .seconds(60))
        // Nothing has expired yet: the least recently used goes.
        #expect(cache.get("old") == nil)
        #expect(cache.evictions == 1)
        cache.set("old", value: [1], contentType: nil, ttl: nil)  // "brief" is the least recently used, not yet expired
        #expect(cache.get("brief") == nil)
        #expect(cache.evictions == 2)
        cache.set("brief2", value: [5], contentType: nil, ttl: .seconds(1))
        #expect(cache.get("recent") == nil)
        #expect(cache.evictions == 3)
        // "later" is the least recently used, but "brief2" has expired: it goes instead and is not an eviction.
        clock.advance(by: .seconds(2))
        cache.set("new", value: [6], contentType: nil, ttl: nil)
        #expect(cache.evictions == 3)
        #expect(cache.count == 3)
        cache.set("newer", value: [7], contentType: nil, ttl: nil)
        #expect(cache.evictions == 4)
        #expect(cache.count == 3)
        #expect(cache.get("later") == nil)
        #expect(cache.get("old")?.value == [1])
        #expect(cache.get("new")?.value == [6])
        #expect(cache.get("newer")?.value == [7])
    }

    @Test func replacingAKeyUpdatesItsBytesAndContentType() {
        let cache = KeyValueCache(maxEntries: 10, maxBytes: 100)
        cache.set("a", value: [1, 2, 3, 4], contentType: "text/plain", ttl: nil)
        cache.set("b", value: [1], contentType: nil, ttl: nil)
        #expect(cache.bytes == 5)
        cache.set("a", value: [1, 2, 3, 4, 5, 6, 7], contentType: "application/json", ttl: nil)
        #expect(cache.count == 2)
        #expect(cache.bytes == 8)
        #expect(cache.get("a") == KeyValueCache.Entry(value: [1, 2, 3, 4, 5, 6, 7], contentType: "application/json"))
        cache.set("a", value: [], contentType: nil, ttl: nil)
        #expect(cache.bytes == 1)
        #expect(cache.get("a")?.value == [])
    }

    @Test func deleteAndClearRemoveEntriesButKeepTheEvictionCount() {
        let cache = KeyValueCache(maxEntries: 2, maxBytes: 100)
        cache.set("a", value: [1, 2], contentType: nil, ttl: nil)
        cache.set("b", value: [3], contentType: nil, ttl: nil)
        cache.set("c", value: [4, 5, 6], contentType: nil, ttl: nil)
        #expect(cache.evictions == 1)
        #expect(cache.delete("b"))
        #expect(!cache.delete("b"))
        #expect(!cache.delete("a"))
        #expect(cache.count == 1)
        #expect(cache.bytes == 3)
        cache.clear()
        #expect(cache.count == 0)
        #expect(cache.bytes == 0)
        #expect(cache.get("c") == nil)
        #expect(cache.evictions == 1)
        // Still works after clearing, slots and all.
        for key in ["x", "y", "z"] { cache.set(key, value: [7], contentType: nil, ttl: nil) }
        #expect(cache.get("x") == nil)
        #expect(cache.get("z")?.value == [7])
        #expect(cache.evictions == 2)
    }

    @Test func manyTasksSettingAndGettingKeepTheCacheConsistent() async {
        let cache = KeyValueCache(maxEntries: 50, maxBytes: 2_000)
        let keys = (0..<200).map { "key-\($0)" }
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    var generator = SplitMix(seed: UInt64(task))
                    for _ in 0..<5_000 {
                        let key = keys[Int(generator.next() % UInt64(keys.count))]
                        switch generator.next() % 10 {
                        case 0: cache.delete(key)
                        case 1...4: _ = cache.get(key)
                        default:
                            let size = Int(generator.next() % 100)
                            let byte = UInt8(truncatingIfNeeded: size)
                            cache.set(key, value: [UInt8](repeating: byte, count: size), contentType: nil, ttl: nil)
                        }
                    }
                }
            }
        }
        #expect(cache.count <= 50)
        #expect(cache.bytes <= 2_000)
        #expect(cache.evictions > 0)
        // What can be read back adds up to the totals, and every value is the one a single write stored.
        let entries = keys.compactMap { cache.get($0) }
        #expect(entries.count == cache.count)
        #expect(entries.reduce(0) { $0 + $1.value.count } == cache.bytes)
        #expect(entries.allSatisfy { entry in entry.value.allSatisfy { Int($0) == entry.value.count } })
    }
}

/// A clock the test moves by hand.
private final class ManualClock: Sendable {
    private let instant = Mutex(ContinuousClock.now)

    @Sendable func now() -> ContinuousClock.Instant { instant.withLock { $0 } }

    func advance(by duration: Duration) { instant.withLock { $0 += duration } }
}

/// A small deterministic generator, so that a failing run can be repeated.
private struct SplitMix {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
