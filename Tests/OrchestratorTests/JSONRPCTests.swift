import Manifest
import OrchestrateTesting
import Testing

@testable import Orchestrator

@Suite("JSON-RPC 2.0 reading and the call limiter")
struct JSONRPCTests {
    @Test func readsSingleCallsBatchesAndNotifications() {
        let single = JSONRPC.read(Array(#"{"jsonrpc":"2.0","id":"a","method":"m","params":[1]}"#.utf8))
        #expect(single == .single(.call(.init(id: .string("a"), method: "m", params: .array([.int(1)])))))
        let batch = JSONRPC.read(Array(#"[{"jsonrpc":"2.0","method":"n"},{"jsonrpc":"1.0","id":2,"method":"m"}]"#.utf8))
        guard case .batch(let items) = batch else {
            Issue.record("expected a batch, got \(batch)")
            return
        }
        #expect(items.first == .call(.init(id: nil, method: "n", params: nil)))
        guard case .invalid(let id, let failure)? = items.last else {
            Issue.record("expected an invalid request")
            return
        }
        #expect(id == .int(2))
        #expect(failure.code == -32600)
    }

    @Test func refusesWhatTheSpecificationRefuses() {
        guard case .unusable(let parse) = JSONRPC.read(Array("{".utf8)) else {
            Issue.record("a parse error")
            return
        }
        #expect(parse.code == -32700)
        guard case .unusable(let empty) = JSONRPC.read(Array("[]".utf8)) else {
            Issue.record("an empty batch")
            return
        }
        #expect(empty.code == -32600)
        for text in [
            #"{"jsonrpc":"2.0","id":{},"method":"m"}"#, #"{"jsonrpc":"2.0","id":1,"method":5}"#,
            #"{"jsonrpc":"2.0","id":1,"method":"m","params":3}"#, "7",
        ] {
            guard case .single(.invalid(_, let failure)) = JSONRPC.read(Array(text.utf8)) else {
                Issue.record("\(text) should be an invalid request")
                continue
            }
            #expect(failure.code == -32600, "\(text)")
        }
    }

    @Test func writesResultsAndErrors() {
        let ok = JSONRPC.response(id: .int(1), .success(.string("x")))
        #expect(ok.serialized(pretty: false) == #"{"jsonrpc":"2.0","id":1,"result":"x"}"#)
        let failed = JSONRPC.response(id: .null, .failure(.init(.methodNotFound, "Method not found: m")))
        #expect(
            failed.serialized(pretty: false)
                == #"{"jsonrpc":"2.0","id":null,"error":{"code":-32601,"message":"Method not found: m"}}"#
        )
    }

    @Test func theLimiterQueuesInOrderAndRefusesBeyondTheQueue() async {
        let limiter = CallLimiter(slots: 1, queueLimit: 1)
        #expect(await limiter.acquire())
        let waiting = Task { await limiter.acquire() }
        #expect(await waitUntil { limiter.load.waiting == 1 })
        #expect(await limiter.acquire() == false, "the queue is full: busy")
        limiter.release()
        #expect(await waiting.value, "the waiting call gets the slot")
        #expect(limiter.load == (1, 0))
        limiter.release()
        #expect(limiter.load == (0, 0))
    }
}
