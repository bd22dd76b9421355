extension StringProtocol {
    /// The text without the spaces, tabs and newlines at either end.
    public func trimmingWhitespace() -> String {
        var text = Substring(self)
        while text.first?.isWhitespace == true { text.removeFirst() }
        while text.last?.isWhitespace == true { text.removeLast() }
        return String(text)
    }
}

extension String {
    /// The string followed by spaces up to `width` characters (a longer one is left as it is), for columns.
    public func padded(to width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
}
