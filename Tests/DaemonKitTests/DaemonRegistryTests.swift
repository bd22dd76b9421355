import DaemonKit
import Foundation
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

        let updated = registry.update("a") {
            $0.state = .running
            $0.runs += 1
            $0.pids = [42]
        }
        #expect(updated?.runs == 1)
        #expect(registry.record("a")?.pids == [42])
        #expect(registry.update("missing") { $0.runs = 9 } == nil)
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
        let stream = registry.changes()
        registry.update("a") { $0.state = .running }
        registry.update("a") { $0.state = .running }  // no change: not published
        registry.update("a") { $0.state = .idle }
        registry.remove("a")
        registry.publish(event: "reload", json: "{}")
        registry.finishSubscribers()
        var seen: [String] = []
        for await change in stream {
            switch change {
            case .updated(let record): seen.append("\(record.name):\(record.state)")
            case .removed(let name): seen.append("-\(name)")
            case .event(let name, let json): seen.append("\(name) \(json)")
            }
        }
        #expect(seen == ["a:stopped", "a:running", "a:idle", "-a", "reload {}"])
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
                group.addTask { for _ in 0..<1_000 { registry.update("a") { $0.runs += 1 } } }
            }
        }
        #expect(registry.record("a")?.runs == 8_000)
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
                {"enabled":true,"failures":0,"health":{},"kind":"watcher","last_error":null,\
                "last_run":{"duration_ms":84,"exit_code":0,"started_at":"1970-01-01T00:00:00Z","timed_out":false},\
                "name":"code-atlas","next_run":null,"pids":[],"restarts":0,"runs":0,"state":"idle"}
                """
        )
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        #expect(try decoder.decode(DaemonRecord.self, from: Data(json.utf8)) == record)
    }
}
