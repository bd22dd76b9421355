import Synchronization

/// Watches a command's output for a line that matches a regular expression: the `log_line` readiness probe.
///
/// Output arrives in chunks that end wherever a read ended, so the matcher keeps the partial line until its
/// newline (at most ``lineLimit`` bytes of it: a longer line is matched by its first ``lineLimit`` bytes). Once a
/// line has matched, later output is ignored: the check costs nothing after readiness.
public final class OutputLineMatcher: Sendable {
    /// The longest line matched whole.
    public static let lineLimit = 64 * 1_024

    private struct State {
        var regex: Regex<AnyRegexOutput>
        var partial: [UInt8] = []
        /// Set once a line matched, then the continuation is finished.
        var matched: String?

        /// Matches the partial line; records and returns it when it matches.
        mutating func check() -> String? {
            var text = String(decoding: partial, as: UTF8.self)
            if text.hasSuffix("\r") { text.removeLast() }
            guard (try? regex.firstMatch(in: text)) != nil else { return nil }
            matched = text
            return text
        }
    }

    private let state: Mutex<State>
    private let continuation: AsyncStream<String>.Continuation
    /// Yields the first matching line (without its newline), then ends.
    public let matches: AsyncStream<String>
    /// The regular expression, as written.
    public let pattern: String

    /// Makes a matcher for `pattern`; throws when it is not a valid regular expression.
    public init(pattern: String) throws {
        self.pattern = pattern
        state = Mutex(State(regex: try Regex(pattern)))
        (matches, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// The line that matched, if one has.
    public var matchedLine: String? { state.withLock { $0.matched } }

    /// Takes the next chunk of output.
    public func feed(_ bytes: some Collection<UInt8>) {
        let line = state.withLock { state -> String? in
            guard state.matched == nil else { return nil }
            for byte in bytes {
                if byte == UInt8(ascii: "\n") {
                    if let line = state.check() { return line }
                    state.partial.removeAll(keepingCapacity: true)
                } else if state.partial.count < Self.lineLimit {
                    state.partial.append(byte)
                }
            }
            return nil
        }
        guard let line else { return }
        continuation.yield(line)
        continuation.finish()
    }

    /// Checks the partial line as a whole line (the output ended without a final newline).
    public func finish() {
        let line = state.withLock { state -> String? in
            guard state.matched == nil, !state.partial.isEmpty else { return nil }
            return state.check()
        }
        if let line { continuation.yield(line) }
        continuation.finish()
    }
}
