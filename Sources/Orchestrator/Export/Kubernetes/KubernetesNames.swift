/// Names Kubernetes accepts, made from daemon names it would not: an object's name must be a DNS-1123 label
/// (lowercase letters, digits and `-`, starting and ending with a letter or digit, at most 63 characters; 52 for a
/// CronJob, whose Jobs add a suffix), while a daemon may be called `Issues_Sync.v2`.
public struct KubernetesNames: Sendable {
    /// The longest name of most objects.
    public static let maximumLength = 63
    /// The longest name of a CronJob: its Jobs' names add 11 characters.
    public static let maximumCronJobLength = 52

    /// The names given so far.
    private var used: Set<String> = []

    /// Makes an empty set of names.
    public init() {}

    /// `text` as a DNS-1123 label of at most `maximumLength` characters: lowercased, every run of other characters
    /// than `a-z` and `0-9` made one `-`, no `-` at either end, cut to the length; `x` when nothing is left.
    public static func label(_ text: String, maximumLength: Int = Self.maximumLength) -> String {
        var label = ""
        for character in text.lowercased().unicodeScalars {
            if ("a"..."z").contains(character) || ("0"..."9").contains(character) {
                label.unicodeScalars.append(character)
            } else if !label.isEmpty, label.last != "-" {
                label += "-"
            }
        }
        label = String(label.prefix(maximumLength))
        while label.last == "-" { label.removeLast() }
        return label.isEmpty ? "x" : label
    }

    /// ``label(_:maximumLength:)`` of `text`, made unique among the names this has given: a name already given gets
    /// `-2`, `-3`, … (the label cut shorter to make room).
    public mutating func unique(_ text: String, maximumLength: Int = Self.maximumLength) -> String {
        let base = Self.label(text, maximumLength: maximumLength)
        var name = base
        var number = 1
        while used.contains(name) {
            number += 1
            let suffix = "-\(number)"
            var stem = String(base.prefix(maximumLength - suffix.count))
            while stem.last == "-" { stem.removeLast() }
            name = stem + suffix
        }
        used.insert(name)
        return name
    }
}
