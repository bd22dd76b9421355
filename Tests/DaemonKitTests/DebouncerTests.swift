import DaemonKit
import Testing

@Suite("Debouncer")
struct DebouncerTests {
    let start = ContinuousClock.now

    func at(_ milliseconds: Int) -> ContinuousClock.Instant {
        start + .milliseconds(milliseconds)
    }

    @Test("a change is emitted once it has been quiet for the debounce, not before")
    func trailingDebounce() {
        var debouncer = Debouncer(.init(debounce: .milliseconds(100), maxWait: nil))
        #expect(debouncer.deadline == nil)
        let output = debouncer.changed(["/a"], at: at(0))
        #expect(output.batch == nil)
        #expect(output.nextDeadline == at(100))
        // Early (spurious) wake-ups only repeat the deadline.
        #expect(debouncer.deadlineReached(at: at(99)) == Debouncer.Output(batch: nil, nextDeadline: at(100)))
        let due = debouncer.deadlineReached(at: at(100))
        #expect(due.batch == FileChangeBatch(paths: ["/a"]))
        #expect(due.nextDeadline == nil)
        #expect(!debouncer.hasPending)
        #expect(debouncer.deadlineReached(at: at(500)).batch == nil)
    }

    @Test("a burst is coalesced into one sorted batch without duplicates")
    func burst() {
        var debouncer = Debouncer(.init(debounce: .milliseconds(100), maxWait: .seconds(5)))
        var emitted: [FileChangeBatch] = []
        for (index, path) in ["/c", "/a", "/b", "/a", "/c"].enumerated() {
            if let batch = debouncer.changed([path], at: at(index * 50)).batch { emitted.append(batch) }
        }
        #expect(emitted.isEmpty)
        #expect(debouncer.deadline == at(300))
        #expect(debouncer.deadlineReached(at: at(299)).batch == nil)
        #expect(debouncer.deadlineReached(at: at(300)).batch == FileChangeBatch(paths: ["/a", "/b", "/c"]))
        #expect(FileChangeBatch(paths: ["/c", "/a", "/c"]).paths == ["/a", "/c"])
    }

    @Test("maxWait caps a continuous stream of changes, counted from the batch's first change")
    func maxWait() {
        var debouncer = Debouncer(.init(debounce: .milliseconds(100), maxWait: .milliseconds(300)))
        var emitted: [(Int, FileChangeBatch)] = []
        // A change every 50 ms for a second: the debounce alone would never fire.
        for step in 0...20 {
            let time = step * 50
            if let batch = debouncer.deadlineReached(at: at(time)).batch { emitted.append((time, batch)) }
            if let batch = debouncer.changed(["/f\(step)"], at: at(time)).batch { emitted.append((time, batch)) }
        }
        #expect(emitted.map(\.0) == [300, 600, 900])
        // The timer fires before the change of the same instant is fed, so each batch holds six changes:
        // f0…f5, f6…f11, f12…f17.
        #expect(emitted.map { $0.1.paths.count } == [6, 6, 6])
        #expect(emitted.first?.1.paths.first == "/f0")
        #expect(emitted.last?.1.paths.contains("/f17") == true)
        // The rest of the stream waits for its own cap or quiet time.
        #expect(debouncer.deadline == at(1_000 + 100))
    }

    @Test("without maxWait, a stream of changes is held until it pauses")
    func noCap() {
        var debouncer = Debouncer(.init(debounce: .milliseconds(100), maxWait: nil))
        for step in 0..<100 { #expect(debouncer.changed(["/f"], at: at(step * 50)).batch == nil) }
        #expect(debouncer.deadline == at(99 * 50 + 100))
    }

    @Test("a rescan marks one batch, with the paths seen so far, and only that one")
    func rescan() {
        var debouncer = Debouncer(.init(debounce: .milliseconds(100)))
        _ = debouncer.changed(["/a"], at: at(0))
        _ = debouncer.rescan(at: at(10))
        #expect(debouncer.deadlineReached(at: at(110)).batch == FileChangeBatch(paths: ["/a"], rescan: true))
        _ = debouncer.changed(["/b"], at: at(200))
        #expect(debouncer.deadlineReached(at: at(300)).batch == FileChangeBatch(paths: ["/b"], rescan: false))
        // A rescan alone is a batch too.
        _ = debouncer.rescan(at: at(400))
        #expect(debouncer.deadlineReached(at: at(500)).batch == FileChangeBatch(paths: [], rescan: true))
    }

    @Test("an input past the deadline emits at once; no paths means nothing pending")
    func lateInputs() {
        var debouncer = Debouncer(.init(debounce: .milliseconds(100), maxWait: .milliseconds(200)))
        #expect(debouncer.changed([String](), at: at(0)) == Debouncer.Output(batch: nil, nextDeadline: nil))
        #expect(!debouncer.hasPending)
        _ = debouncer.changed(["/a"], at: at(0))
        // The owner was late: the change at 250 ms joins the overdue batch.
        let output = debouncer.changed(["/b"], at: at(250))
        #expect(output.batch == FileChangeBatch(paths: ["/a", "/b"]))
        #expect(output.nextDeadline == nil)
    }

    @Test("a zero debounce emits every input at once; flush takes what is pending")
    func zeroAndFlush() {
        var debouncer = Debouncer(.init(debounce: .zero, maxWait: nil))
        #expect(debouncer.changed(["/a"], at: at(0)).batch == FileChangeBatch(paths: ["/a"]))
        var slow = Debouncer(.init(debounce: .seconds(10)))
        #expect(slow.flush() == nil)
        _ = slow.changed(["/z", "/y"], at: at(0))
        #expect(slow.flush() == FileChangeBatch(paths: ["/y", "/z"]))
        #expect(slow.deadline == nil)
    }
}
