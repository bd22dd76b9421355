import Manifest
import Testing

@Suite("JSONValue parsing")
struct JSONParsingTests {
    @Test func parsesEveryKindOfValueAndKeepsKeyOrder() throws {
        let value = try JSONValue.parse(
            #" {"b": [1, -2.5, 3e2, true, false, null], "a": {"s": "x\n\u00e9\ud83d\ude00"}} "#
        )
        #expect(
            value
                == .object([
                    ("b", .array([.int(1), .double(-2.5), .double(300), .bool(true), .bool(false), .null])),
                    ("a", .object([("s", .string("x\né😀"))])),
                ])
        )
        #expect(value.serialized(pretty: false) == #"{"b":[1,-2.5,300,true,false,null],"a":{"s":"x\né😀"}}"#)
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\" 1}", "01", "1.", "-", "\"\\x\"", "\"a", "tru", "[1] 2", "\"\u{01}\"", "\"\\ud800\"",
    ])
    func refusesWhatIsNotJSON(_ text: String) {
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(text) }
    }

    @Test func refusesNestingBeyondTheLimit() {
        let deep = String(repeating: "[", count: 300) + String(repeating: "]", count: 300)
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(deep) }
        #expect((try? JSONValue.parse(String(repeating: "[", count: 100) + String(repeating: "]", count: 100))) != nil)
    }
}
