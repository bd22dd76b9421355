import Testing

@testable import OrchestrateCLI

@Suite("The live status view")
struct LiveStatusTests {
    /// Lines are cut to the window's width by what shows: colour escapes take no room, are kept, and are reset
    /// when the line is cut.
    @Test func linesAreCutToTheWindowByWhatShows() {
        #expect(LiveStatus.truncate("abcdef", to: 4) == "abcd")
        #expect(LiveStatus.truncate("abc", to: 4) == "abc")
        let red = "\u{1B}[31mfailed\u{1B}[0m"
        #expect(LiveStatus.truncate(red, to: 6) == red)
        #expect(LiveStatus.truncate(red, to: 3) == "\u{1B}[31mfai\u{1B}[0m")
        #expect(LiveStatus.rule(" log: web ", width: 20) == "── log: web ────────")
    }
}
