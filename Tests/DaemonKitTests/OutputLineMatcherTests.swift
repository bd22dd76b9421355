import DaemonKit
import Testing

@Suite("log_line readiness: matching output lines")
struct OutputLineMatcherTests {
    /// The first line the matcher reports, if it has reported one.
    private func first(_ matcher: OutputLineMatcher) async -> String? {
        for await line in matcher.matches { return line }
        return nil
    }

    @Test func aLineSplitAcrossChunksIsMatchedWhole() async throws {
        let matcher = try OutputLineMatcher(pattern: #"^listening on port \d+$"#)
        matcher.feed(Array("starting\nlisten".utf8))
        matcher.feed(Array("ing on po".utf8))
        #expect(matcher.matchedLine == nil)
        matcher.feed(Array("rt 8000\r\nlater\n".utf8))
        #expect(matcher.matchedLine == "listening on port 8000")
        #expect(await first(matcher) == "listening on port 8000")
        // Later output is not looked at.
        matcher.feed(Array("listening on port 9000\n".utf8))
        #expect(matcher.matchedLine == "listening on port 8000")
    }

    @Test func aPartialLineCountsWhenTheOutputEnds() async throws {
        let matcher = try OutputLineMatcher(pattern: "ready")
        matcher.feed(Array("not yet\nready".utf8))
        #expect(matcher.matchedLine == nil)
        matcher.finish()
        #expect(await first(matcher) == "ready")
    }

    @Test func outputThatNeverMatchesEndsTheStreamWithNothing() async throws {
        let matcher = try OutputLineMatcher(pattern: "^ready$")
        matcher.feed(Array("already\nready now\n".utf8))
        matcher.finish()
        #expect(await first(matcher) == nil)
        #expect(matcher.matchedLine == nil)
    }

    @Test func aVeryLongLineIsMatchedByItsBeginning() async throws {
        let matcher = try OutputLineMatcher(pattern: "^x+$")
        matcher.feed(
            [UInt8](repeating: UInt8(ascii: "x"), count: OutputLineMatcher.lineLimit + 10) + Array("yz\n".utf8)
        )
        #expect(matcher.matchedLine?.count == OutputLineMatcher.lineLimit)
    }

    @Test func anInvalidPatternIsAnError() {
        #expect(throws: (any Error).self) { try OutputLineMatcher(pattern: "(unclosed") }
    }
}
