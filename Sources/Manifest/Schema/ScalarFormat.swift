import DaemonKit
import FoundationEssentials

/// The formats a scalar field of the manifest can have: each knows how to read a value, what to say when
/// it cannot, how to write the value canonically for `config`, and how to describe itself in JSON Schema.
public enum ScalarFormat: Hashable, Sendable {
    /// Any scalar, read as text (numbers and booleans too, as docker compose does for `environment`).
    case text
    /// Text that must not be empty.
    case nonEmptyText
    /// A name: a first character from `first`, then characters from `rest` (character-class syntax such
    /// as `A-Za-z0-9_`), described by `expectation`.
    case name(first: String, rest: String, expectation: String)
    /// A duration such as `250ms` or `1h30m`, within bounds.
    case duration(min: Duration, max: Duration?)
    /// A size such as `512KiB` or `10MiB` (or a plain number of bytes), within bounds.
    case size(min: Int, max: Int?)
    /// `host:port`, `[v6]:port` or, with `allowUnix`, `unix:PATH`.
    case listen(allowUnix: Bool)
    /// A 5-field cron expression.
    case cron
    /// A doublestar glob.
    case glob
    /// A signal name such as `SIGTERM` or `term`.
    case signal
    /// A regular expression.
    case regex
    /// An `http://` URL (what a probe can check).
    case httpURL
    /// An `http://` or `https://` URL (where a hook posts).
    case webhookURL
    /// A file system path (not empty).
    case path

    /// Names a daemon may have.
    public static let daemonName = ScalarFormat.name(
        first: "A-Za-z0-9",
        rest: "A-Za-z0-9._-",
        expectation: "a name of letters, digits, '.', '_' and '-', starting with a letter or digit"
    )
    /// Names of environment variables.
    public static let environmentName = ScalarFormat.name(
        first: "A-Za-z_",
        rest: "A-Za-z0-9_",
        expectation: "an environment variable name (letters, digits and '_', not starting with a digit)"
    )
    /// Names of JSON-RPC methods.
    public static let methodName = ScalarFormat.name(
        first: "A-Za-z0-9_",
        rest: "A-Za-z0-9_.:-",
        expectation: "a method name of letters, digits, '.', ':', '_' and '-'"
    )

    /// What a valid value looks like, for "expected …" in messages.
    public var expectation: String {
        switch self {
        case .text: "a string"
        case .nonEmptyText: "a non-empty string"
        case .name(_, _, let expectation): expectation
        case .duration: "a duration like 250ms, 30s, 5m or 1h30m"
        case .size: "a size like 512KiB, 10MiB or 1GB"
        case .listen(let allowUnix):
            allowUnix ? "an address like 127.0.0.1:8420, [::1]:8420 or unix:PATH" : "an address like 127.0.0.1:9400"
        case .cron: "a cron expression like \"*/5 * * * *\""
        case .glob: "a glob pattern like **/*.py"
        case .signal: "a signal name like SIGTERM or INT"
        case .regex: "a regular expression"
        case .httpURL: "an http:// URL (probes speak plain HTTP; check an HTTPS server with tcp: HOST:PORT)"
        case .webhookURL: "an http:// or https:// URL"
        case .path: "a path"
        }
    }

    /// Reads `node` (a scalar); the canonical value for `config`, or why it is not valid.
    func read(_ node: YAMLNode) -> Result<JSONValue, FormatFailure> {
        if let failure = failure(node) { return .failure(failure) }
        guard case .scalar(let text, _) = node.content else { return .success(.string("")) }
        switch self {
        case .duration: return .success(.string(DurationText.format(DurationText.parse(text)!)))
        case .size: return .success(.string(SizeText.format(SizeText.parse(text)!)))
        case .listen: return .success(.string(ListenAddress(parsing: text)!.description))
        case .signal: return .success(.string(Signal(name: text)!.name))
        default: return .success(.string(text))
        }
    }

    /// Why `node` is not valid in this format, or nil when it is. The validator only needs this: making the
    /// canonical value (``read(_:)``) costs more than checking it.
    func failure(_ node: YAMLNode) -> FormatFailure? {
        guard case .scalar(let text, let style) = node.content, !node.isNull else {
            return FormatFailure("expected \(expectation), found \(node.found)")
        }
        // Typed only where a format needs it: it costs more than most reads.
        var plainType: CoreSchema.PlainType { style == .plain ? CoreSchema.type(ofPlain: text) : .string }
        // Built only on failure: describing the node costs more than reading it.
        var mismatch: FormatFailure { FormatFailure("expected \(expectation), found \(node.found)") }
        switch self {
        case .text:
            return nil
        case .nonEmptyText, .path:
            return text.isEmpty ? mismatch : nil
        case .name(let first, let rest, _):
            let type = plainType
            guard type == .string || type == .integer, Self.isName(text, first: first, rest: rest) else {
                return mismatch
            }
            return nil
        case .duration(let min, let max):
            if style == .plain, text.utf8.last.map({ $0 >= 48 && $0 <= 57 }) == true, text != "0",
                [.integer, .float].contains(plainType)
            {
                return FormatFailure("expected \(expectation), found \(node.found) (add a unit, such as \(text)s)")
            }
            guard let duration = DurationText.parse(text) else { return mismatch }
            if duration < min {
                return FormatFailure("expected a duration of at least \(DurationText.format(min)), found \(text)")
            }
            if let max, duration > max {
                return FormatFailure("expected a duration of at most \(DurationText.format(max)), found \(text)")
            }
            return nil
        case .size(let min, let max):
            guard let bytes = SizeText.parse(text) else { return mismatch }
            if bytes < min {
                return FormatFailure("expected a size of at least \(SizeText.format(min)), found \(text)")
            }
            if let max, bytes > max {
                return FormatFailure("expected a size of at most \(SizeText.format(max)), found \(text)")
            }
            return nil
        case .listen(let allowUnix):
            guard plainType == .string, let address = ListenAddress(parsing: text) else {
                if text.contains(":"), let port = text.split(separator: ":").last, let number = Int(port),
                    !(0...65_535).contains(number)
                {
                    return FormatFailure("port \(number) is out of range 0-65535")
                }
                return mismatch
            }
            if case .unix = address, !allowUnix {
                return FormatFailure("expected a TCP address like 127.0.0.1:9400, found '\(text)'")
            }
            return nil
        case .cron:
            do {
                _ = try CronSchedule(parsing: text)
                return nil
            } catch {
                return FormatFailure("invalid cron expression '\(text)': \(error.message)")
            }
        case .glob:
            do {
                _ = try GlobCache.shared.glob(text)
                return nil
            } catch {
                return FormatFailure("invalid glob '\(text)': \(error.message)")
            }
        case .signal:
            guard Signal(name: text) != nil else {
                return FormatFailure(
                    "expected \(expectation), found \(node.found)",
                    candidates: Signal.all.map(\.name),
                    given: text.uppercased().hasPrefix("SIG") ? text.uppercased() : "SIG" + text.uppercased()
                )
            }
            return nil
        case .regex:
            do {
                _ = try Regex(text)
                return nil
            } catch {
                return FormatFailure("invalid regular expression '\(text)': \(error)")
            }
        case .httpURL, .webhookURL:
            let schemes = self == .httpURL ? ["http"] : ["http", "https"]
            guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(),
                schemes.contains(scheme), let host = url.host, !host.isEmpty
            else { return mismatch }
            return nil
        }
    }
}

extension ScalarFormat {
    /// The regular expression a ``name(first:rest:expectation:)`` stands for, for the JSON Schema.
    static func namePattern(first: String, rest: String) -> String { "^[\(first)][\(rest)]*$" }

    /// Whether `text` is a name: its first character in the class `first`, the others in `rest`. Every daemon's
    /// name is checked, so ASCII classes (all of the manifest's) are read into bit sets without allocating.
    static func isName(_ text: String, first: String, rest: String) -> Bool {
        if let head = ASCIIClass.of(first), let tail = ASCIIClass.of(rest) {
            var bytes = text.utf8.makeIterator()
            guard let initial = bytes.next(), head.contains(initial) else { return false }
            while let byte = bytes.next() {
                guard tail.contains(byte) else { return false }
            }
            return true
        }
        return isName(scalarsOf: text, first: first, rest: rest)
    }

    /// ``isName(_:first:rest:)`` for any class: by Unicode scalar, against the class's ranges.
    static func isName(scalarsOf text: String, first: String, rest: String) -> Bool {
        let (head, tail) = (characterClass(first), characterClass(rest))
        guard let initial = text.unicodeScalars.first, head.contains(where: { $0.contains(initial) }) else {
            return false
        }
        return text.unicodeScalars.dropFirst().allSatisfy { scalar in tail.contains { $0.contains(scalar) } }
    }

    /// A character class of ASCII characters only, as a set of bits.
    private struct ASCIIClass {
        private var low: UInt64 = 0
        private var high: UInt64 = 0

        /// The classes of the manifest's name formats, read once.
        private static let known: [(set: String, members: ASCIIClass)] =
            [ScalarFormat.daemonName, .environmentName, .methodName].flatMap { format -> [(String, ASCIIClass)] in
                guard case .name(let first, let rest, _) = format else { return [] }
                return [first, rest].compactMap { set in ASCIIClass(set).map { (set, $0) } }
            }

        /// The class `set`, from the known ones when it is one of them.
        static func of(_ set: String) -> ASCIIClass? {
            known.first { $0.set == set }?.members ?? ASCIIClass(set)
        }

        /// The class `set` (``characterClass(_:)``'s syntax); nil when it holds a character beyond ASCII.
        init?(_ set: String) {
            for range in ScalarFormat.characterClass(set) {
                guard range.upperBound.isASCII else { return nil }
                for value in range.lowerBound.value...range.upperBound.value { insert(UInt8(value)) }
            }
        }

        private mutating func insert(_ byte: UInt8) {
            if byte < 64 { low |= 1 << UInt64(byte) } else { high |= 1 << UInt64(byte - 64) }
        }

        func contains(_ byte: UInt8) -> Bool {
            byte < 64 ? low & (1 << UInt64(byte)) != 0 : byte < 128 && high & (1 << UInt64(byte - 64)) != 0
        }
    }

    /// The ranges of a class written like `A-Za-z0-9._-` (a `-` between two characters makes a range; elsewhere,
    /// as last, it is literal).
    static func characterClass(_ set: String) -> [ClosedRange<Unicode.Scalar>] {
        let members = Array(set.unicodeScalars)
        var ranges: [ClosedRange<Unicode.Scalar>] = []
        var index = 0
        while index < members.count {
            if index + 2 < members.count, members[index + 1] == "-" {
                ranges.append(members[index]...members[index + 2])
                index += 3
            } else {
                ranges.append(members[index]...members[index])
                index += 1
            }
        }
        return ranges
    }
}

/// Why a scalar is not valid, and the candidates for a did-you-mean.
struct FormatFailure: Error, Hashable {
    var message: String
    var candidates: [String] = []
    var given: String = ""

    init(_ message: String, candidates: [String] = [], given: String = "") {
        self.message = message
        self.candidates = candidates
        self.given = given
    }
}

/// Durations as the manifest writes them: `250ms`, `30s`, `5m`, `1h`, `1h30m`, `1.5s`, `2d`.
public enum DurationText {
    private static let units: [(String, Duration)] = [
        ("ms", .milliseconds(1)), ("s", .seconds(1)), ("m", .seconds(60)), ("h", .seconds(3_600)),
        ("d", .seconds(86_400)),
    ]

    /// The duration, or nil when `text` is not one.
    public static func parse(_ text: String) -> Duration? {
        if text == "0" { return .zero }
        // The common case, whole numbers of one unit ("30s", "250ms"), without floating point.
        let digits = text.utf8.prefix { $0 >= 48 && $0 <= 57 }
        if !digits.isEmpty, digits.count <= 9 {
            let value = digits.reduce(0) { $0 * 10 + Int($1 - 48) }
            // The unit's bytes, compared as they are: making a String of them costs more than the rest.
            let unit = text.utf8.dropFirst(digits.count)
            switch (unit.count, unit.first) {
            case (2, UInt8(ascii: "m")) where unit.last == UInt8(ascii: "s"): return .milliseconds(value)
            case (1, UInt8(ascii: "s")): return .seconds(value)
            case (1, UInt8(ascii: "m")): return .seconds(value * 60)
            case (1, UInt8(ascii: "h")): return .seconds(value * 3_600)
            case (1, UInt8(ascii: "d")): return .seconds(value * 86_400)
            default: break
            }
        }
        var total = Duration.zero
        var rest = Substring(text)
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !number.isEmpty, let value = Double(number), value.isFinite else { return nil }
            rest = rest.dropFirst(number.count)
            let unitText = rest.prefix { $0.isASCII && $0.isLetter }
            guard let unit = units.first(where: { $0.0 == unitText })?.1 else { return nil }
            rest = rest.dropFirst(unitText.count)
            guard value < 1e9 else { return nil }
            total += unit * value
        }
        return total
    }

    /// The canonical text of a duration: the largest units first, such as `1h30m` or `1s500ms`.
    public static func format(_ duration: Duration) -> String { duration.shortText }
}

/// Sizes as the manifest writes them: `512KiB`, `10MiB`, `1GB`, `100B`, or a plain number of bytes.
enum SizeText {
    private static let units: [String: Int] = [
        "": 1, "b": 1, "B": 1, "KiB": 1_024, "MiB": 1_048_576, "GiB": 1_073_741_824, "KB": 1_000, "MB": 1_000_000,
        "GB": 1_000_000_000, "k": 1_024, "kb": 1_000, "kib": 1_024, "m": 1_048_576, "mb": 1_000_000, "mib": 1_048_576,
        "g": 1_073_741_824, "gb": 1_000_000_000, "gib": 1_073_741_824, "t": 1_099_511_627_776,
        "tb": 1_000_000_000_000, "tib": 1_099_511_627_776,
    ]

    /// The number of bytes, or nil when `text` is not a size.
    static func parse(_ text: String) -> Int? {
        // The common case, a whole number and a unit ("10MiB"), without floating point or lower-casing.
        let digits = text.utf8.prefix { $0 >= 48 && $0 <= 57 }
        if !digits.isEmpty, digits.count <= 12,
            let multiplier = units[String(decoding: text.utf8.dropFirst(digits.count), as: UTF8.self)]
        {
            return digits.reduce(0) { $0 * 10 + Int($1 - 48) } * multiplier
        }
        let number = text.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        guard !number.isEmpty, let value = Double(number), value.isFinite else { return nil }
        let unit = String(text.dropFirst(number.count).drop { $0 == " " }).lowercased()
        guard let multiplier = units[unit] else { return nil }
        let bytes = value * Double(multiplier)
        guard bytes < 9e15 else { return nil }
        return Int(bytes.rounded())
    }

    /// The canonical text: the largest binary unit that divides it, else a decimal one, else bytes.
    static func format(_ bytes: Int) -> String {
        guard bytes > 0 else { return "0B" }
        for (suffix, size) in [("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
        where bytes % size == 0 {
            return "\(bytes / size)\(suffix)"
        }
        for (suffix, size) in [("TB", 1_000_000_000_000), ("GB", 1_000_000_000), ("MB", 1_000_000), ("KB", 1_000)]
        where bytes % size == 0 {
            return "\(bytes / size)\(suffix)"
        }
        return "\(bytes)B"
    }
}
