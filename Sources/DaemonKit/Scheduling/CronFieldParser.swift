/// Turns the text of one cron field into a bit set of the values it selects (bit `n` set when `n` matches).
///
/// The parser works on a slice of the whole expression so that its indices are the offsets that errors report.
struct CronFieldParser {
    let field: CronField
    let text: ArraySlice<Character>
    private var position: Int

    init(field: CronField, text: ArraySlice<Character>) {
        self.field = field
        self.text = text
        self.position = text.startIndex
    }

    /// Parses the whole field; for day-of-week, 7 is folded into 0 so that matching only has to know Sunday once.
    mutating func parse() throws(DaemonKitError) -> UInt64 {
        var mask: UInt64 = 0
        while true {
            mask |= try parseElement()
            guard position < text.endIndex else { break }
            // parseElement only returns at the end or at a comma; a trailing comma fails in the next element.
            position += 1
        }
        if field == .dayOfWeek, mask & (1 << 7) != 0 {
            mask = (mask & ~(1 << 7)) | 1
        }
        return mask
    }

    private var current: Character? { position < text.endIndex ? text[position] : nil }

    private mutating func parseElement() throws(DaemonKitError) -> UInt64 {
        let start = position
        guard let first = current, first != "," else {
            throw error("empty list element in \(field.name)", at: start)
        }
        var low = field.bounds.lowerBound
        var high = field.bounds.upperBound
        if first == "*" {
            position += 1
        } else {
            low = try parseValue(rangeStart: nil)
            high = low
            if current == "-" {
                position += 1
                high = try parseValue(rangeStart: low)
                if high < low {
                    let range = String(text[start..<position])
                    throw error("range \(range) in \(field.name) is inverted", at: start)
                }
            } else if current == "/" {
                // `a/n` runs from `a` to the end of the field, as in Vixie cron.
                high = field.bounds.upperBound
            }
        }
        var step = 1
        if current == "/" {
            position += 1
            step = try parseStep()
        }
        if let character = current, character != "," {
            throw error("unexpected character '\(character)' in \(field.name)", at: position)
        }
        var mask: UInt64 = 0
        for value in stride(from: low, through: high, by: step) {
            mask |= 1 << UInt64(value)
        }
        return mask
    }

    /// Parses a number or a name; `rangeStart` is set for the end of a range, where `sun` may stand for 7.
    private mutating func parseValue(rangeStart: Int?) throws(DaemonKitError) -> Int {
        let start = position
        guard let character = current else {
            throw error("expected a value after '-' in \(field.name)", at: position)
        }
        if character.isASCIIDigit {
            let digits = readWhile(\.isASCIIDigit)
            let value = Self.number(digits)
            guard field.bounds.contains(value) else {
                let bounds = "\(field.bounds.lowerBound)-\(field.bounds.upperBound)"
                throw error("\(field.name) \(digits) is out of range \(bounds)", at: start)
            }
            return value
        }
        if character.isASCII, character.isLetter {
            let word = readWhile { $0.isASCII && $0.isLetter }
            guard !field.names.isEmpty else {
                throw error("unexpected name '\(word)' in \(field.name)", at: start)
            }
            guard let index = field.names.firstIndex(of: word.lowercased()) else {
                throw error("unknown \(field.name) name '\(word)'", at: start)
            }
            // `mon-sun` reads naturally as the whole working week plus Sunday, so `sun` ends a range as 7.
            if field == .dayOfWeek, index == 0, let rangeStart, rangeStart > 0 {
                return 7
            }
            return field.bounds.lowerBound + index
        }
        throw error("unexpected character '\(character)' in \(field.name)", at: start)
    }

    private mutating func parseStep() throws(DaemonKitError) -> Int {
        let start = position
        guard let character = current else {
            throw error("expected a step after '/' in \(field.name)", at: position)
        }
        guard character.isASCIIDigit else {
            throw error("unexpected character '\(character)' in \(field.name)", at: start)
        }
        let digits = readWhile(\.isASCIIDigit)
        let step = Self.number(digits)
        guard step > 0 else {
            throw error("step \(digits) in \(field.name) must be at least 1", at: start)
        }
        let span = field.bounds.count
        guard step <= span else {
            throw error("step \(digits) in \(field.name) is out of range 1-\(span)", at: start)
        }
        return step
    }

    private mutating func readWhile(_ predicate: (Character) -> Bool) -> String {
        let start = position
        while let character = current, predicate(character) {
            position += 1
        }
        return String(text[start..<position])
    }

    /// Saturates instead of overflowing: any number this long is out of range for every field anyway.
    private static func number(_ digits: String) -> Int {
        digits.count > 9 ? Int.max : Int(digits) ?? Int.max
    }

    private func error(_ message: String, at offset: Int) -> DaemonKitError {
        DaemonKitError(code: .invalidCron, message: message, offset: offset)
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
