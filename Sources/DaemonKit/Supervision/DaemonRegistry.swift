import Synchronization

/// The one source of truth about the daemons a supervisor runs (the plan's DaemonRegistry): `status`,
/// the event stream, metrics and the dashboard all read it, and each daemon's service writes its own record.
///
/// Updates are synchronous and cheap (a mutex, no suspension), so a service can record a state change
/// at the exact point it happens; subscribers receive every change in order through an `AsyncStream`.
public final class DaemonRegistry: Sendable {
    /// A change to the registry, as the event stream reports it.
    public enum Change: Sendable, Hashable {
        /// A daemon was added or its record changed.
        case updated(DaemonRecord)
        /// A daemon was removed.
        case removed(name: String)
        /// Something happened to the supervisor as a whole (a reload): the event's name and its JSON data.
        case event(name: String, json: String)
    }

    private struct Storage {
        var order: [String] = []
        var records: [String: DaemonRecord] = [:]
        var subscribers: [Int: AsyncStream<Change>.Continuation] = [:]
        var nextSubscriber = 0
        var generation: UInt64 = 0
    }

    private let storage = Mutex(Storage())

    /// Makes an empty registry.
    public init() {}

    // Subscribers are told inside the lock: yielding never blocks (the streams buffer), and it keeps every
    // subscriber's view in the order the changes happened even when several tasks update at once.

    /// Adds `record`, or replaces the record of the same name (keeping its position).
    public func register(_ record: DaemonRecord) {
        storage.withLock { storage in
            if storage.records[record.name] == nil { storage.order.append(record.name) }
            storage.records[record.name] = record
            storage.generation += 1
            for subscriber in storage.subscribers.values { subscriber.yield(.updated(record)) }
        }
    }

    /// Removes the daemon named `name`; does nothing if there is none.
    public func remove(_ name: String) {
        storage.withLock { storage in
            guard storage.records.removeValue(forKey: name) != nil else { return }
            storage.generation += 1
            storage.order.removeAll { $0 == name }
            for subscriber in storage.subscribers.values { subscriber.yield(.removed(name: name)) }
        }
    }

    /// Changes the record of `name` in place and returns the new record; nil when there is no such daemon.
    /// Subscribers hear of it only when the record really changed.
    @discardableResult
    public func update(_ name: String, _ change: (inout DaemonRecord) -> Void) -> DaemonRecord? {
        storage.withLock { storage in
            guard var record = storage.records[name] else { return nil }
            let before = record
            change(&record)
            guard record != before else { return record }
            storage.records[name] = record
            storage.generation += 1
            for subscriber in storage.subscribers.values { subscriber.yield(.updated(record)) }
            return record
        }
    }

    /// Puts the records in the order of `names` (the manifest's, after a reload); names without a record are
    /// skipped, and records not named keep their place after the others.
    public func reorder(_ names: [String]) {
        storage.withLock { storage in
            let named = names.filter { storage.records[$0] != nil }
            let known = Set(named)
            storage.order = named + storage.order.filter { !known.contains($0) }
            storage.generation += 1
        }
    }

    /// Tells every subscriber of an event of the supervisor as a whole.
    public func publish(event name: String, json: String) {
        storage.withLock { storage in
            for subscriber in storage.subscribers.values { subscriber.yield(.event(name: name, json: json)) }
        }
    }

    /// A number that changes with every change to the records (their content or their order): what was derived
    /// from ``list()`` at one generation is still right while it stays the same.
    public var generation: UInt64 { storage.withLock { $0.generation } }

    /// Every record with the generation they belong to, read at once.
    public func listWithGeneration() -> (records: [DaemonRecord], generation: UInt64) {
        storage.withLock { storage in (storage.order.compactMap { storage.records[$0] }, storage.generation) }
    }

    /// The record of `name`.
    public func record(_ name: String) -> DaemonRecord? { storage.withLock { $0.records[name] } }

    /// Every record, in the order the daemons were registered (the manifest's order).
    public func list() -> [DaemonRecord] {
        storage.withLock { storage in storage.order.compactMap { storage.records[$0] } }
    }

    /// The names of the daemons in each state, for a health summary.
    public func health() -> [String: [String]] {
        list().reduce(into: [:]) { summary, record in summary[record.state.name, default: []].append(record.name) }
    }

    /// Every change from now on, starting with the current record of each daemon, until the stream's
    /// consumer stops. A consumer that falls `bufferLimit` changes behind loses the oldest ones.
    public func changes(bufferLimit: Int = 1_024) -> AsyncStream<Change> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: Change.self,
            bufferingPolicy: .bufferingNewest(bufferLimit)
        )
        let key = storage.withLock { storage in
            let key = storage.nextSubscriber
            storage.nextSubscriber += 1
            storage.subscribers[key] = continuation
            for name in storage.order { if let record = storage.records[name] { continuation.yield(.updated(record)) } }
            return key
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.storage.withLock { $0.subscribers.removeValue(forKey: key) }
        }
        return stream
    }

    /// Ends every subscriber's stream (at shutdown).
    public func finishSubscribers() {
        let subscribers = storage.withLock { storage in
            defer { storage.subscribers.removeAll() }
            return Array(storage.subscribers.values)
        }
        for subscriber in subscribers { subscriber.finish() }
    }
}
