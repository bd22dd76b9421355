/// Block-style YAML for a JSON value, quoting every string YAML could read as something else.
///
/// `config` and the manual write lists of objects and multi-line strings as JSON would (they have almost none);
/// the ``Style/document`` style writes them as other tools' YAML files do (`- name: x`, `|` blocks), for the
/// Kubernetes objects `export kubernetes` writes, whose pods are lists of objects and whose ConfigMap holds a file.
struct YAMLWriter {
    /// How lists of objects and multi-line strings are written.
    enum Style {
        /// `config`'s style: an object in a list starts on the line after its `-`, strings on one line.
        case config
        /// An object in a list starts on its `-` line, and a multi-line string is a literal `|` block.
        case document
    }

    let origins: [String: String]
    var style: Style = .config

    func write(_ value: JSONValue, path: [String], indent: String, to out: inout String) {
        guard case .object(let pairs) = value else { return }
        for (key, child) in pairs {
            writeEntry(prefix: indent + Self.scalar(key) + ":", child, path: path + [key], indent: indent, to: &out)
        }
    }

    private func writeEntry(prefix: String, _ value: JSONValue, path: [String], indent: String, to out: inout String) {
        let comment = origins[path.joined(separator: ".")].map { "  # from \($0)" } ?? ""
        switch value {
        case .object(let pairs) where !pairs.isEmpty:
            out += prefix + comment + "\n"
            write(value, path: path, indent: indent + "  ", to: &out)
        case .array(let items) where !items.isEmpty && items.allSatisfy({ !$0.isCollection }):
            out +=
                prefix + " [" + items.map { Self.inline($0, flow: true) }.joined(separator: ", ") + "]" + comment + "\n"
        case .array(let items) where !items.isEmpty:
            out += prefix + comment + "\n"
            for (index, item) in items.enumerated() {
                if style == .document, case .object(let pairs) = item, !pairs.isEmpty {
                    // The object's keys one level under the dash, the first of them on the dash's line.
                    var object = ""
                    write(item, path: path + ["\(index)"], indent: indent + "    ", to: &object)
                    out += indent + "  - " + object.dropFirst(indent.count + 4)
                } else {
                    writeEntry(prefix: indent + "  -", item, path: path + ["\(index)"], indent: indent + "  ", to: &out)
                }
            }
        case .string(let text) where style == .document && Self.fitsLiteralBlock(text):
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            out += prefix + (text.hasSuffix("\n") ? " |" : " |-") + comment + "\n"
            for line in text.hasSuffix("\n") ? lines.dropLast() : lines[...] {
                out += line.isEmpty ? "\n" : indent + "  " + line + "\n"
            }
        default:
            out += prefix + " " + Self.inline(value) + comment + "\n"
        }
    }

    /// Whether `text` reads back the same from a literal block without an indentation or chomping indicator: more
    /// than one line, at most one final line break, no control characters but line breaks and tabs, and a first line
    /// that does not start with a space.
    private static func fitsLiteralBlock(_ text: String) -> Bool {
        guard text.dropLast().contains("\n"), !text.hasSuffix("\n\n"), text.first != " ", text.first != "\n" else {
            return false
        }
        return !text.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\n" && $0 != "\t") || $0.value == 0x7F }
    }

    private static func inline(_ value: JSONValue, flow: Bool = false) -> String {
        switch value {
        case .null: "null"
        case .bool(let flag): flag ? "true" : "false"
        case .int(let number): String(number)
        case .double(let number): String(number)
        case .string(let text): scalar(text, flow: flow)
        case .array: "[]"
        case .object: "{}"
        }
    }

    /// The string plain when YAML would read it back as the same string, else double-quoted.
    static func scalar(_ text: String, flow: Bool = false) -> String {
        let needsQuotes =
            text.isEmpty || CoreSchema.type(ofPlain: text) != .string
            || ["yes", "no", "on", "off", "y", "n"].contains(text.lowercased())
            || text.first.map { "-?:,[]{}#&*!|>'\"%@` ".contains($0) } == true
            || text.last == " " || text.last == ":" || text.contains(": ") || text.contains(" #")
            || text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
            || (flow && text.contains { ",[]{}".contains($0) })
        return needsQuotes ? JSONValue.string(text).serialized(pretty: false) : text
    }
}

extension JSONValue {
    /// This object as a block-style YAML document, for files other tools read (`export kubernetes`'s objects):
    /// strings quoted wherever YAML would read them as something else, an object in a list starting on its `-` line,
    /// a multi-line string as a literal `|` block. Empty for a value that is not an object.
    public func blockYAML() -> String {
        var out = ""
        YAMLWriter(origins: [:], style: .document).write(self, path: [], indent: "", to: &out)
        return out
    }

    fileprivate var isCollection: Bool {
        switch self {
        case .array, .object: true
        default: false
        }
    }
}
