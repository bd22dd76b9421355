import FoundationEssentials
import Synchronization

/// Publish and subscribe of JSON events on named topics, for the `rpc` daemon's event stream (server-sent events).
///
/// Every event gets the next id (1, 2, 3, …) and goes into a replay buffer of the last `replayLimit` events, so a
/// client that lost its connection reconnects with the id of the last event it saw (the `Last-Event-ID` header)
/// and gets what it missed, then the live events, with no gap and no duplicate between them.
///
/// Publishing never waits for subscribers: each subscriber has a buffer of `subscriberBuffer` events, and one
/// that falls that far behind is dropped. Its stream ends after the events already in its buffer, the HTTP layer
/// closes the connection, and the client reconnects with `Last-Event-ID` to pick up from the replay buffer.
public final class EventBus: Sendable {
    /// A published event.
    public struct Event: Sendable, Hashable {
        /// The event's number, from 1 up by one per event published on this bus.
        public var id: UInt64
        /// The topic it was published on (`daemon.web.state`).
        public var topic: String
        /// The event's JSON text, passed through as it was published.
        public var data: String
        /// When it was published.
        public var time: Date

        /// Makes an event.
        public init(id: UInt64, topic: String, data: String, time: Date) {
            self.id = id
            self.topic = topic
            self.data = data
            self.time = time
        }
    }

    private let storage: Mutex<Storage>

    /// The most recent events kept for replay.
    public let replayLimit: Int
    /// How many events a subscriber may fall behind before it is dropped.
    public let subscriberBuffer: Int

    /// Makes a bus that keeps the last `replayLimit` events (0 or more) for replay and drops a subscriber that
    /// falls `subscriberBuffer` events (1 or more) behind.
    public init(replayLimit: Int = 1_000, subscriberBuffer: Int = 1_024) {
        precondition(replayLimit >= 0, "the replay limit cannot be negative")
        precondition(subscriberBuffer > 0, "a subscriber buffers at least one event")
        self.replayLimit = replayLimit
        self.subscriberBuffer = subscriberBuffer
        self.storage = Mutex(Storage(replay: ReplayBuffer(limit: replayLimit)))
    }

    // Subscribers are given events inside the lock, which is what keeps every subscriber's events in publish order
    // and the replay seamless with the live events; yielding to a stream never blocks. Streams are finished outside
    // the lock, because finishing runs the stream's termination handler, which takes the lock.

    /// Publishes `data` (JSON text, not checked) on `topic` to every subscriber whose pattern matches, and returns
    /// the event. Never waits: a subscriber whose buffer is full is dropped instead.
    @discardableResult
    public func publish(topic: String, data: String) -> Event {
        let time = Date()
        let (event, dropped) = storage.withLock { storage in
            let event = Event(id: storage.nextID, topic: topic, data: data, time: time)
            storage.nextID += 1
            storage.replay.append(event)
            var full: [Int] = []
            for (key, subscriber) in storage.subscribers where Self.matches(subscriber.pattern, topic: topic) {
                // Its consumer is gone: dropped here (its stream's termination handler cannot take the lock).
                if subscriber.ended.isSet {
                    full.append(key)
                    continue
                }
                // `.dropped`: its buffer is full; `.terminated`: its consumer is gone.
                if case .enqueued = subscriber.continuation.yield(event) { continue }
                full.append(key)
            }
            let dropped = full.compactMap { storage.subscribers.removeValue(forKey: $0)?.continuation }
            return (event, dropped)
        }
        for continuation in dropped { continuation.finish() }
        return event
    }

    /// The events on topics matching `pattern` (see ``matches(_:topic:)``) until the consumer stops or the
    /// subscriber is dropped.
    ///
    /// With `lastEventID`, the stream starts with the buffered events after that id that match (as many as the
    /// replay buffer still holds), then goes on with the live ones; without it, only live events. The replay does
    /// not count against the subscriber's buffer: it may fall `subscriberBuffer` live events behind on top of it.
    ///
    /// The stream ends when the subscriber falls too far behind (after the events it had buffered, so the last id
    /// it delivers is the one to reconnect with) or at ``finishAll()``. Cancelling the consuming task, or dropping
    /// the stream, unsubscribes.
    public func subscribe(_ pattern: String, after lastEventID: UInt64? = nil) -> AsyncStream<Event> {
        let ended = Ended()
        let (stream, continuation) = storage.withLock { storage in
            var replay: [Event] = []
            if let lastEventID {
                replay = storage.replay.events(after: lastEventID).filter { Self.matches(pattern, topic: $0.topic) }
            }
            let (stream, continuation) = AsyncStream.makeStream(
                of: Event.self,
                bufferingPolicy: .bufferingOldest(replay.count + subscriberBuffer)
            )
            for event in replay { continuation.yield(event) }
            let key = storage.nextSubscriber
            storage.nextSubscriber += 1
            storage.subscribers[key] = Subscriber(pattern: pattern, continuation: continuation, ended: ended)
            return (stream, continuation)
        }
        // The handler may run while the consumer's task is being cancelled, holding that task's lock; taking the
        // bus's lock there would deadlock with a publisher that holds it and resumes the same task. So it only marks
        // the subscriber gone, and the next publish drops it.
        continuation.onTermination = { _ in ended.mark() }
        return stream
    }

    /// The number of subscribers whose streams are open.
    public var subscriberCount: Int {
        storage.withLock { $0.subscribers.values.filter { !$0.ended.isSet }.count }
    }

    /// Ends every subscriber's stream (at server shutdown), after the events already in its buffer. The bus stays
    /// usable: later subscriptions and events work as before.
    public func finishAll() {
        let subscribers = storage.withLock { storage in
            defer { storage.subscribers.removeAll() }
            return Array(storage.subscribers.values)
        }
        for subscriber in subscribers { subscriber.continuation.finish() }
    }

    /// Whether `pattern` selects events on `topic`: `*` selects every topic, `PREFIX.*` every topic that starts
    /// with `PREFIX.` at any depth (`daemon.*` selects `daemon.web` and `daemon.web.state`, not `daemon`), and any
    /// other pattern only the topic of the same name.
    public static func matches(_ pattern: String, topic: String) -> Bool {
        if pattern == "*" { return true }
        if pattern.hasSuffix(".*") {
            let prefix = pattern.utf8.dropLast()  // keeps the dot
            return topic.utf8.count > prefix.count && topic.utf8.starts(with: prefix)
        }
        return pattern == topic
    }

    /// Whether `topic` can be published on: 1 to 200 characters of `A-Z a-z 0-9 . _ : -`, neither starting nor
    /// ending with a dot.
    public static func isValidTopic(_ topic: String) -> Bool {
        let bytes = topic.utf8
        guard (1...200).contains(bytes.count), bytes.first != UInt8(ascii: "."), bytes.last != UInt8(ascii: ".")
        else { return false }
        return bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"):
                return true
            case UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"), UInt8(ascii: "-"):
                return true
            default:
                return false
            }
        }
    }

    /// Whether `pattern` can be subscribed to: `*`, a valid topic, or a valid topic followed by `.*`.
    public static func isValidPattern(_ pattern: String) -> Bool {
        if pattern == "*" { return true }
        if pattern.hasSuffix(".*") { return isValidTopic(String(pattern.dropLast(2))) }
        return isValidTopic(pattern)
    }
}

extension EventBus {
    private struct Subscriber {
        var pattern: String
        var continuation: AsyncStream<Event>.Continuation
        var ended: Ended
    }

    /// Set once a subscriber's stream has ended (its consumer cancelled or gone): shared between the stream's
    /// termination handler and the bus.
    private final class Ended: Sendable {
        private let value = Atomic<Bool>(false)
        func mark() { value.store(true, ordering: .releasing) }
        var isSet: Bool { value.load(ordering: .acquiring) }
    }

    private struct Storage {
        var nextID: UInt64 = 1
        var replay: ReplayBuffer
        var subscribers: [Int: Subscriber] = [:]
        var nextSubscriber = 0
    }

    /// The last `limit` events in a ring. Their ids follow one another, so the events after an id are found without
    /// a search.
    private struct ReplayBuffer {
        let limit: Int
        private var ring: [Event] = []
        /// The position of the oldest event once the ring is full.
        private var start = 0

        init(limit: Int) {
            self.limit = limit
            ring.reserveCapacity(min(limit, 1_024))
        }

        mutating func append(_ event: Event) {
            guard limit > 0 else { return }
            if ring.count < limit {
                ring.append(event)
            } else {
                ring[start] = event
                start = (start + 1) % limit
            }
        }

        /// The buffered events with an id greater than `id`, oldest first.
        func events(after id: UInt64) -> [Event] {
            guard let oldest = ring.isEmpty ? nil : ring[start].id else { return [] }
            let skip = id < oldest ? 0 : Int(clamping: id - oldest + 1)
            guard skip < ring.count else { return [] }
            return (skip..<ring.count).map { ring[(start + $0) % ring.count] }
        }
    }
}
