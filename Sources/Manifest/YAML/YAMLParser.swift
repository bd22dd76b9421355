import CYAML
import FoundationEssentials

/// Parses YAML text into a ``YAMLNode`` tree with libyaml's event API.
///
/// Every node keeps its line and column. Anchors and aliases are resolved with a bound on the expanded
/// size, so a "billion laughs" document fails fast in little memory. Duplicate keys are errors, and
/// `<<` merge keys (which docker compose users lean on) are applied. The parser collects every
/// problem it can; a libyaml syntax error ends the parse, since nothing after it can be trusted.
struct YAMLParser {
    /// The most nodes a document may expand to through aliases.
    static let defaultNodeLimit = 1_000_000

    /// The file name used in origins.
    var fileLabel: String
    /// The bound on the node count after alias expansion.
    var nodeLimit: Int = YAMLParser.defaultNodeLimit

    /// Parses `bytes`; returns the root node (nil for an empty document) and the problems found.
    func parse(_ bytes: [UInt8]) -> (root: YAMLNode?, errors: [ManifestError]) {
        guard !bytes.isEmpty else { return (nil, []) }
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        defer { parser.deallocate() }
        guard yaml_parser_initialize(parser) == 1 else {
            return (nil, [ManifestError(code: .syntax, origin: nil, path: "", message: "libyaml could not start")])
        }
        defer { yaml_parser_delete(parser) }
        // libyaml reads the input lazily: the buffer must outlive every yaml_parser_parse call.
        return bytes.withUnsafeBufferPointer { buffer in
            yaml_parser_set_input_string(parser, buffer.baseAddress!, buffer.count)
            var builder = TreeBuilder(fileLabel: fileLabel, nodeLimit: nodeLimit)
            var event = yaml_event_t()
            while true {
                guard yaml_parser_parse(parser, &event) == 1 else {
                    builder.errors.append(syntaxError(parser.pointee, bytes: buffer))
                    return (nil, builder.errors)
                }
                let done = event.type == YAML_STREAM_END_EVENT
                let keepGoing = builder.handle(event)
                yaml_event_delete(&event)
                if done || !keepGoing { break }
            }
            return (builder.errors.isEmpty ? builder.root : nil, builder.errors)
        }
    }

    private func syntaxError(_ parser: yaml_parser_t, bytes: UnsafeBufferPointer<UInt8>) -> ManifestError {
        let problem = parser.problem.map { String(cString: $0) } ?? "malformed YAML"
        var message = problem
        if let context = parser.context.map({ String(cString: $0) }) {
            let mark = parser.context_mark
            message = "\(context) (line \(mark.line + 1), column \(mark.column + 1)): \(problem)"
        }
        if parser.problem_value != -1, parser.error == YAML_READER_ERROR {
            let byte = String(UInt8(truncatingIfNeeded: parser.problem_value), radix: 16, uppercase: true)
            message += " (byte 0x\(byte.count == 1 ? "0" + byte : byte) at offset \(parser.problem_offset))"
        }
        var mark = parser.problem_mark
        if mark.index < bytes.count, bytes[mark.index] == UInt8(ascii: "\t") {
            message += " (a tab; YAML indents with spaces only)"
        }
        if parser.error == YAML_READER_ERROR {
            // The reader reports a byte offset only: count lines and characters up to it.
            let prefix = bytes.prefix(min(parser.problem_offset, bytes.count))
            let lineStart = (prefix.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 }) ?? 0
            mark.line = prefix.filter { $0 == UInt8(ascii: "\n") }.count
            mark.column = String(decoding: bytes[lineStart..<prefix.count], as: UTF8.self).count
        }
        return ManifestError(
            code: .syntax,
            origin: .file(path: fileLabel, line: mark.line + 1, column: mark.column + 1),
            path: "",
            message: message
        )
    }
}

/// Builds the node tree from libyaml events.
private struct TreeBuilder {
    let fileLabel: String
    let nodeLimit: Int
    var root: YAMLNode?
    var errors: [ManifestError] = []
    private var stack: [Frame] = []
    private var anchors: [String: Anchored] = [:]
    /// Nodes produced so far, aliases counted at their full expanded size.
    private var nodeCount = 0
    private var documents = 0

    init(fileLabel: String, nodeLimit: Int) {
        self.fileLabel = fileLabel
        self.nodeLimit = nodeLimit
    }

    private struct Anchored {
        var node: YAMLNode
        var size: Int
    }

    private struct Frame {
        var isMapping: Bool
        var origin: ValueOrigin
        var anchor: String?
        /// `nodeCount` when the collection started, to know its expanded size at its end.
        var start: Int
        var items: [YAMLNode] = []
        var pairs: [YAMLNode.Pair] = []
        /// Where each key of `pairs` past the first `scanLimit` is, so that a mapping of thousands of
        /// daemons finds duplicates without a scan per key; small mappings scan, which is cheaper than hashing.
        var keyIndex: [String: Int] = [:]
        static let scanLimit = 16

        var merged: [YAMLNode.Pair] = []
        var pendingKey: YAMLNode?
        /// The pending key was not a scalar: its value is dropped after the error.
        var dropValue = false
        /// Whether a value in the collection holds a `$` (keys are not interpolated).
        var containsDollar = false
    }

    private func origin(_ mark: yaml_mark_t) -> ValueOrigin {
        .file(path: fileLabel, line: mark.line + 1, column: mark.column + 1)
    }

    /// Handles one event; false stops the parse.
    mutating func handle(_ event: yaml_event_t) -> Bool {
        let mark = event.start_mark
        switch event.type {
        case YAML_DOCUMENT_START_EVENT:
            documents += 1
            if documents > 1 {
                errors.append(
                    ManifestError(
                        code: .syntax,
                        origin: origin(mark),
                        path: "",
                        message: "a manifest holds one YAML document, found a second one ('---')"
                    )
                )
                return false
            }
        case YAML_SCALAR_EVENT:
            let scalar = event.data.scalar
            // Scalars may contain NUL: build them from the length, not as C strings.
            let bytes = UnsafeBufferPointer(start: scalar.value, count: scalar.length)
            let text = String(decoding: bytes, as: UTF8.self)
            var style: YAMLNode.ScalarStyle = scalar.plain_implicit == 1 ? .plain : .quoted
            if let tag = scalar.tag.map({ String(cString: $0) }) {
                switch tag {
                case "tag:yaml.org,2002:str", "!": style = .quoted
                default:
                    errors.append(
                        ManifestError(
                            code: .invalidValue,
                            origin: origin(mark),
                            path: "",
                            message: "unsupported YAML tag '\(tag)'; only !!str is understood"
                        )
                    )
                }
            }
            let origin = origin(mark)
            guard count(1, at: origin) else { return false }
            return add(
                YAMLNode(.scalar(text, style), origin: origin, containsDollar: bytes.contains(36)),
                size: 1,
                anchor: scalar.anchor.map { String(cString: $0) }
            )
        case YAML_ALIAS_EVENT:
            let name = String(cString: event.data.alias.anchor)
            guard let anchored = anchors[name] else {
                errors.append(
                    ManifestError(code: .syntax, origin: origin(mark), path: "", message: "unknown anchor '*\(name)'")
                )
                return false
            }
            guard count(anchored.size, at: origin(mark)) else { return false }
            return add(anchored.node, size: anchored.size, anchor: nil)
        case YAML_SEQUENCE_START_EVENT:
            let anchor = event.data.sequence_start.anchor.map { String(cString: $0) }
            stack.append(Frame(isMapping: false, origin: origin(mark), anchor: anchor, start: nodeCount))
        case YAML_MAPPING_START_EVENT:
            let anchor = event.data.mapping_start.anchor.map { String(cString: $0) }
            stack.append(Frame(isMapping: true, origin: origin(mark), anchor: anchor, start: nodeCount))
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            guard let frame = stack.popLast() else { return false }
            guard count(1, at: frame.origin) else { return false }
            let node: YAMLNode
            if frame.isMapping {
                var pairs = frame.pairs
                if !frame.merged.isEmpty {
                    // Merged keys come first and never override keys written in the mapping itself.
                    let own = Set(frame.pairs.map(\.key.text))
                    pairs = frame.merged.filter { !own.contains($0.key.text) } + frame.pairs
                }
                let dollar = frame.containsDollar || frame.merged.contains { $0.value.containsDollar }
                node = YAMLNode(.mapping(pairs), origin: frame.origin, containsDollar: dollar)
            } else {
                node = YAMLNode(.sequence(frame.items), origin: frame.origin, containsDollar: frame.containsDollar)
            }
            return add(node, size: nodeCount - frame.start, anchor: frame.anchor)
        default:
            break
        }
        return true
    }

    /// Counts `size` more nodes; false (with an error) once the bound is passed.
    private mutating func count(_ size: Int, at origin: ValueOrigin) -> Bool {
        nodeCount += size
        guard nodeCount > nodeLimit else { return true }
        errors.append(
            ManifestError(
                code: .tooLarge,
                origin: origin,
                path: "",
                message: "the document expands to more than \(nodeLimit) nodes through aliases (an alias bomb?); "
                    + "refusing to load it"
            )
        )
        return false
    }

    /// Adds `node` to the collection being built. The frame is changed where it lies in the stack: taking it out
    /// and putting it back copies it, for every node of the document.
    private mutating func add(_ node: YAMLNode, size: Int, anchor: String?) -> Bool {
        if let anchor { anchors[anchor] = Anchored(node: node, size: size) }
        let top = stack.count - 1
        guard top >= 0 else {
            root = node
            return true
        }
        guard stack[top].isMapping else {
            stack[top].containsDollar = stack[top].containsDollar || node.containsDollar
            stack[top].items.append(node)
            return true
        }
        guard let key = stack[top].pendingKey else {
            stack[top].pendingKey = node
            stack[top].dropValue = node.scalarText == nil
            if stack[top].dropValue {
                errors.append(
                    ManifestError(
                        code: .invalidValue,
                        origin: node.origin,
                        path: "",
                        message: "mapping keys must be scalars, found \(node.found)"
                    )
                )
            }
            return true
        }
        stack[top].pendingKey = nil
        if stack[top].dropValue { return true }
        let keyText = key.scalarText ?? ""
        if keyText == "<<", case .scalar(_, .plain) = key.content {
            var merged = stack[top].merged
            stack[top].merged = []
            merge(node, into: &merged)
            stack[top].merged = merged
        } else if let first = existingEntry(keyText, in: top) {
            errors.append(
                ManifestError(
                    code: .duplicateKey,
                    origin: key.origin,
                    path: "",
                    message: "duplicate key '\(keyText)' (first at \(first.key.origin.label))"
                )
            )
        } else {
            let count = stack[top].pairs.count
            if count >= Frame.scanLimit { stack[top].keyIndex[keyText] = count }
            stack[top].containsDollar = stack[top].containsDollar || node.containsDollar
            stack[top].pairs.append(YAMLNode.Pair(YAMLNode.Key(text: keyText, origin: key.origin), node))
        }
        return true
    }

    /// The entry of the mapping at `frame` in the stack already holding `key`, if any. The frame's fields are read
    /// where they lie: a method of the frame could copy it.
    private func existingEntry(_ key: String, in frame: Int) -> YAMLNode.Pair? {
        let count = stack[frame].pairs.count
        for index in 0..<min(count, Frame.scanLimit) where stack[frame].pairs[index].key.text == key {
            return stack[frame].pairs[index]
        }
        return stack[frame].keyIndex[key].map { stack[frame].pairs[$0] }
    }

    /// `<<: *base` or `<<: [*a, *b]`: earlier sources win over later ones, as in YAML 1.1's merge key.
    private mutating func merge(_ node: YAMLNode, into merged: inout [YAMLNode.Pair]) {
        let sources = node.items ?? [node]
        for source in sources {
            guard let pairs = source.pairs else {
                errors.append(
                    ManifestError(
                        code: .invalidValue,
                        origin: source.origin,
                        path: "",
                        message: "a merge key '<<' takes a mapping or a list of mappings, found \(source.found)"
                    )
                )
                continue
            }
            for pair in pairs where !merged.contains(where: { $0.key.text == pair.key.text }) {
                merged.append(pair)
            }
        }
    }
}
