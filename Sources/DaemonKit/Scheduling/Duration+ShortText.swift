extension Duration {
    /// The duration as a manifest writes it, the largest units first: `1h30m`, `1s500ms`, `0s`.
    public var shortText: String {
        var milliseconds = Int(components.seconds) * 1_000 + Int(components.attoseconds / 1_000_000_000_000_000)
        guard milliseconds > 0 else { return "0s" }
        var text = ""
        for (suffix, size) in [("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)] where milliseconds >= size {
            text += "\(milliseconds / size)\(suffix)"
            milliseconds %= size
        }
        return text
    }
}
