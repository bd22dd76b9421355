import DaemonKit
import OrchestrateTesting
import Synchronization
import Testing

@Suite("Event bus")
struct EventBusTests {
    @Test func patternsMatchExactlyEverythingOrByPrefix() {
        #expect(EventBus.matches("*", topic: "daemon.web.state"))
        #expect(EventBus.matches("*", topic: "x"))
        #expect(EventBus.matches("daemon.web", topic: "daemon.web"))
        #expect(!EventBus.matches("daemon.web", topic: "daemon.webs"))
        #expect(!EventBus.matches("daemon.web", topic: "daemon.web.state"))
        #expect(EventBus.matches("daemon.*", topic: "daemon.web"))
        #expect(EventBus.matches("daemon.*", topic: "daemon.web.state"))
        #expect(!EventBus.matches("daemon.*", topic: "daemon"))
        #expect(!EventBus.matches("daemon.*", topic: "daemons.web"))
        #expect(!EventBus.matches("daemon.*", topic: "supervisor.reload"))
        #expect(!EventBus.matches("daemon.web.*", topic: "daemon.web"))
        #expect(EventBus.matches("daemon.web.*", topic: "daemon.web.state"))
    }

    @Test func topicsAndPatternsAreValidated() {
        for topic in ["a", "daemon.web.state", "job:42", "A-b_c.d:e", String(repeating: "x", count: 200)] {
            #expect(EventBus.isValidTopic(topic), "\(topic)")
            #expect(EventBus.isValidPattern(topic), "\(topic)")
        }
        for topic in ["", ".a", "a.", ".", "a b", "a/b", "a*", "*", "a.*", "é", String(repeating: "x", count: 201)] {
            #expect(!EventBus.isValidTopic(topic), "\(topic)")
        }
        for pattern in ["*", "daemon.*", "a.b.*", "a:b.*"] {
            #expect(EventBus.isValidPattern(pattern), "\(pattern)")
        }
        for pattern in ["", "**", ".*", "*.a", "a*", "a.*.b", "a..*", "a.b*", "daemon.*.*", "a b.*"] {
            #expect(!EventBus.isValidPattern(pattern), "\(pattern)")
        }
    }

    @Test func idsStartAtOneAndTheDataPassesThroughAsItIs() {
        let bus = EventBus()
        let first = bus.publish(topic: "a", data: #"{"n": 1}"#)
        let second = bus.publish(topic: "b", data: "[1,2]")
        #expect(first.id == 1)
        #expect(first.topic == "a")
        #expect(first.data == #"{"n": 1}"#)
        #expect(second.id == 2)
        #expect(second.time >= first.time)
    }

    @Test func aReplayGivesTheNewerMatchingEventsThenTheLiveOnes() async {
        let bus = EventBus()
        for n in 1...6 { bus.publish(topic: n.isMultiple(of: 2) ? "daemon.even" : "odd", data: "\(n)") }
        let replayed = bus.subscribe("daemon.*", after: 2)
        let everything = bus.subscribe("*", after: 0)
        let live = bus.subscribe("*")
        let none = bus.subscribe("*", after: 6)
        bus.publish(topic: "daemon.live", data: "7")
        bus.publish(topic: "other", data: "8")
        bus.finishAll()
        #expect(await collect(replayed).map(\.id) == [4, 6, 7])
        #expect(await collect(everything).map(\.id) == Array(1...8))
        #expect(await collect(live).map(\.id) == [7, 8])
        #expect(await collect(none).map(\.id) == [7, 8])
    }

    @Test func theReplayHoldsOnlyTheLastReplayLimitEvents() async {
        let bus = EventBus(replayLimit: 3)
        for n in 1...10 { bus.publish(topic: "t", data: "\(n)") }
        let fromStart = bus.subscribe("t", after: 0)
        let fromEight = bus.subscribe("t", after: 8)
        let fromLater = bus.subscribe("t", after: 99)
        bus.finishAll()
        #expect(await collect(fromStart).map(\.id) == [8, 9, 10])
        #expect(await collect(fromEight).map(\.id) == [9, 10])
        #expect(await collect(fromLater).isEmpty)

        let noReplay = EventBus(replayLimit: 0)
        noReplay.publish(topic: "t", data: "1")
        let stream = noReplay.subscribe("*", after: 0)
        noReplay.finishAll()
        #expect(await collect(stream).isEmpty)
    }

    @Test func liveEventsArriveInPublishOrderFromManyPublishers() async {
        let bus = EventBus(subscriberBuffer: 10_000)
        let all = bus.subscribe("*")
        let three = bus.subscribe("p.3")
        let consumer = Task { await collect(all) }
        await withTaskGroup(of: Void.self) { group in
            for publisher in 0..<8 {
                group.addTask {
                    for n in 0..<500 { bus.publish(topic: "p.\(publisher)", data: "\(n)") }
                }
            }
        }
        bus.finishAll()
        let events = await consumer.value
        #expect(events.map(\.id) == Array(1...4_000))
        for publisher in 0..<8 {
            let data = events.filter { $0.topic == "p.\(publisher)" }.map(\.data)
            #expect(data == (0..<500).map { "\($0)" })
        }
        #expect(await collect(three).map(\.data) == (0..<500).map { "\($0)" })
    }

    @Test func aSubscriberThatFallsBehindIsDroppedWhileAFastOneGetsEverything() async {
        let bus = EventBus(subscriberBuffer: 16)
        let slow = bus.subscribe("*")
        let fast = bus.subscribe("*")
        let received = Mutex<[UInt64]>([])
        let consumer = Task { for await event in fast { received.withLock { $0.append(event.id) } } }
        for n in 1...50 {
            // Publishing returns at once although "slow" reads nothing: it is never waited for.
            bus.publish(topic: "t", data: "\(n)")
            #expect(bus.subscriberCount == (n <= 16 ? 2 : 1))
            #expect(await waitUntil { received.withLock { $0.count } == n })
        }
        // The dropped stream ends after the events it had buffered: the last is where the client resumes from.
        let slowEvents = await collect(slow)
        #expect(slowEvents.map(\.id) == Array(1...16))
        let resumed = bus.subscribe("*", after: slowEvents.last?.id)
        bus.finishAll()
        #expect(await collect(resumed).map(\.id) == Array(17...50))
        await consumer.value
        #expect(received.withLock { $0 } == Array(1...50))
    }

    @Test func theReplayDoesNotCountAgainstTheSubscribersBuffer() async {
        let bus = EventBus(replayLimit: 100, subscriberBuffer: 4)
        for n in 1...50 { bus.publish(topic: "t", data: "\(n)") }
        let stream = bus.subscribe("*", after: 0)
        for n in 51...54 { bus.publish(topic: "t", data: "\(n)") }
        #expect(bus.subscriberCount == 1)
        bus.publish(topic: "t", data: "55")
        #expect(bus.subscriberCount == 0)
        #expect(await collect(stream).map(\.id) == Array(1...54))
    }

    @Test func aConsumerThatStopsUnsubscribes() async {
        let bus = EventBus()
        let stream = bus.subscribe("*")
        let started = Mutex(false)
        let consumer = Task {
            for await _ in stream { started.withLock { $0 = true } }
        }
        bus.publish(topic: "t", data: "{}")
        #expect(await waitUntil { started.withLock { $0 } })
        #expect(bus.subscriberCount == 1)
        consumer.cancel()
        await consumer.value
        #expect(await waitUntil { bus.subscriberCount == 0 })

        // A stream that is let go of without being read unsubscribes too.
        do {
            let unread = bus.subscribe("t")
            #expect(bus.subscriberCount == 1)
            _ = unread
        }
        #expect(await waitUntil { bus.subscriberCount == 0 })
        bus.publish(topic: "t", data: "{}")
    }

    @Test func finishAllEndsEveryStreamAndTheBusGoesOn() async {
        let bus = EventBus()
        let consumers = (0..<3).map { index in
            let stream = bus.subscribe(index == 0 ? "*" : "t.\(index)")
            return Task { await collect(stream).count }
        }
        #expect(bus.subscriberCount == 3)
        bus.publish(topic: "t.1", data: "1")
        bus.finishAll()
        #expect(bus.subscriberCount == 0)
        var counts: [Int] = []
        for consumer in consumers { counts.append(await consumer.value) }
        #expect(counts == [1, 1, 0])

        let later = bus.subscribe("*", after: 0)
        bus.publish(topic: "t.2", data: "2")
        bus.finishAll()
        #expect(await collect(later).map(\.id) == [1, 2])
    }
}

private func collect(_ stream: AsyncStream<EventBus.Event>) async -> [EventBus.Event] {
    var events: [EventBus.Event] = []
    for await event in stream { events.append(event) }
    return events
}
