import Synchronization

/// A thread-safe least-recently-used cache of raw bytes, each with an optional content type and time to live,
/// bounded both by its number of entries and by the bytes of its values: the store behind the `rpc` daemon's
/// key-value endpoints.
///
/// ``get(_:)``, ``set(_:value:contentType:ttl:)`` and ``delete(_:)`` take constant time: a dictionary from key to
/// slot, and the slots doubly linked in recency order by index. Expired entries are dropped when they are read, and
/// otherwise only when the cache is over a limit: then every expired entry goes before any live one is evicted.
/// That one pass over the entries happens only once the earliest expiry has come, so it costs nothing while
/// nothing has expired.
///
/// The byte limit counts the values only: keys, content types and bookkeeping are not counted, so a cache of many
/// small values uses noticeably more memory than ``bytes`` says; bound those with `maxEntries`.
public final class KeyValueCache: Sendable {
    /// A stored value.
    public struct Entry: Sendable, Hashable {
        /// The value's bytes, as they were stored.
        public var value: [UInt8]
        /// The media type the value was stored with, given back to readers (`application/json`), if any.
        public var contentType: String?
        /// When the entry stops being served; nil when it lives until it is evicted or deleted.
        public var expires: ContinuousClock.Instant?

        /// Makes an entry.
        public init(value: [UInt8], contentType: String? = nil, expires: ContinuousClock.Instant? = nil) {
            self.value = value
            self.contentType = contentType
            self.expires = expires
        }

        func isExpired(at now: ContinuousClock.Instant) -> Bool {
            if let expires { return now >= expires }
            return false
        }
    }

    private let storage: Mutex<Storage>
    private let now: @Sendable () -> ContinuousClock.Instant

    /// The most entries the cache holds at once.
    public let maxEntries: Int
    /// The most bytes of values the cache holds at once (keys not counted); also the largest value it stores.
    public let maxBytes: Int

    /// Makes an empty cache of at most `maxEntries` entries (at least 1) and `maxBytes` bytes of values (at least
    /// 0). `now` tells the time for expiry; tests pass a clock they move themselves.
    public init(
        maxEntries: Int,
        maxBytes: Int,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }
    ) {
        precondition(maxEntries > 0, "a cache holds at least one entry")
        precondition(maxBytes >= 0, "a cache's byte limit cannot be negative")
        self.maxEntries = maxEntries
        self.maxBytes = maxBytes
        self.now = now
        self.storage = Mutex(Storage())
    }

    /// The entry stored under `key`, which becomes the most recently used; nil when there is none or it has
    /// expired (an expired entry is removed).
    public func get(_ key: String) -> Entry? {
        let now = self.now()
        return storage.withLock { storage in
            guard let slot = storage.index[key] else { return nil }
            let entry = storage.slots[slot].entry
            if entry.isExpired(at: now) {
                storage.remove(slot)
                return nil
            }
            storage.moveToFront(slot)
            return entry
        }
    }

    /// Stores `value` under `key` (replacing what was there) as the most recently used entry, expiring after
    /// `ttl` when one is given, then evicts the least recently used entries (expired ones first) until the cache
    /// is within both limits.
    ///
    /// Returns false when `value` is larger than `maxBytes`: nothing is stored, and an older value under `key` is
    /// removed, so that a reader never gets a value older than the last write.
    @discardableResult
    public func set(_ key: String, value: [UInt8], contentType: String?, ttl: Duration?) -> Bool {
        let now = self.now()
        let entry = Entry(value: value, contentType: contentType, expires: ttl.map { now + $0 })
        return storage.withLock { storage in
            if let slot = storage.index[key] { storage.remove(slot) }
            guard value.count <= maxBytes else { return false }
            storage.insert(key, entry)
            storage.shrink(maxEntries: maxEntries, maxBytes: maxBytes, now: now)
            return true
        }
    }

    /// Removes the entry under `key`; returns whether there was one (an expired one counts).
    @discardableResult
    public func delete(_ key: String) -> Bool {
        storage.withLock { storage in
            guard let slot = storage.index[key] else { return false }
            storage.remove(slot)
            return true
        }
    }

    /// Removes every entry. ``evictions`` keeps counting from where it was: it is a metric.
    public func clear() {
        storage.withLock { storage in
            let evictions = storage.evictions
            storage = Storage()
            storage.evictions = evictions
        }
    }

    /// The number of entries held, expired ones not yet removed included.
    public var count: Int { storage.withLock { $0.index.count } }

    /// The sum of the sizes of the values held (keys and content types are not counted).
    public var bytes: Int { storage.withLock { $0.bytes } }

    /// How many live entries were evicted to keep the cache within its limits since it was made: a sign that
    /// the limits are too small when it grows fast. Expired entries that were dropped are not counted.
    public var evictions: Int { storage.withLock { $0.evictions } }
}

extension KeyValueCache {
    /// One entry and its neighbours in recency order.
    private struct Slot {
        var key: String
        var entry: Entry
        /// The next more recently used slot, or `Storage.none`.
        var newer: Int
        /// The next less recently used slot, or `Storage.none`.
        var older: Int
    }

    /// The entries in an array of slots linked by index from the most recently used (`newest`) to the least
    /// (`oldest`); removed slots are reused before the array grows.
    private struct Storage {
        static let none = -1

        var slots: [Slot] = []
        var free: [Int] = []
        var index: [String: Int] = [:]
        var newest = Storage.none
        var oldest = Storage.none
        var bytes = 0
        var evictions = 0
        /// No entry expires before this; nil when none expires. Removing an entry does not move it later, so it
        /// may be too early, which costs one pass over the entries that finds nothing and sets it right.
        var earliestExpiry: ContinuousClock.Instant?

        mutating func insert(_ key: String, _ entry: Entry) {
            let slot = Slot(key: key, entry: entry, newer: Storage.none, older: newest)
            let position: Int
            if let reused = free.popLast() {
                slots[reused] = slot
                position = reused
            } else {
                slots.append(slot)
                position = slots.count - 1
            }
            if newest != Storage.none { slots[newest].newer = position }
            newest = position
            if oldest == Storage.none { oldest = position }
            index[key] = position
            bytes += entry.value.count
            if let expires = entry.expires, earliestExpiry.map({ expires < $0 }) ?? true { earliestExpiry = expires }
        }

        mutating func remove(_ position: Int) {
            unlink(position)
            let slot = slots[position]
            index[slot.key] = nil
            bytes -= slot.entry.value.count
            // Let go of the value's memory now rather than when the slot is reused.
            slots[position] = Slot(key: "", entry: Entry(value: []), newer: Storage.none, older: Storage.none)
            free.append(position)
        }

        mutating func moveToFront(_ position: Int) {
            guard position != newest else { return }
            unlink(position)
            slots[position].older = newest
            slots[position].newer = Storage.none
            if newest != Storage.none { slots[newest].newer = position }
            newest = position
            if oldest == Storage.none { oldest = position }
        }

        /// Drops expired entries, if any is due, then the least recently used ones, until within both limits.
        mutating func shrink(maxEntries: Int, maxBytes: Int, now: ContinuousClock.Instant) {
            guard index.count > maxEntries || bytes > maxBytes else { return }
            if let earliestExpiry, now >= earliestExpiry { removeExpired(now: now) }
            while index.count > maxEntries || bytes > maxBytes, oldest != Storage.none {
                remove(oldest)
                evictions += 1
            }
        }

        private mutating func removeExpired(now: ContinuousClock.Instant) {
            var earliest: ContinuousClock.Instant?
            var position = oldest
            while position != Storage.none {
                let next = slots[position].newer
                if let expires = slots[position].entry.expires {
                    if now >= expires {
                        remove(position)
                    } else if earliest.map({ expires < $0 }) ?? true {
                        earliest = expires
                    }
                }
                position = next
            }
            earliestExpiry = earliest
        }

        private mutating func unlink(_ position: Int) {
            let newer = slots[position].newer
            let older = slots[position].older
            if newer != Storage.none { slots[newer].older = older } else { newest = older }
            if older != Storage.none { slots[older].newer = newer } else { oldest = newer }
        }
    }
}
