/// A parsed five-field cron expression (minute, hour, day of month, month, day of week) or one of the
/// `@yearly`, `@monthly`, `@weekly`, `@daily` and `@hourly` macros.
///
/// Day-of-month and day-of-week follow Vixie cron: when both are restricted (neither starts with `*`),
/// a day matches when either one does; otherwise both must.
public struct CronSchedule: Sendable, Hashable, CustomStringConvertible {
    /// The expression as written.
    public let expression: String

    // Bit sets: bit `n` is set when value `n` matches. Day-of-week uses 0-6 with Sunday as 0.
    let minutes: UInt64
    let hours: UInt64
    let daysOfMonth: UInt64
    let months: UInt64
    let daysOfWeek: UInt64
    /// Whether the day-of-month field starts with `*`, which makes the day rule an "and".
    let dayOfMonthIsStar: Bool
    /// Whether the day-of-week field starts with `*`, which makes the day rule an "and".
    let dayOfWeekIsStar: Bool

    /// Parses `expression`, throwing an `.invalidCron` error whose offset points at the offending field or token.
    public init(parsing expression: String) throws(DaemonKitError) {
        self.expression = expression
        var characters = Array(expression)
        var tokens = Self.tokens(of: characters)

        if let macro = tokens.first, characters[macro.lowerBound] == "@" {
            let name = String(characters[macro])
            if tokens.count > 1 {
                throw DaemonKitError(
                    code: .invalidCron,
                    message: "unexpected text after macro '\(name)'",
                    offset: tokens[1].lowerBound
                )
            }
            // Macros are parsed as their expansion; offsets no longer matter as the expansions are valid.
            characters = Array(try Self.expansion(ofMacro: name, at: macro.lowerBound))
            tokens = Self.tokens(of: characters)
        }

        guard tokens.count == 5 else {
            throw DaemonKitError(
                code: .invalidCron,
                message: "expected 5 fields (minute hour day-of-month month day-of-week), found \(tokens.count)",
                offset: tokens.count > 5 ? tokens[5].lowerBound : characters.count
            )
        }
        var masks: [UInt64] = []
        for field in CronField.allCases {
            var parser = CronFieldParser(field: field, text: characters[tokens[field.rawValue]])
            masks.append(try parser.parse())
        }
        minutes = masks[0]
        hours = masks[1]
        daysOfMonth = masks[2]
        months = masks[3]
        daysOfWeek = masks[4]
        dayOfMonthIsStar = characters[tokens[2].lowerBound] == "*"
        dayOfWeekIsStar = characters[tokens[4].lowerBound] == "*"
    }

    /// The expression as written.
    public var description: String { expression }

    /// The ranges of the runs of characters between spaces and tabs.
    private static func tokens(of characters: [Character]) -> [Range<Int>] {
        var tokens: [Range<Int>] = []
        var start: Int?
        for (index, character) in characters.enumerated() {
            if character == " " || character == "\t" {
                if let tokenStart = start { tokens.append(tokenStart..<index) }
                start = nil
            } else if start == nil {
                start = index
            }
        }
        if let start { tokens.append(start..<characters.count) }
        return tokens
    }

    private static func expansion(ofMacro name: String, at offset: Int) throws(DaemonKitError) -> String {
        switch name.lowercased() {
        case "@yearly", "@annually": return "0 0 1 1 *"
        case "@monthly": return "0 0 1 * *"
        case "@weekly": return "0 0 * * 0"
        case "@daily", "@midnight": return "0 0 * * *"
        case "@hourly": return "0 * * * *"
        case "@reboot":
            throw DaemonKitError(
                code: .invalidCron,
                message: "@reboot is not supported, only schedules that name times are",
                offset: offset
            )
        default:
            throw DaemonKitError(code: .invalidCron, message: "unknown macro '\(name)'", offset: offset)
        }
    }
}
