import FoundationEssentials
import Synchronization

/// The one source of truth about the daemons a supervisor runs, and the one event
/// stream about them: `status`, the control API's events, the `rpc` kind's `daemon.*` topics, the `[orchestrate]`
/// lines of the logs all read it.
///
/// A record changes in one way only: something reports a ``DaemonEvent`` (``report(_:_:)``), the registry applies it
/// (``DaemonRecord/apply(_:)``) and publishes what came of it as ``SupervisorEvent``s. Reporting is synchronous and
/// cheap (a mutex, no suspension), so a service records a change at the exact point it happens.
///
/// Two ways to follow the stream:
/// - **observers** (``observe(_:)``) are called with every event synchronously, by the thread that reported it, once
///   the registry's lock is released (so an observer may report in turn): for quick work such as writing a log line;
/// - **subscriptions** (``subscribe(bufferLimit:notes:records:since:)``) get the events through an `AsyncSequence`
///   with a bounded buffer: a subscriber that falls behind loses the oldest events and counts them, and never holds
///   the publisher back.
///
/// The last ``historyLimit`` events but records and notes are kept (``history(since:)``), so that a client can ask
/// what happened lately without having followed the stream.
public final class DaemonRegistry: Sendable {
    /// Told every event, by the thread that reported it, after the registry's lock is released.
    public typealias Observer = @Sendable (SupervisorEvent) -> Void

    private struct Subscriber {
        var continuation: AsyncStream<SupervisorEvent>.Continuation
        var tracker: Subscription.Tracker
        var notes: Bool
    }

    private struct Storage {
        var order: [String] = []
        var records: [String: DaemonRecord] = [:]
        var subscribers: [Int: Subscriber] = [:]
        var observers: [Int: Observer] = [:]
        var nextKey = 0
        var generation: UInt64 = 0
        var lastEventID: UInt64 = 0
        /// The recent events (``DaemonRegistry/historyLimit`` at most), oldest first from `historyStart`.
        var history: [SupervisorEvent] = []
        var historyStart = 0

        /// The kept events at `since` or later (all without `since`), oldest first.
        func recent(since: Date?) -> [SupervisorEvent] {
            let ordered = history[historyStart...] + history[..<historyStart]
            guard let since else { return Array(ordered) }
            return ordered.filter { $0.time >= since }
        }

        /// The events published under the lock, for the observers once it is released.
        var unobserved: [SupervisorEvent] = []

        /// Publishes `kind` to the subscribers, and keeps it for the observers.
        mutating func publish(_ kind: SupervisorEvent.Kind, at time: Date) {
            lastEventID += 1
            let event = SupervisorEvent(id: lastEventID, time: time, kind: kind)
            if !observers.isEmpty { unobserved.append(event) }
            let isNote = if case .note = kind { true } else { false }
            if event.isHistory {
                if history.count < DaemonRegistry.historyLimit {
                    history.append(event)
                } else {
                    history[historyStart] = event
                    historyStart = (historyStart + 1) % history.count
                }
            }
            var gone: [Int] = []
            for (key, subscriber) in subscribers where subscriber.notes || !isNote {
                if subscriber.tracker.hasEnded {
                    gone.append(key)
                    continue
                }
                switch subscriber.continuation.yield(event) {
                case .dropped: subscriber.tracker.missed.add(1, ordering: .relaxed)
                case .terminated: gone.append(key)
                default: break
                }
            }
            for key in gone { subscribers[key] = nil }
        }
    }

    private let storage = Mutex(Storage())

    /// Makes an empty registry.
    public init() {}

    /// Runs `body` under the lock, then tells the observers of what it published. Subscribers are told inside the
    /// lock (yielding never blocks: the streams buffer), which keeps their view in the order of the events' ids even
    /// when several tasks report at once; observers are called outside it, so that they may report in turn (a log
    /// that cannot be written reports it in the daemon's health).
    private func withStorage<Result>(_ body: (inout Storage) -> Result) -> Result {
        let (result, events, observers) = storage.withLock { storage in
            let result = body(&storage)
            defer { storage.unobserved.removeAll(keepingCapacity: true) }
            return (result, storage.unobserved, storage.unobserved.isEmpty ? [] : Array(storage.observers.values))
        }
        for event in events {
            for observer in observers { observer(event) }
        }
        return result
    }

    /// Adds `record`, or replaces the record of the same name (keeping its position).
    public func register(_ record: DaemonRecord) {
        let now = Date()
        withStorage { storage in
            if storage.records[record.name] == nil { storage.order.append(record.name) }
            storage.records[record.name] = record
            storage.generation += 1
            storage.publish(.daemon(record), at: now)
        }
    }

    /// Removes the daemon named `name`; does nothing if there is none.
    public func remove(_ name: String) {
        let now = Date()
        withStorage { storage in
            guard storage.records.removeValue(forKey: name) != nil else { return }
            storage.generation += 1
            storage.order.removeAll { $0 == name }
            storage.publish(.removed(name: name), at: now)
        }
    }

    /// Applies `event` to the record of `name` and publishes what came of it: the record when it changed, a state
    /// change, a run that started or ended, a note. Returns the record as it is now; nil when there is no such
    /// daemon (nothing is published then).
    @discardableResult
    public func report(_ name: String, _ event: DaemonEvent) -> DaemonRecord? {
        let now = Date()
        return withStorage { storage in
            guard var record = storage.records[name] else { return nil }
            let before = record
            record.apply(event)
            if record != before {
                storage.records[name] = record
                storage.generation += 1
                storage.publish(.daemon(record), at: now)
            }
            if record.state != before.state {
                let change = StateChange(
                    name: name,
                    kind: record.kind,
                    state: record.state.name,
                    previous: before.state.name,
                    lastError: record.lastError
                )
                storage.publish(.stateChanged(change), at: now)
            }
            switch event {
            case .runStarted(let pid, let run):
                storage.publish(.runStarted(RunReport(name: name, run: run, pid: pid ?? 0)), at: now)
            case .lifeStarted(let pid, let run, _):
                storage.publish(.runStarted(RunReport(name: name, run: run, pid: pid, life: true)), at: now)
            case .runEnded(let pid, let run, _):
                let ended = record.lastRun?.startedAt == run.startedAt ? record.lastRun ?? run : run
                storage.publish(.runFinished(RunReport(name: name, run: ended, pid: pid ?? 0)), at: now)
            case .lifeEnded(let run):
                let report = RunReport(name: name, run: run, pid: before.pids.first ?? 0, life: true)
                storage.publish(.runFinished(report), at: now)
            case .runNotStarted(let run, _):
                storage.publish(.runFinished(RunReport(name: name, run: run, pid: 0)), at: now)
            case .note(let text):
                storage.publish(.note(daemon: name, text: text), at: now)
            default:
                break
            }
            return record
        }
    }

    /// Publishes an event about the supervisor as a whole (a reload, the supervisor starting or stopping).
    public func publish(_ kind: SupervisorEvent.Kind) {
        let now = Date()
        withStorage { $0.publish(kind, at: now) }
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

    /// Calls `observer` with every event from now on until the returned observation is cancelled: synchronously, by
    /// the thread that reported the event, after the registry's lock is released (in the order of that thread's
    /// reports). The observer must be quick.
    public func observe(_ observer: @escaping Observer) -> Observation {
        let key = storage.withLock { storage in
            defer { storage.nextKey += 1 }
            storage.observers[storage.nextKey] = observer
            return storage.nextKey
        }
        return Observation { [weak self] in _ = self?.storage.withLock { $0.observers.removeValue(forKey: key) } }
    }

    /// Every event from now on, starting with the current record of each daemon (as `.daemon` events of id 0; not
    /// without `records`), then the kept events published at `since` or later (when given), until the consumer stops
    /// or ``finishSubscribers()``. A consumer that falls `bufferLimit` events behind loses the oldest ones;
    /// ``Subscription/missed`` counts them. Notes (`[orchestrate]` log lines) only with `notes`.
    public func subscribe(
        bufferLimit: Int = 1_024,
        notes: Bool = false,
        records: Bool = true,
        since: Date? = nil
    ) -> Subscription {
        let now = Date()
        let tracker = Subscription.Tracker()
        let (stream, continuation) = storage.withLock { storage in
            let records = records ? storage.order.compactMap { storage.records[$0] } : []
            let replay = since.map { storage.recent(since: $0) } ?? []
            let (stream, continuation) = AsyncStream.makeStream(
                of: SupervisorEvent.self,
                bufferingPolicy: .bufferingNewest(max(1, bufferLimit, records.count + replay.count))
            )
            for record in records { continuation.yield(SupervisorEvent(id: 0, time: now, kind: .daemon(record))) }
            for event in replay { continuation.yield(event) }
            let key = storage.nextKey
            storage.nextKey += 1
            storage.subscribers[key] = Subscriber(continuation: continuation, tracker: tracker, notes: notes)
            return (stream, continuation)
        }
        // The handler may run while the consumer's task is being cancelled, holding that task's lock; taking the
        // registry's lock there would deadlock with a publisher that holds it and resumes the same task. So it only
        // marks the subscription ended, and the next publish drops it.
        continuation.onTermination = { _ in tracker.ended.store(true, ordering: .releasing) }
        return Subscription(stream: stream, tracker: tracker)
    }

    /// How many events the history keeps: about 250 KB when full.
    public static let historyLimit = 1_000

    /// The kept events published at `since` or later (all of them without `since`), oldest first: every kind but
    /// records (``SupervisorEvent/Kind/daemon(_:)``) and notes.
    public func history(since: Date? = nil) -> [SupervisorEvent] {
        storage.withLock { $0.recent(since: since) }
    }

    /// Ends every subscription (at shutdown), after the events already in its buffer.
    public func finishSubscribers() {
        let subscribers = storage.withLock { storage in
            defer { storage.subscribers.removeAll() }
            return Array(storage.subscribers.values)
        }
        for subscriber in subscribers { subscriber.continuation.finish() }
    }

    /// The number of open subscriptions.
    public var subscriberCount: Int { storage.withLock { $0.subscribers.values.filter { !$0.tracker.hasEnded }.count } }
}

extension DaemonRegistry {
    /// A subscription to the event stream: the events, and how many this subscriber lost by falling behind.
    public struct Subscription: AsyncSequence, Sendable {
        public typealias Element = SupervisorEvent

        /// What the registry and the subscription share: the events lost, and whether the consumer has gone.
        final class Tracker: Sendable {
            let missed = Atomic<Int>(0)
            let ended = Atomic<Bool>(false)
            var hasEnded: Bool { ended.load(ordering: .acquiring) }
        }

        private let stream: AsyncStream<SupervisorEvent>
        private let tracker: Tracker

        init(stream: AsyncStream<SupervisorEvent>, tracker: Tracker) {
            self.stream = stream
            self.tracker = tracker
        }

        /// How many events this subscriber lost so far by falling too far behind.
        public var missed: Int { tracker.missed.load(ordering: .relaxed) }

        public func makeAsyncIterator() -> AsyncStream<SupervisorEvent>.Iterator { stream.makeAsyncIterator() }
    }

    /// An observer's registration; ``cancel()`` ends it.
    public struct Observation: Sendable {
        private let end: @Sendable () -> Void

        init(_ end: @escaping @Sendable () -> Void) { self.end = end }

        /// Stops calling the observer.
        public func cancel() { end() }
    }
}

extension DaemonRegistry {
    /// An observer that writes each note (``DaemonEvent/note(_:)``) into its daemon's log, after `prefix`: how the
    /// supervisor's own lines about a daemon reach that daemon's log, in the order they were reported.
    public static func noteWriter(
        prefix: String,
        logs: @escaping @Sendable (_ daemon: String) -> RotatingLogFile?
    ) -> Observer {
        { event in
            guard case .note(let daemon, let text) = event.kind, let log = logs(daemon) else { return }
            log.writeLine(prefix + text)
        }
    }
}
