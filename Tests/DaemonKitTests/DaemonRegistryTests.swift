import DaemonKit
import Foundation
import Synchronization
import Testing

@Suite("Daemon registry")
struct DaemonRegistryTests {
    @Test func registerUpdateListRemove() throws {
        let registry = DaemonRegistry()
        registry.register(DaemonRecord(name: "b", kind: "watcher"))
        registry.register(DaemonRecord(name: "a", kind: "periodic"))
        registry.register(DaemonRecord(name: "off", kind: "rpc", enabled: false))
        #expect(registry.list().map(\.name) == ["b", "a", "off"])
        #expect(registry.record("off")?.state == .disabled)
        #expect(registry.record("a")?.state == .stopped)

        let updated = registry.report("a", .runStarted(pid: 42, run: DaemonRecord.Run(startedAt: Date())))
        #expect(updated?.runs == 1)
        #expect(updated?.state == .running)
        #expect(registry.record("a")?.pids == [42])
        #expect(registry.report("missing", .up(.idle)) == nil)
        #expect(registry.health() == ["running": ["a"], "stopped": ["b"], "disabled": ["off"]])

        registry.register(DaemonRecord(name: "b", kind: "periodic"))
        #expect(registry.list().map(\.name) == ["b", "a", "off"])
        #expect(registry.record("b")?.kind == "periodic")
        registry.remove("b")
        #expect(registry.list().map(\.name) == ["a", "off"])
    }

    @Test func subscribersSeeTheCurrentRecordsThenEveryChangeInOrder() async throws {
        let registry = DaemonRegistry()
        registry.register(DaemonRecord(name: "a", kind: "periodic"))
        let stream = registry.subscribe()
        registry.report("a", .up(.running))
        registry.report("a", .up(.running))  // no change: not published
        registry.report("a", .up(.idle))
        registry.remove("a")
        let report = ReloadReport(at: Date(), ok: true, errors: [], plan: ReloadPlan(), trigger: "api")
        registry.publish(.reload(report))
        registry.finishSubscribers()
        var seen: [String] = []
        for await event in stream {
            switch event.kind {
            case .daemon(let record): seen.append("\(record.name):\(record.state)")
            case .removed(let name): seen.append("-\(name)")
            case .reload(let reload): seen.append("reload \(reload.trigger)")
            case .stateChanged(let change): seen.append("\(change.name): \(change.previous ?? "") → \(change.state)")
            default: seen.append(event.name)
            }
        }
        #expect(
            seen == [
                "a:stopped", "a:running", "a: stopped → running", "a:idle", "a: running → idle", "-a", "reload api",
            ]
        )
    }

    @Test func theHistoryKeepsTheLastEventsButRecordsAndNotesAndReplaysThemToASubscription() async throws {
        let registry = DaemonRegistry()
        registry.register(DaemonRecord(name: "a", kind: "periodic"))
        registry.report("a", .note("a note"))
        let limit = DaemonRegistry.historyLimit
        // Each round trip publishes two state changes (and two records, which the history leaves out).
        for _ in 0..<(limit / 2 + 10) {
            registry.report("a", .up(.running))
            registry.report("a", .up(.idle))
        }
        let kept = registry.history()
        #expect(kept.count == limit)
        #expect(kept.allSatisfy { $0.name == "state" })
        #expect(zip(kept, kept.dropFirst()).allSatisfy { $0.id < $1.id })
        #expect(kept.last?.id == registry.history(since: kept.last?.time).last?.id)
        #expect(registry.history(since: Date().addingTimeInterval(60)).isEmpty)

        let cut = Date()
        registry.publish(.supervisor(SupervisorNotice(state: .stopping, pid: 1)))
        #expect(registry.history(since: cut).map(\.name) == ["supervisor"])

        // A subscription without records, replaying from `cut`: the kept event, then the live ones.
        let stream = registry.subscribe(records: false, since: cut)
        registry.report("a", .up(.running))
        registry.finishSubscribers()
        var seen: [String] = []
        for await event in stream { seen.append(event.name) }
        #expect(seen == ["supervisor", "daemon", "state"])
    }

    @Test func reorderFollowsTheGivenNamesAndKeepsTheRestAfter() {
        let registry = DaemonRegistry()
        for name in ["a", "b", "c"] { registry.register(DaemonRecord(name: name, kind: "periodic")) }
        registry.reorder(["c", "x", "a"])
        #expect(registry.list().map(\.name) == ["c", "a", "b"])
    }

    @Test func concurrentUpdatesAreAllCounted() async {
        let registry = DaemonRegistry()
        registry.register(DaemonRecord(name: "a", kind: "periodic"))
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<1_000 {
                        registry.report("a", .runNotStarted(run: .init(startedAt: Date()), error: ""))
                    }
                }
            }
        }
        #expect(registry.record("a")?.runs == 8_000)
    }

    @Test func eventsAreNumberedAndARunReportsItsStartAndEnd() async throws {
        let registry = DaemonRegistry()
        registry.register(DaemonRecord(name: "a", kind: "periodic"))
        let stream = registry.subscribe()
        let start = Date(timeIntervalSince1970: 100)
        registry.report("a", .up(.idle))
        registry.report("a", .runStarted(pid: 7, run: DaemonRecord.Run(startedAt: start, lateMilliseconds: 1.5)))
        let ended = DaemonRecord.Run(startedAt: start, durationMilliseconds: 12, exitCode: 3)
        registry.report("a", .runEnded(pid: 7, run: ended, failure: "run 1 exited with status 3"))
        registry.report("a", .note("a line for the log"))
        registry.finishSubscribers()
        var events: [SupervisorEvent] = []
        for await event in stream { events.append(event) }
        // The snapshot first (id 0), then every event numbered in order; notes are not subscribed to.
        #expect(events.first?.id == 0)
        let ids = events.dropFirst().map(\.id)
        #expect(ids.first == 2)  // the registration was event 1, before the subscription
        #expect(ids == Array(2..<(2 + UInt64(ids.count))))
        let runs = events.compactMap { event -> RunReport? in
            switch event.kind {
            case .runStarted(let run), .runFinished(let run): run
            default: nil
            }
        }
        #expect(runs.map(\.run.durationMilliseconds) == [nil, 12])
        // The end keeps the start's lateness.
        #expect(runs.last?.run.lateMilliseconds == 1.5)
        #expect(registry.record("a")?.failures == 1)
        #expect(registry.record("a")?.state == .idle)
        #expect(!events.contains { $0.name == "note" })
    }

    @Test func aSlowSubscriberLosesTheOldestEventsAndCountsThem() async throws {
        let registry = DaemonRegistry()
        registry.register(DaemonRecord(name: "a", kind: "periodic"))
        let slow = registry.subscribe(bufferLimit: 4)
        for index in 0..<10 { registry.report("a", .health("n", "\(index)")) }
        registry.finishSubscribers()
        var kept: [UInt64] = []
        for await event in slow { kept.append(event.id) }
        // Reporting never waited: the subscriber kept the newest 4 and counts the 7 it lost (the snapshot included).
        #expect(kept.count == 4)
        #expect(kept.last == 11)
        #expect(slow.missed == 7)
    }

    @Test func observersSeeEveryEventInOrderUntilCancelled() {
        let registry = DaemonRegistry()
        let seen = Mutex<[String]>([])
        let observation = registry.observe { event in seen.withLock { $0.append(event.name) } }
        registry.register(DaemonRecord(name: "a", kind: "periodic"))
        registry.report("a", .note("hello"))
        observation.cancel()
        registry.report("a", .note("not seen"))
        #expect(seen.withLock { $0 } == ["daemon", "note"])
    }

    @Test func theStatusJSONContractHasEveryFieldWithSnakeCaseNames() throws {
        var record = DaemonRecord(name: "code-atlas", kind: "watcher")
        record.state = .idle
        record.lastRun = .init(startedAt: Date(timeIntervalSince1970: 0), durationMilliseconds: 84, exitCode: 0)
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: try encoder.encode(record), as: UTF8.self)
        #expect(
            json == """
                {"depends_on":[],"enabled":true,"failures":0,"health":{},"kind":"watcher","last_error":null,\
                "last_run":{"duration_ms":84,"exit_code":0,"started_at":"1970-01-01T00:00:00Z","timed_out":false},\
                "name":"code-atlas","next_run":null,"pids":[],"restarts":0,"runs":0,"state":"idle"}
                """
        )
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        #expect(try decoder.decode(DaemonRecord.self, from: Data(json.utf8)) == record)
    }
}
