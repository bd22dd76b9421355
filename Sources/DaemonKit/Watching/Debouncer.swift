/// Decides when a watcher hands over a batch of changes: a trailing debounce that waits until changes have
/// been quiet for ``Configuration/debounce``, capped by ``Configuration/maxWait`` counted from the first
/// change of the batch, so that a never-ending stream of writes still produces batches.
///
/// A value-type state machine without a clock of its own: every input carries the time it happened, and
/// every output says which batch to emit now (if any) and when to call ``deadlineReached(at:)`` next.
/// Watchers feed it the real clock's time; tests feed it made-up instants.
public struct Debouncer: Sendable {
    /// How long to wait.
    public struct Configuration: Sendable, Hashable {
        /// Quiet time after the last change before a batch is emitted.
        public var debounce: Duration
        /// Longest time from the first change of a batch to its emission, however busy the files are; nil
        /// for no cap. A cap shorter than `debounce` makes it the effective delay.
        public var maxWait: Duration?

        /// Makes a configuration; the default waits 100 ms of quiet, at most 2 s.
        public init(debounce: Duration = .milliseconds(100), maxWait: Duration? = .seconds(2)) {
            self.debounce = debounce
            self.maxWait = maxWait
        }
    }

    /// What its user does after an input.
    public struct Output: Sendable, Hashable {
        /// The batch to hand over now, if one is due.
        public var batch: FileChangeBatch?
        /// When to call ``Debouncer/deadlineReached(at:)``; nil when nothing is pending.
        public var nextDeadline: ContinuousClock.Instant?

        /// Makes an output (the debouncer's own, or an expected one in a test).
        public init(batch: FileChangeBatch?, nextDeadline: ContinuousClock.Instant?) {
            self.batch = batch
            self.nextDeadline = nextDeadline
        }
    }

    /// The configured delays.
    public let configuration: Configuration

    private var pending: Set<String> = []
    private var rescan = false
    private var firstChange: ContinuousClock.Instant?
    private var lastChange: ContinuousClock.Instant?

    /// Makes a debouncer with nothing pending.
    public init(_ configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// When the pending batch is due; nil when nothing is pending.
    public var deadline: ContinuousClock.Instant? {
        guard let firstChange, let lastChange else { return nil }
        let quiet = lastChange + configuration.debounce
        guard let maxWait = configuration.maxWait else { return quiet }
        return min(quiet, firstChange + maxWait)
    }

    /// Whether changes are waiting to be emitted.
    public var hasPending: Bool { firstChange != nil }

    /// Files changed at `now`. An empty `paths` changes nothing.
    public mutating func changed(_ paths: some Sequence<String>, at now: ContinuousClock.Instant) -> Output {
        var added = false
        for path in paths {
            pending.insert(path)
            added = true
        }
        if added { record(now) }
        return deadlineReached(at: now)
    }

    /// Changes were lost at `now` (a queue overflow): the batch will be marked as a rescan.
    public mutating func rescan(at now: ContinuousClock.Instant) -> Output {
        rescan = true
        record(now)
        return deadlineReached(at: now)
    }

    /// The user's timer fired at `now` (or it simply checks): emits the batch when it is due. Early or
    /// spurious calls only repeat the deadline.
    public mutating func deadlineReached(at now: ContinuousClock.Instant) -> Output {
        guard let deadline else { return Output(batch: nil, nextDeadline: nil) }
        guard now >= deadline else { return Output(batch: nil, nextDeadline: deadline) }
        return Output(batch: flush(), nextDeadline: nil)
    }

    /// Takes the pending batch now, due or not (for instance before the watcher fails); nil when empty.
    public mutating func flush() -> FileChangeBatch? {
        guard hasPending else { return nil }
        let batch = FileChangeBatch(paths: pending, rescan: rescan)
        pending = []
        rescan = false
        firstChange = nil
        lastChange = nil
        return batch
    }

    private mutating func record(_ now: ContinuousClock.Instant) {
        if firstChange == nil { firstChange = now }
        // Inputs can arrive with slightly out-of-order times from different sources; never move backwards.
        if let lastChange, lastChange > now { return }
        lastChange = now
    }
}
